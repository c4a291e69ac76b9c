"""Month names as a day-and-month date shows them in running text: "25 қараша", "25 ноября".

The project's catalogues are read before Django's own (``LOCALE_PATHS``), so these entries
replace Django's "alt. month" names: its Kazakh ones are capitalised ("25 Қараша"), which
Kazakh writes only at the start of a sentence. ``MONTH_DAY_FORMAT`` uses them (``E``) in both
``scrumboard/formats/ru`` and ``scrumboard/formats/kk``. Nothing imports this module: it is
here so that ``makemessages`` keeps the entries.
"""

from django.utils.translation import pgettext_lazy

ALT_MONTHS = (
    pgettext_lazy("alt. month", "January"),
    pgettext_lazy("alt. month", "February"),
    pgettext_lazy("alt. month", "March"),
    pgettext_lazy("alt. month", "April"),
    pgettext_lazy("alt. month", "May"),
    pgettext_lazy("alt. month", "June"),
    pgettext_lazy("alt. month", "July"),
    pgettext_lazy("alt. month", "August"),
    pgettext_lazy("alt. month", "September"),
    pgettext_lazy("alt. month", "October"),
    pgettext_lazy("alt. month", "November"),
    pgettext_lazy("alt. month", "December"),
)
