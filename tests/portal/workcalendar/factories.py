import factory

from portal.workcalendar.models import CalendarDay


class ClosureDayFactory(factory.django.DjangoModelFactory):
    """An ad-hoc day the offices close (a typhoon signal No. 8 by default)."""

    class Meta:
        model = CalendarDay

    kind = CalendarDay.Kind.CLOSURE
    name_zh_hant = "八號颱風信號"
    name_zh_hans = "八号台风信号"
    name_en = "Typhoon signal No. 8"
