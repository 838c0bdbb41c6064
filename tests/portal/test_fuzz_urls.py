"""No request ends in a 500 (issue 10 §6): every URL of the portal, with hostile values.

The URLconf is walked, so a new view is fuzzed without anyone listing it. Each route is asked
as a signed-out visitor, a resident and staff (an administrator with two-factor):

- the sweep: every route once per role with hostile path values (NUL, control characters,
  100 kB, non-numeric ids, huge numbers, impossible dates), then with the ids of real objects
  where the route takes ids, by GET, by POST with hostile values in every field the page's own
  forms name (and in a few fields they don't), and by a wrong method and content type;
- hypothesis: bounded examples drawing a route, values, method and body at random.

Failures are collected, not raised one at a time, so the report names every 500 at once.
The run is bounded (a couple of minutes on a shared 2-core machine): `FUZZ_EXAMPLES` sets
hypothesis's examples per role.
"""

import os
import re
import uuid
from urllib.parse import quote

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import CommunityFactory, StaffFactory, UserFactory
from tests.health.booking.factories import (
    AppointmentFactory,
    ClinicFactory,
    DependantFactory,
    ServiceFactory,
    SlotFactory,
)
from tests.portal.cases.factories import CaseFactory
from tests.portal.notifications.factories import MessageFactory

pytestmark = pytest.mark.django_db

HOSTILE = [
    "\x00",
    "a\x00b",
    "\x1b[31m\x07\x08",
    "line\r\nbreak",
    "x" * 100_000,
    "abc",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "2026-02-30",
    "0000-00-00T25:61",
    "../../etc/passwd",
    "%00",
    "名字\ufffd",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "",
]
# Field names most forms of the portal use, posted even when a page shows no form.
COMMON_FIELDS = [
    "next",
    "language",
    "reason",
    "date",
    "at",
    "q",
    "text",
    "name",
    "display_name",
    "version",
    "password",
    "code",
    "slot",
    "community",
    "start",
    "end",
]
SKIP = {
    # Signs the test client out; asked last by hand below instead.
    "account_logout",
    # Wagtail's page that raises on purpose, so administrators can see error reports arrive.
    "wagtailadmin_error_test",
}


def routes():
    """(route template, namespace, url name) for every URL pattern."""

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), namespace, pattern.name

    return [r for r in walk(get_resolver().url_patterns, "", "") if r[2] not in SKIP]


PARAM = re.compile(
    r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>(?:[^()]|\([^()]*\))*\)"
)


GROUP = re.compile(r"\((?:[^()]|\([^()]*\))*\)")  # an unnamed group: (?:[\w-]+/)*


def params(template):
    return [m.group("name") or m.group("rname") for m in PARAM.finditer(template)]


def build_path(template, values):
    """The route with each parameter replaced (URL-quoted); regex anchors and escapes undone,
    a bare `.*` filled like a parameter."""

    def fill(match):
        name = match.group("name") or match.group("rname")
        return quote(str(values.get(name, "1")), safe="")

    path = PARAM.sub(fill, template)
    rest = quote(str(values.get("*", "x")), safe="")
    path = GROUP.sub(rest, path).replace(".*", rest)
    path = path.replace("\\$", "\x01").replace("^", "").replace("$", "").replace("\x01", "$")
    return "/" + path.replace("\\", "")


FIELD_NAME = re.compile(r'<(?:input|select|textarea|button)[^>]*\sname="([^"]+)"', re.I)


class Probe:
    """Asks, collects 500s (and exceptions the test client would otherwise raise)."""

    def __init__(self, label, client):
        self.label = label
        self.client = client
        self.failures = []

    def ask(self, method, path, data=None, content_type=None, **extra):
        kwargs = {"data": data or {}}
        if content_type:
            kwargs["content_type"] = content_type
        try:
            response = getattr(self.client, method)(path, **kwargs, **extra)
        except Exception as error:  # a crash in the test client itself counts too
            self.failures.append(f"{self.label} {method.upper()} {path[:160]!r}: {error!r}")
            return None
        if response.status_code >= 500:
            self.failures.append(
                f"{self.label} {method.upper()} {path[:160]!r} {str(data)[:160]}"
                f" -> {response.status_code}"
            )
        return response


