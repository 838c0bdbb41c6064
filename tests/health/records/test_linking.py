import json
from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

import pytest

from health.fhir.models import AuditEvent, PatientLink, Resource
from health.records import services
from health.records.models import ActivationCode

from .conftest import load_patient

pytestmark = pytest.mark.django_db


def birth_date_of(pid):
    body = json.loads(Resource.objects.get(resource_type="Patient", resource_id=pid).body)
    return date.fromisoformat(body["birthDate"])


def test_code_links_account(staff, resident):
    pid = load_patient(1, encounters=2)
    record, code = services.create_activation_code(pid, staff)
    assert code.replace("-", "") not in record.code_hash
    link = services.redeem_activation_code(resident, code.lower(), birth_date_of(pid))
    assert link.patient_id == pid
    record.refresh_from_db()
    assert record.used_by == resident
    # One use only.
    with pytest.raises(services.LinkError):
        services.redeem_activation_code(resident, code, birth_date_of(pid))
    assert AuditEvent.objects.filter(patient_id=pid, detail="account linked").exists()


def test_wrong_birth_date_and_attempt_limits(staff, resident, settings):
    settings.RECORDS_ACTIVATION_CODE_ATTEMPTS = 3
    pid = load_patient(2, encounters=2)
    _record, code = services.create_activation_code(pid, staff)
    wrong = birth_date_of(pid) + timedelta(days=1)
    for _ in range(3):
        with pytest.raises(services.LinkError):
            services.redeem_activation_code(resident, code, wrong)
    # The code is spent after three wrong dates, even with the right one now.
    with pytest.raises(services.LinkError):
        services.redeem_activation_code(resident, code, birth_date_of(pid))
    assert not PatientLink.objects.exists()


def test_per_user_rate_limit(staff, resident, settings):
    settings.RECORDS_LINK_ATTEMPTS_PER_HOUR = 2
    pid = load_patient(3, encounters=2)
    _record, code = services.create_activation_code(pid, staff)
    for guess in ("AAAA-AAAA-AAAA", "BBBB-BBBB-BBBB"):
        with pytest.raises(services.LinkError):
            services.redeem_activation_code(resident, guess, birth_date_of(pid))
    with pytest.raises(services.LinkError, match="Too many"):
        services.redeem_activation_code(resident, code, birth_date_of(pid))


def test_expired_and_replaced_codes(staff, resident):
    pid = load_patient(4, encounters=2)
    first, first_code = services.create_activation_code(pid, staff)
    _second, second_code = services.create_activation_code(pid, staff)
    with pytest.raises(services.LinkError):
        services.redeem_activation_code(resident, first_code, birth_date_of(pid))
    ActivationCode.objects.exclude(pk=first.pk).update(expires_at=timezone.now())
    with pytest.raises(services.LinkError):
        services.redeem_activation_code(resident, second_code, birth_date_of(pid))


def test_link_form(staff, resident_client, resident):
    pid = load_patient(5, encounters=2)
    _record, code = services.create_activation_code(pid, staff)
    url = reverse("records:link")
    bad = resident_client.post(url, {"code": code, "birth_date": "1900-01-01"})
    assert bad.status_code == 200
    assert not PatientLink.objects.filter(user=resident).exists()
    good = resident_client.post(url, {"code": code, "birth_date": birth_date_of(pid).isoformat()})
    assert good.status_code == 302
    assert PatientLink.objects.filter(user=resident, patient_id=pid).exists()


def test_staff_only_can_issue_codes(resident):
    from health.fhir.errors import FhirError

    pid = load_patient(6, encounters=2)
    with pytest.raises(FhirError):
        services.create_activation_code(pid, resident)
