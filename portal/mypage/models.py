from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PanelLayout(models.Model):
    """One resident's arrangement of My page: panel order and the panels they hid."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mypage_layout"
    )
    order = models.JSONField(_("panel order"), default=list, blank=True)
    hidden = models.JSONField(_("hidden panels"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("My page layout")
        verbose_name_plural = _("My page layouts")

    def __str__(self):
        return str(self.user)

    def arrange(self, panels):
        """Panels in this user's order; panels the user never placed keep their default order."""
        position = {slug: index for index, slug in enumerate(self.order)}
        default = len(position)
        return sorted(panels, key=lambda p: (position.get(p.slug, default), p.order))

    def move(self, slug, offset, all_slugs):
        """Move a panel up (-1) or down (+1) among the panels the user currently has."""
        current = [p for p in self.order if p in all_slugs]
        current += [s for s in all_slugs if s not in current]
        index = current.index(slug)
        target = max(0, min(len(current) - 1, index + offset))
        current.insert(target, current.pop(index))
        self.order = current

    def set_hidden(self, slug, hidden):
        hidden_set = set(self.hidden)
        if hidden:
            hidden_set.add(slug)
        else:
            hidden_set.discard(slug)
        self.hidden = sorted(hidden_set)
