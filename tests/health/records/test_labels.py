"""FHIR codes shown as translated labels on the record pages."""

from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

import pytest

from health.records import labels

from .conftest import english

pytestmark = pytest.mark.django_db


def test_labels_are_lazy_and_fall_back_to_the_code():
    for label in (
        labels.status_label("active"),
        labels.status_label("entered-in-error"),
        labels.status_label("finished"),
        labels.criticality_label("unable-to-assess"),
        labels.resource_type_label("Observation"),
        labels.summary_section_title({"code": {"coding": [{"code": "11450-4"}]}}),
    ):
        assert isinstance(label, Promise)
    assert str(labels.status_label("active")) == "Active"
    assert str(labels.status_label("finished")) == "Finished"
    assert str(labels.criticality_label("high")) == "High risk"
    assert str(labels.resource_type_label("Patient")) == "Personal details"
    assert labels.status_label("brand-new-code") == "brand-new-code"
    assert labels.resource_type_label("Basic") == "Basic"
    assert labels.summary_section_title({"title": "Other", "code": {}}) == "Other"
    assert labels.status_label("") == ""


def test_pages_show_labels_not_codes(linked_resident):
    client, user, _pid = linked_resident(seed=44, encounters=6)
    url = reverse("records:section", args=["allergies"])
    # The default interface language (zh-hant) shows the label's translation, not the code.
    zh = client.get(url)
    assert zh.context["page"].object_list[0].status == "active"
    with translation.override("zh-hant"):
        active = str(labels.status_label("active"))
    assert active != "Active"  # a catalogue already translates it ("有效")
    assert f'<strong class="tag tag--neutral">{active}</strong>' in zh.content.decode()
    assert '<strong class="tag tag--neutral">active</strong>' not in zh.content.decode()
    english(user)
    content = client.get(url).content.decode()
    assert '<strong class="tag tag--neutral">Active</strong>' in content
    assert '<span class="record-list__detail">Low risk</span>' in content
    assert '<strong class="tag tag--neutral">active</strong>' not in content
    visits = client.get(reverse("records:section", args=["encounters"])).content.decode()
    assert '<strong class="tag tag--neutral">Finished</strong>' in visits
    assert '<strong class="tag tag--neutral">finished</strong>' not in visits
    summary = client.get(reverse("records:summary"))
    titles = [s["title"] for s in summary.context["summary_sections"]]
    assert all(isinstance(t, Promise) for t in titles)
    assert "<h2>Problem list</h2>" in summary.content.decode()
    log = client.get(reverse("records:access-log")).content.decode()
    assert "viewed Personal details" in log
    assert "viewed Patient" not in log
