"""Staff edit the business calendar in the Wagtail admin. Every create, edit and delete is
logged by Wagtail's generic views (the history view of each entry and the site history report
show who changed what and when): the calendar's audit trail."""

from django.utils.translation import gettext_lazy as _

from wagtail import hooks
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup

from .models import CalendarDay, CalendarYear


class CalendarDayViewSet(ModelViewSet):
    name = "calendar_days"
    model = CalendarDay
    icon = "date"
    menu_label = _("Calendar days")
    copy_view_enabled = False
    inspect_view_enabled = True
    form_fields = ["date", "kind", "name_zh_hant", "name_zh_hans", "name_en"]
    list_display = ["date", "kind", "name_zh_hant", "name_en", "source"]
    list_filter = ["kind", "source"]
    search_fields = ["name_zh_hant", "name_zh_hans", "name_en"]
    ordering = ["-date"]
    list_per_page = 50


class CalendarYearViewSet(ModelViewSet):
    name = "calendar_years"
    model = CalendarYear
    icon = "calendar-check"
    menu_label = _("Calendar years")
    copy_view_enabled = False
    form_fields = ["year", "confirmed", "note"]
    list_display = ["year", "confirmed", "seeded_from", "note", "updated_at"]


class CalendarViewSetGroup(ModelViewSetGroup):
    items = (CalendarDayViewSet, CalendarYearViewSet)
    menu_icon = "date"
    menu_label = _("Business calendar")
    menu_name = "business-calendar"
    menu_order = 310


@hooks.register("register_admin_viewset")
def register_calendar_viewsets():
    return CalendarViewSetGroup()


@hooks.register("load_demo_data")
def load_calendar_demo(stdout):
    """This year and the next from the holiday schedule of WORKCALENDAR_REGION; this year is
    marked confirmed so the demo shows firm dates, next year stays provisional."""
    from django.utils import timezone

    from .services import calendar_region, seed_year

    this_year = timezone.localdate().year
    for year, confirm in ((this_year, True), (this_year + 1, False)):
        added, _updated, _removed = seed_year(year, confirm=confirm)
        stdout.write(f"Business calendar {year} ({calendar_region()}): {added} new days.")
