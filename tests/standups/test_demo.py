import datetime
import io

from django.core.management import call_command

from backlog.models import BacklogItem
from standups.models import DailyScrum, Entry, Impediment
from tests.standups.conftest import local


def test_the_demo_has_past_daily_scrums_a_missing_entry_and_impediments(db, time_machine):
    # Wednesday 2026-03-11, 12:00 in Almaty: the active sprint began on Monday 2026-03-02.
    time_machine.move_to(local("2026-03-11", "12:00"), tick=False)
    call_command("loaddemo", stdout=io.StringIO())
    meetings = DailyScrum.objects.filter(project__key="SB").order_by("date")
    assert [m.date.isoformat() for m in meetings] == [
        "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-09", "2026-03-10", "2026-03-11",
    ]  # fmt: skip
    closed = [m for m in meetings if m.is_closed]
    assert len(closed) == 6
    assert all(m.summary["duration_seconds"] == 12 * 60 for m in closed)
    thursday = meetings.get(date=datetime.date(2026, 3, 5))
    assert thursday.summary["missing"] == ["madina"]
    assert Entry.objects.filter(meeting=thursday).count() == 5
    assert meetings.get(date=datetime.date(2026, 3, 11)).is_open
    resolved = Impediment.objects.get(state="resolved")
    assert resolved.resolved_on == datetime.date(2026, 3, 4)
    still_open = Impediment.objects.get(state="open")
    item = still_open.items.get()
    assert item.title == "Burndown and burnup charts"
    assert item.status.category == "in_progress"
    assert BacklogItem.objects.get(pk=item.pk).impeded
    assert BacklogItem.objects.filter(impeded=True).count() == 1
