"""Factories for service cases: offices, services with their forms, cases."""

import factory

from portal.cases.models import Case, CaseState, FormField, Office, Service, StatusText
from tests.factories import UserFactory


class OfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Office
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"OF{n}")
    kind = Office.Kind.STREET_OFFICE
    name_zh_hant = factory.Sequence(lambda n: f"第{n}街道辦事處")
    name_zh_hans = factory.Sequence(lambda n: f"第{n}街道办事处")
    name_en = factory.Sequence(lambda n: f"Street Office {n}")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("code",)

    office = factory.SubFactory(OfficeFactory)
    code = factory.Sequence(lambda n: f"service-{n}")
    name_zh_hant = "住址證明"
    name_zh_hans = "住址证明"
    name_en = factory.Sequence(lambda n: f"Proof of address {n}")
    description_en = "A letter that confirms where you live."
    promised_days = 10


class FormFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FormField

    service = factory.SubFactory(ServiceFactory)
    key = factory.Sequence(lambda n: f"field-{n}")
    field_type = FormField.Type.TEXT
    required = True
    label_zh_hant = factory.Sequence(lambda n: f"問題{n}")
    label_zh_hans = factory.Sequence(lambda n: f"问题{n}")
    label_en = factory.Sequence(lambda n: f"Question {n}")
    sort_order = factory.Sequence(int)


class StatusTextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatusText

    service = factory.SubFactory(ServiceFactory)


class CaseFactory(factory.django.DjangoModelFactory):
    """A submitted case (give state=... and received_on=... for others)."""

    class Meta:
        model = Case

    service = factory.SubFactory(ServiceFactory)
    office = factory.SelfAttribute("service.office")
    applicant = factory.SubFactory(UserFactory)
    state = CaseState.SUBMITTED
    reference = factory.Sequence(lambda n: f"REF-2026-{n:06d}")


def service_with_form(**kwargs):
    """A service asking for a name, a choice, and a document."""
    service = ServiceFactory(**kwargs)
    FormFieldFactory(
        service=service,
        key="full-name",
        label_en="Your full name",
        label_zh_hant="你的全名",
        label_zh_hans="你的全名",
        sort_order=1,
    )
    FormFieldFactory(
        service=service,
        key="purpose",
        field_type=FormField.Type.CHOICE,
        label_en="What is it for?",
        label_zh_hant="用途",
        label_zh_hans="用途",
        choices_en="School\nBank\nOther",
        choices_zh_hant="學校\n銀行\n其他",
        choices_zh_hans="学校\n银行\n其他",
        sort_order=2,
    )
    FormFieldFactory(
        service=service,
        key="tenancy",
        field_type=FormField.Type.DOCUMENT,
        label_en="Tenancy agreement",
        label_zh_hant="租約",
        label_zh_hans="租约",
        sort_order=3,
    )
    return service


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\x18\xdd\x8d\xb4\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def officer_of(*offices):
    """A case officer (with TOTP, as the admin requires) working for `offices`."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    from portal.accounts import roles
    from tests.factories import StaffFactory, with_totp

    # A transactional test's flush empties the tables the data migrations filled.
    for module in (
        "portal.cases.migrations.0002_case_officer_permissions",
        "portal.workcalendar.migrations.0002_case_officer_permissions",
    ):
        importlib.import_module(module).grant(apps, None)
    Group.objects.get(name=roles.CASE_OFFICERS).permissions.add(
        Permission.objects.get(codename="access_admin")
    )
    officer = with_totp(StaffFactory(groups=[roles.CASE_OFFICERS]))
    for office in offices:
        office.officers.add(officer)
    return officer
