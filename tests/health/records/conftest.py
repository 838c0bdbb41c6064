import pytest

from bench.fhir_synthea import patient_bundle
from health.fhir.access import system_requester
from health.fhir.bundles import process_bundle
from health.fhir.models import PatientLink
from health.fhir.store import delete_resource
from tests.factories import UserFactory
from tests.health.fhir.conftest import make_clinic_staff


def load_patient(seed, encounters=10):
    """Import a Synthea-like patient; returns the Patient id."""
    import json

    requester = system_requester("test")
    bundle = patient_bundle(seed=seed, encounters=encounters)
    response = json.loads(process_bundle(bundle, requester, "http://testserver/fhir"))
    return response["entry"][2]["response"]["location"].split("/")[1]


def english(user):
    """Pages follow the account's language (zh-hant by default); these assert English."""
    user.profile.preferred_language = "en"
    user.profile.save()


def delete_patient(pid):
    delete_resource("Patient", pid, requester=system_requester("test"))


@pytest.fixture
def staff(db):
    return make_clinic_staff()


@pytest.fixture
def linked_resident(db):
    """(client, user, patient id) for a resident linked to a generated patient."""
    from django.test import Client

    def make(seed=1, encounters=10):
        pid = load_patient(seed, encounters)
        user = UserFactory()
        PatientLink.objects.create(user=user, patient_id=pid)
        client = Client()
        client.force_login(user)
        return client, user, pid

    return make


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read English text; the default interface language is zh-hant."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
