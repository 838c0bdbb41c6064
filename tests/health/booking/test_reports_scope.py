"""Wagtail's reports apply the staff scope of the object views (portal/scoping/reports.py): a
nurse of one clinic does not read another clinic's closure reasons or practitioner edits in
the site history, its filters or its export; a superuser reads everything."""

from django.test import Client
from django.urls import reverse

from wagtail.log_actions import log

import pytest

from tests.factories import StaffFactory

from .conftest import make_staff
from .factories import ClosureFactory, PractitionerFactory

pytestmark = pytest.mark.django_db

SITE_HISTORY = "wagtailadmin_reports:site_history"


@pytest.fixture
def history(clinic, other_clinic):
    """Log entries, as the admin's create and edit views write them, for both clinics."""
    theirs_staff = make_staff(other_clinic)
    ours = ClosureFactory(clinic=clinic, reason="Our flu clinic day")
    theirs = ClosureFactory(clinic=other_clinic, reason="Secret staff strike")
    log(ours, "wagtail.create", user=make_staff(clinic))
    log(theirs, "wagtail.create", user=theirs_staff)
    log(
        PractitionerFactory(clinic=other_clinic, name="Dr Hidden Edit"),
        "wagtail.edit",
        user=theirs_staff,
    )
    log(PractitionerFactory(clinic=clinic, name="Dr Our Own"), "wagtail.edit")
    return theirs_staff


def page(client, **params):
    response = client.get(reverse(SITE_HISTORY), params)
    assert response.status_code == 200
    return response.content.decode()


def test_a_nurse_sees_only_her_clinics_changes_in_site_history(nurse_client, history):
    shown = page(nurse_client)
    assert "Our flu clinic day" in shown and "Dr Our Own" in shown
    assert "Secret staff strike" not in shown and "Dr Hidden Edit" not in shown
    # The filter's list of users names nobody whose changes she cannot see.
    assert history.email not in shown
    # Nor does the export.
    csv = nurse_client.get(reverse(SITE_HISTORY), {"export": "csv"})
    body = b"".join(csv.streaming_content if csv.streaming else [csv.content]).decode()
    assert "Our flu clinic day" in body and "Secret staff strike" not in body


def test_a_superuser_sees_every_clinics_changes(history):
    client = Client()
    client.force_login(StaffFactory(superuser=True, mfa=True))
    shown = page(client)
    for text in ("Our flu clinic day", "Secret staff strike", "Dr Hidden Edit", "Dr Our Own"):
        assert text in shown


def test_a_nurse_without_a_clinic_sees_no_clinic_history(client, history):
    client.force_login(make_staff())
    shown = page(client)
    assert "Our flu clinic day" not in shown and "Secret staff strike" not in shown
