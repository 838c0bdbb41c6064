"""Snippet choosers that answer a tampered id with a form error instead of a 500.

Wagtail's chooser widget looks the posted id up again to redraw the form after an error, and
an id that is not a number ("abc") raises ValueError there rather than DoesNotExist. The form
field itself already refuses such an id ("Select a valid choice"); the redraw must not crash.

Use it for any snippet that other objects point at:

    class CommunityViewSet(SnippetViewSet):
        model = Community
        chooser_viewset_class = SnippetChooserViewSet

Every foreign key to that model in the admin then gets the safe widget.
"""

from django.core.exceptions import ValidationError

from wagtail.snippets.views.chooser import SnippetChooserViewSet as WagtailSnippetChooserViewSet
from wagtail.snippets.widgets import AdminSnippetChooser


class SnippetChooser(AdminSnippetChooser):
    def get_instance(self, value):
        try:
            return super().get_instance(value)
        except (ValueError, TypeError, OverflowError, ValidationError):
            return None  # drawn as "nothing chosen", beside the field's error


class SnippetChooserViewSet(WagtailSnippetChooserViewSet):
    base_widget_class = SnippetChooser
