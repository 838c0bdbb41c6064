"""Demo data for service cases: a district department and a street office, a few services with
their application forms, the hotline's enquiry and complaint services, and a submitted
application for the first demo resident. Loaded by `manage.py load_demo` (idempotent)."""

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.accounts.models import Community

from . import services
from .models import Case, FormField, Office, Service

OFFICES = [
    # code, kind, names, community code, address (zh-hant, zh-hans, en), phone
    (
        "DSC",
        Office.Kind.DEPARTMENT,
        ("區服務中心", "区服务中心", "District Service Centre"),
        None,
        ("政府大道1號地下", "政府大道1号地下", "G/F, 1 Civic Avenue"),
        "28002000",
    ),
    (
        "HBS",
        Office.Kind.STREET_OFFICE,
        ("海濱街道辦事處", "海滨街道办事处", "Harbour Street Office"),
        "harbour",
        ("海旁道20號1樓", "海旁道20号1楼", "1/F, 20 Praya Road"),
        "28002001",
    ),
]

SERVICES = [
    # code, office, kind, names, promised days, fee, online, extension, description (3), fields
    (
        "proof-of-residence",
        "HBS",
        Service.Kind.APPLICATION,
        ("住址證明書", "住址证明书", "Proof of residence letter"),
        5,
        0,
        True,
        5,
        (
            "證明你住在本區的信件，可用於學校、銀行及其他機構。",
            "证明你住在本区的信件，可用于学校、银行及其他机构。",
            "A letter confirming that you live in the district, for schools, banks and others.",
        ),
        [
            ("full-name", FormField.Type.TEXT, True, ("姓名", "姓名", "Full name"), ""),
            (
                "purpose",
                FormField.Type.CHOICE,
                True,
                ("用途", "用途", "What is it for?"),
                ("學校\n銀行\n其他", "学校\n银行\n其他", "School\nBank\nOther"),
            ),
            (
                "tenancy",
                FormField.Type.DOCUMENT,
                True,
                ("租約或業權證明", "租约或业权证明", "Tenancy agreement or proof of ownership"),
                "",
            ),
        ],
    ),
    (
        "elderly-allowance",
        "DSC",
        Service.Kind.APPLICATION,
        ("長者生活津貼", "长者生活津贴", "Elderly living allowance"),
        20,
        0,
        True,
        10,
        (
            "六十五歲或以上長者的每月津貼。",
            "六十五岁或以上长者的每月津贴。",
            "A monthly allowance for residents aged 65 or over.",
        ),
        [
            ("full-name", FormField.Type.TEXT, True, ("姓名", "姓名", "Full name"), ""),
            (
                "birth-date",
                FormField.Type.DATE,
                True,
                ("出生日期", "出生日期", "Date of birth"),
                "",
            ),
            (
                "household",
                FormField.Type.NUMBER,
                True,
                ("同住人數", "同住人数", "People in the household"),
                "",
            ),
            (
                "id-copy",
                FormField.Type.DOCUMENT,
                True,
                ("身份證副本", "身份证副本", "Copy of ID card"),
                "",
            ),
            (
                "declaration",
                FormField.Type.CONFIRM,
                True,
                (
                    "本人聲明以上資料屬實",
                    "本人声明以上资料属实",
                    "I declare that the above is true",
                ),
                "",
            ),
        ],
    ),
    (
        "hotline-enquiry",
        "DSC",
        Service.Kind.ENQUIRY,
        ("熱線查詢", "热线查询", "Hotline enquiry"),
        3,
        0,
        False,
        None,
        ("", "", ""),
        [],
    ),
    (
        "hotline-complaint",
        "DSC",
        Service.Kind.COMPLAINT,
        ("熱線投訴", "热线投诉", "Hotline complaint"),
        10,
        0,
        False,
        5,
        ("", "", ""),
        [],
    ),
]


# A one-page PDF standing in for the scan an officer makes at the window.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@transaction.atomic
def load(stdout):
    User = get_user_model()
    offices = {}
    for code, kind, names, community, address, phone in OFFICES:
        offices[code], _created = Office.objects.update_or_create(
            code=code,
            defaults={
                "kind": kind,
                "name_zh_hant": names[0],
                "name_zh_hans": names[1],
                "name_en": names[2],
                "community": Community.objects.filter(code=community).first()
                if community
                else None,
                "address_zh_hant": address[0],
                "address_zh_hans": address[1],
                "address_en": address[2],
                "phone": phone,
            },
        )
    officer = User.objects.filter(email="officer@demo.district.example").first()
    if officer is not None:
        for office in offices.values():
            office.officers.add(officer)
    for order, row in enumerate(SERVICES):
        code, office, kind, names, days, fee, online, extension, description, fields = row
        service, _created = Service.objects.update_or_create(
            code=code,
            defaults={
                "office": offices[office],
                "kind": kind,
                "name_zh_hant": names[0],
                "name_zh_hans": names[1],
                "name_en": names[2],
                "description_zh_hant": description[0],
                "description_zh_hans": description[1],
                "description_en": description[2],
                "promised_days": days,
                "fee": fee,
                "online": online,
                "extension_max_days": extension,
                "sort_order": order,
            },
        )
        for position, (key, field_type, required, labels, choices) in enumerate(fields):
            choices = choices or ("", "", "")
            FormField.objects.update_or_create(
                service=service,
                key=key,
                defaults={
                    "field_type": field_type,
                    "required": required,
                    "label_zh_hant": labels[0],
                    "label_zh_hans": labels[1],
                    "label_en": labels[2],
                    "choices_zh_hant": choices[0],
                    "choices_zh_hans": choices[1],
                    "choices_en": choices[2],
                    "sort_order": position,
                },
            )
    resident = User.objects.filter(email="chan.taiman@demo.district.example").first()
    if (
        resident is not None
        and officer is not None
        and not Case.objects.filter(applicant=resident).exists()
    ):
        from django.core.files.uploadedfile import SimpleUploadedFile

        service = Service.objects.get(code="elderly-allowance")
        scan = SimpleUploadedFile("id-card-copy.pdf", DEMO_PDF, content_type="application/pdf")
        case = services.file_at_window(
            service,
            officer=officer,
            applicant=resident,
            answers={
                "full-name": "陳大文",
                "birth-date": "1958-03-02",
                "household": 2,
                "declaration": True,
            },
            uploads={"id-copy": scan},
        )
        stdout.write(
            f"  Chan Tai Man has an elderly allowance case filed at the window: {case.reference}."
        )
    stdout.write(f"Service cases: {len(offices)} offices, {len(SERVICES)} services.")