@pytest.fixture
def world(db):
    """Real objects whose ids fill the routes, so views get past "not found"."""
    resident = UserFactory()
    service = ServiceFactory()
    clinic = ClinicFactory(services=[service])
    slot = SlotFactory(clinic=clinic, service=service, capacity=3)
    appointment = AppointmentFactory(slot=slot, resident=resident)
    DependantFactory(owner=resident)
    message = MessageFactory(user=resident)
    case = CaseFactory(applicant=resident)
    community = CommunityFactory()
    staff = StaffFactory(superuser=True, mfa=True, clinics=[clinic])
    from wagtail.models import Site

    home = Site.objects.get(is_default_site=True).root_page
    values = {
        "pk": appointment.pk,
        "clinic_id": clinic.pk,
        "slot_id": slot.pk,
        "service": service.code,
        "code": case.service.code,
        "service_pk": case.service.pk,
        "page_id": home.pk,
        "parent_page_id": home.pk,
        "page_pk": home.pk,
        "export_id": uuid.uuid4(),
        "kind": "vitals",
        "slug": "allergies",
        "resource_type": "Patient",
        "reference": case.reference,
        "model_name": "street",
        "app_label": "accounts",
        "app_name": "accounts",
        "content_type_app_name": "accounts",
        "content_type_model_name": "street",
        "operation": "everything",
        "version_id": "1",
    }
    by_namespace = {
        "cases": {"pk": case.pk},
        "notifications": {"pk": message.pk},
        "wagtailsnippets_accounts_community": {"pk": community.pk},
        "booking_clinics": {"pk": clinic.pk},
    }
    return {
        "resident": resident,
        "staff": staff,
        "values": values,
        "by_namespace": by_namespace,
    }


def real_values(world, namespace):
    return {**world["values"], **world["by_namespace"].get(namespace, {})}


def client_for(role, world):
    client = Client(raise_request_exception=False)
    client.cookies["portal_language"] = "en"
    if role == "resident":
        client.force_login(world["resident"])
    elif role == "staff":
        client.force_login(world["staff"])
    return client


def hostile_form(names, offset):
    return {name: HOSTILE[(offset + i) % len(HOSTILE)] for i, name in enumerate(names)}


def sweep(probe, world, staff):
    for index, (template, namespace, _name) in enumerate(routes()):
        names = params(template)
        hostile = HOSTILE[index % len(HOSTILE)]
        if names or ".*" in template:
            values = {name: HOSTILE[(index + i) % len(HOSTILE)] for i, name in enumerate(names)}
            values["*"] = hostile
            probe.ask("get", build_path(template, values))
        path = build_path(template, real_values(world, namespace))
        if not staff and template.startswith("admin/"):
            # Refused before any view code runs: one GET and one POST show it.
            probe.ask("get", path, {"q": hostile})
            probe.ask("post", path, hostile_form(COMMON_FIELDS, index))
            continue
        response = probe.ask("get", path, {"q": hostile, "date": "2026-02-30", "at": hostile})
        fields = set(COMMON_FIELDS)
        if response is not None and "html" in response.get("Content-Type", ""):
            fields |= set(FIELD_NAME.findall(response.content.decode(errors="replace")))
        fields.discard("csrfmiddlewaretoken")
        probe.ask("post", path, hostile_form(sorted(fields), index))
        probe.ask("post", path, '{"next": "\\u0000", "x": [', content_type="application/json")
        probe.ask("put", path, "\x00\xff", content_type="text/plain")


ROLES = ["anonymous", "resident", "staff"]


@pytest.mark.parametrize("role", ROLES)
def test_every_url_survives_hostile_values(role, world):
    probe = Probe(role, client_for(role, world))
    sweep(probe, world, staff=role == "staff")
    if role != "anonymous":
        probe.ask("post", "/accounts/logout/", {"next": "\x00"})
    assert probe.failures == [], f"{len(probe.failures)} server errors:\n" + "\n".join(
        probe.failures
    )


hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates().map(lambda d: d.isoformat().replace("-0", "-3")),  # 31st of February and such
)


@pytest.mark.parametrize("role", ROLES)
def test_random_hostile_requests(role, world):
    all_routes = routes()
    probe = Probe(f"{role} (hypothesis)", client_for(role, world))

    @settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        route=st.sampled_from(all_routes),
        values=st.dictionaries(
            st.sampled_from(["*", "pk", "patient_id", "resource_id"]), hostile_text
        ),
        real=st.booleans(),
        method=st.sampled_from(["get", "post", "put", "patch", "delete", "options"]),
        form=st.dictionaries(st.sampled_from(COMMON_FIELDS), hostile_text, max_size=6),
        content_type=st.sampled_from(
            [None, "application/json", "text/plain", "application/xml", "application/fhir+json"]
        ),
    )
    def ask(route, values, real, method, form, content_type):
        template, namespace, _name = route
        base = real_values(world, namespace) if real else {}
        fill = {**base, **{k: v for k, v in values.items() if k in params(template) or k == "*"}}
        for name in params(template):
            fill.setdefault(name, values.get("*", "1"))
        path = build_path(template, fill)
        if content_type and method != "get":
            probe.ask(method, path, str(form), content_type=content_type)
        else:
            probe.ask(method, path, form)

    ask()
    assert probe.failures == [], f"{len(probe.failures)} server errors:\n" + "\n".join(
        probe.failures
    )
