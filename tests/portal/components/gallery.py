"""A page with every component on it, for the browser test (a URLconf of its own)."""

from datetime import datetime

from django import forms
from django.http import HttpResponse
from django.template import engines
from django.urls import include, path
from django.utils import timezone, translation

from portal.components import AppointmentEntry


def gallery_entries():
    start = timezone.make_aware(datetime(2026, 12, 1, 9, 30))
    return [
        AppointmentEntry(
            start=start,
            url="/clinics/appointments/1/",
            title="Vaccination",
            place="Harbour clinic",
            person="Chan Siu Ming",
            status="Booked",
            tone="info",
        ),
        AppointmentEntry(
            start=start.replace(day=2),
            url="/clinics/appointments/2/",
            title="General consultation with a rather long name that has to wrap on a phone",
            place="Riverside clinic",
            status="Cancelled",
            tone="warning",
            note="Moved to Thu 3 Dec 2026, 10:00",
            note_url="/clinics/appointments/3/",
        ),
    ]


class GalleryForm(forms.Form):
    name = forms.CharField(label="Your name")


GALLERY = """{% extends "base.html" %}{% load components %}
{% block title %}Components{% endblock %}
{% block content %}
{% error_summary form %}
{% notification_banner %}
  <p class="notification-banner__heading">Clinics close early on 24 December.</p>
{% endnotification_banner %}
<h1>Components</h1>
{% notification_banner kind="success" %}
  <p class="notification-banner__heading">Your appointment is booked.</p>
{% endnotification_banner %}
<p>{% for tone in tones %}{% status_tag "Did not attend" tone %} {% endfor %}</p>
{% summary_list %}
  {% summary_row "Service" %}Vaccination{% endsummary_row %}
  {% summary_row "Clinic" action_url="#" action_label="Change" %}
    Harbour clinic, 1 Praya Road, Harbour Community
  {% endsummary_row %}
{% endsummary_list %}
{% appointment_list entries %}
{% what_happens_next %}<p>We will remind you the day before.</p>{% endwhat_happens_next %}
<form method="post" novalidate>{% include "includes/field.html" with field=form.name %}</form>
{% endblock %}
"""


def gallery(request):
    from portal.components import TONES

    with translation.override(request.GET.get("language", "en")):
        html = (
            engines["django"]
            .from_string(GALLERY)
            .render(
                {
                    "form": GalleryForm(data={}),
                    "entries": gallery_entries(),
                    "tones": TONES,
                },
                request,
            )
        )
    return HttpResponse(html)


# The portal's own URLs too: base.html links to them.
urlpatterns = [path("gallery/", gallery), path("", include("portal.urls"))]
