"""Demo data for `manage.py load_demo`: services, one clinic per demo community, weekday
sessions, eight weeks of slots, and one booked follow-up for the first demo resident."""

from datetime import time, timedelta

from django.utils import timezone

from . import rules, schedules, selectors
from .models import Clinic, Practitioner, ScheduleRule, Service

DEMO_SERVICES = [
    # code, zh-hant, zh-hans, en, minutes
    ("general", "普通科", "普通科", "General practice", 15),
    ("vaccination", "疫苗接種", "疫苗接种", "Vaccination", 10),
    ("maternal-child", "母嬰健康", "母婴健康", "Maternal and child health", 20),
    ("chronic", "慢性病覆診", "慢性病复诊", "Chronic disease follow-up", 15),
    ("dental", "牙科", "牙科", "Dental", 30),
]

DEMO_CLINICS = [
    # code, name (zh-hant, zh-hans, en), phone, services, address (zh-hant, zh-hans, en); each
    # on a street of its demo community (portal/demo), located at the community's point.
    (
        "harbour",
        ("海濱健康中心", "海滨健康中心", "Harbour Health Centre"),
        "28001001",
        ["general", "vaccination", "chronic"],
        (
            "海旁道88號海濱綜合大樓地下",
            "海旁道88号海滨综合大楼地下",
            "G/F, Harbour Complex, 88 Praya Road",
        ),
    ),
    (
        "hillside",
        ("山景健康中心", "山景健康中心", "Hillside Health Centre"),
        "28001002",
        ["general", "maternal-child", "dental"],
        (
            "松柏路12號山景社區會堂1樓",
            "松柏路12号山景社区会堂1楼",
            "1/F, Hillside Community Hall, 12 Pine Road",
        ),
    ),
    (
        "market",
        ("街市健康中心", "街市健康中心", "Market Health Centre"),
        "28001003",
        ["general", "vaccination", "maternal-child"],
        (
            "街市街45號街市大廈3樓",
            "街市街45号街市大厦3楼",
            "3/F, Market Building, 45 Market Street",
        ),
    ),
    (
        "riverside",
        ("河畔健康中心", "河畔健康中心", "Riverside Health Centre"),
        "28001004",
        ["general", "chronic", "dental"],
        (
            "河堤路7號河畔健康大樓地下",
            "河堤路7号河畔健康大楼地下",
            "G/F, Riverside Health Building, 7 Embankment Road",
        ),
    ),
]

# The hours the demo schedule rules below open (weekdays 09:00–12:30 and 14:00–17:00).
DEMO_OPENING_HOURS = (
    "星期一至五 09:00–12:30、14:00–17:00\n星期六、日及公眾假期休息",
    "星期一至五 09:00–12:30、14:00–17:00\n星期六、日及公众假期休息",
    "Mon–Fri 09:00–12:30 and 14:00–17:00\nClosed on Saturdays, Sundays and public holidays",
)


def _demo_clinic_texts(index, community):
    """Names and addresses of the demo clinic at `community`: one of DEMO_CLINICS, and past
    those (a district with more communities) the same clinic again under the community's name."""
    code, names, phone, codes, addresses = DEMO_CLINICS[index % len(DEMO_CLINICS)]
    if index < len(DEMO_CLINICS):
        return code, names, phone, codes, addresses
    names = (
        f"{community.name_zh_hant}{names[0]}",
        f"{community.name_zh_hans}{names[1]}",
        f"{community.name_en} {names[2]}",
    )
    addresses = (
        f"{community.name_zh_hant}健康路1號地下",
        f"{community.name_zh_hans}健康路1号地下",
        f"G/F, 1 {community.name_en} Health Road",
    )
    return f"{code}-{community.code}", names, phone, codes, addresses


def load_booking_demo(stdout):
    """Services, one clinic per demo community, weekday sessions and 8 weeks of slots.
    Idempotent: rows are matched by code, rules by clinic/service/weekday/time."""
    from django.contrib.auth import get_user_model

    from portal.accounts.models import Community

    services_by_code = {}
    for order, (code, zh_hant, zh_hans, en, minutes) in enumerate(DEMO_SERVICES):
        services_by_code[code], _created = Service.objects.update_or_create(
            code=code,
            defaults={
                "name_zh_hant": zh_hant,
                "name_zh_hans": zh_hans,
                "name_en": en,
                "default_slot_minutes": minutes,
                "sort_order": order,
            },
        )
    nurse = get_user_model().objects.filter(email="nurse@demo.district.example").first()
    communities = list(Community.objects.all())
    clinics = []
    for index, community in enumerate(communities):
        clinic_code, names, phone, codes, addresses = _demo_clinic_texts(index, community)
        clinic, _created = Clinic.objects.update_or_create(
            code=clinic_code,
            defaults={
                "name_zh_hant": names[0],
                "name_zh_hans": names[1],
                "name_en": names[2],
                "community": community,
                "address_zh_hant": addresses[0],
                "address_zh_hans": addresses[1],
                "address_en": addresses[2],
                "latitude": community.latitude,
                "longitude": community.longitude,
                "phone": phone,
                "opening_hours_zh_hant": DEMO_OPENING_HOURS[0],
                "opening_hours_zh_hans": DEMO_OPENING_HOURS[1],
                "opening_hours_en": DEMO_OPENING_HOURS[2],
            },
        )
        clinic.services.add(*(services_by_code[c] for c in codes))
        if nurse is not None and index == 0:
            clinic.staff.add(nurse)
        Practitioner.objects.get_or_create(
            clinic=clinic, name=f"Dr {community.name_en}", defaults={"role": "Family doctor"}
        )
        for service_code in codes:
            service = services_by_code[service_code]
            for weekday in range(5):
                for start, end in ((time(9), time(12, 30)), (time(14), time(17))):
                    ScheduleRule.objects.get_or_create(
                        clinic=clinic,
                        service=service,
                        weekday=weekday,
                        start_time=start,
                        defaults={
                            "end_time": end,
                            "slot_minutes": service.default_slot_minutes,
                            "capacity": 2 if service_code == "vaccination" else 1,
                            "valid_from": timezone.localdate(),
                        },
                    )
        clinics.append(clinic)
    created = schedules.generate_slots()
    stdout.write(f"Clinic booking: {len(clinics)} clinics, {created} new slots.")
    _book_demo_appointment(stdout, clinics[:1], services_by_code["chronic"])


def _book_demo_appointment(stdout, clinics, service):
    """Give the first demo resident a follow-up at the first clinic (booked through the real
    rules, so the confirmation is in his inbox) unless he already has one coming."""
    from django.contrib.auth import get_user_model

    resident = get_user_model().objects.filter(email="chan.taiman@demo.district.example").first()
    if resident is None or not clinics or selectors.upcoming_for(resident).exists():
        return
    slot = (
        selectors.free_slots()
        .filter(clinic=clinics[0], service=service, start__gte=timezone.now() + timedelta(days=2))
        .order_by("start")
        .first()
    )
    if slot is not None:
        start = timezone.localtime(rules.book(resident, slot.pk).start)
        stdout.write(f"  Chan Tai Man has a follow-up on {start:%Y-%m-%d %H:%M}.")
