"""`manage.py load_demo`: the district a newcomer sees after `make run`, loaded twice without
duplicates, and refused on a production profile."""

import io
import re
from datetime import date

from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

import pytest
from allauth.mfa.models import Authenticator

from health.fhir.models import PatientLink, Resource, ResourceVersion
from health.records import services as records
from health.records.demo import CHAN, LI

pytestmark = pytest.mark.django_db


def load_demo():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_demo_district_with_linked_record_and_a_code_to_try(settings, client):
    settings.DEBUG = True
    output = load_demo()
    User = get_user_model()
    chan = User.objects.get(email="chan.taiman@demo.district.example")
    nurse = User.objects.get(email="nurse@demo.district.example")
    assert Authenticator.objects.filter(user=nurse, type=Authenticator.Type.TOTP).exists()

    # Chan Tai Man's record is linked and has a line on every chart of the results page.
    assert records.linked_patient_id(chan) == CHAN
    client.force_login(chan)
    client.cookies["portal_language"] = "en"
    page = client.get("/health/results/").content.decode()
    for chart in ["Blood pressure", "Body weight", "Body mass index", "Blood glucose", "HbA1c"]:
        assert chart in page
    assert page.count("8 readings") == 6
    assert "Penicillin" in client.get("/health/").content.decode()

    # Li Xiaomei's is not linked; the printed code with her birth date links it.
    li = User.objects.get(email="li.xiaomei@demo.district.example")
    code = re.search(r"with code (\S+) and birth date", output).group(1)
    records.redeem_activation_code(li, code, date(1990, 7, 2))
    assert records.linked_patient_id(li) == LI


def test_loading_twice_adds_nothing_and_gives_a_fresh_code(settings):
    settings.DEBUG = True
    first = load_demo()
    counts = (Resource.objects.count(), ResourceVersion.objects.count())
    second = load_demo()
    assert (Resource.objects.count(), ResourceVersion.objects.count()) == counts
    assert PatientLink.objects.filter(patient_id=CHAN).count() == 1
    assert "already there" in second
    codes = [re.search(r"with code (\S+)", text).group(1) for text in (first, second)]
    assert codes[0] != codes[1]  # the earlier one stopped working when the new one was issued


def test_refused_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--allow-production"):
        call_command("load_demo", stdout=io.StringIO())
    assert not get_user_model().objects.filter(email__endswith="@demo.district.example").exists()
