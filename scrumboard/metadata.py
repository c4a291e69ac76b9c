"""DRF's OPTIONS answer (``DEFAULT_METADATA_CLASS``).

A module of its own: ``rest_framework.views`` reads this setting when it is first imported,
so the class must not live in a module that imports ``rest_framework.views`` itself
(``scrumboard.api`` does), or the first import of that module fails half-way.
"""

from rest_framework import metadata


class Metadata(metadata.SimpleMetadata):
    """``OPTIONS``: the view's name, description and media types; the OpenAPI schema describes the fields.

    DRF's default also describes the PUT and POST bodies by building the view's serializer and
    object, which views that build their own (singletons, actions without a model) cannot
    answer outside a real request: OPTIONS on them was a 500.
    """

    def determine_actions(self, request, view):
        return {}
