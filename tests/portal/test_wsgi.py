"""The WSGI entry point prepares a web process before it takes requests: the FHIR layer (issue
10's soak: a fresh worker's first /fhir/metadata took 9–13 s and workers started together timed
out), each language's catalogues and URL maps, and the loaded objects frozen out of the garbage
collector's full collections (a quarter of a second per collection without)."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import health.fhir.capability
import portal.warmup

ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_wsgi_application_warms_the_process_last(monkeypatch):
    calls = []
    monkeypatch.setattr(health.fhir.capability, "warm_up", lambda: calls.append("fhir"))
    monkeypatch.setattr(portal.warmup, "prepare_to_serve", lambda: calls.append("serve"))
    monkeypatch.delitem(sys.modules, "portal.wsgi", raising=False)
    wsgi = importlib.import_module("portal.wsgi")
    assert calls == ["fhir", "serve"]  # freezing comes after everything else has loaded
    assert callable(wsgi.application)


def test_warm_up_builds_a_statement_without_a_request():
    health.fhir.capability.warm_up()  # no request, no database: it must not raise
    statement = health.fhir.capability.capability_statement("http://localhost/fhir")
    assert statement["resourceType"] == "CapabilityStatement"


PROBE = """
import gc, json
import portal.wsgi
from django.conf import settings
from django.db import connections
from django.urls import get_ns_resolver, get_resolver
from django.utils.translation import trans_real

frozen, tracked = gc.get_freeze_count(), len(gc.get_objects())
# The resolver reverse("booking:…") asks for, as reverse() builds it: already made, with a map
# per language.
extra, sub = get_resolver().namespace_dict["booking"]
built = get_ns_resolver.cache_info().misses
booking = get_ns_resolver(extra, sub, tuple(sub.pattern.converters.items()))
print(json.dumps({
    "frozen": frozen,
    "tracked": tracked,
    "catalogues": sorted(trans_real._translations),
    "url_maps": sorted(get_resolver()._reverse_dict),
    "booking_url_maps": sorted(booking._reverse_dict),
    "booking_resolver_was_built": get_ns_resolver.cache_info().misses == built,
    "languages": sorted(code for code, _ in settings.LANGUAGES),
    "database_connections": [c.alias for c in connections.all() if c.connection is not None],
    "language_left_active": getattr(trans_real._active, "value", None) is not None,
}))
"""


def test_a_web_process_is_ready_before_its_first_request():
    """In a process of its own, as gunicorn starts one: freezing here would keep this test
    run's objects from the collector for good."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout.strip().splitlines()[-1])
    languages = set(state["languages"])
    # Every language's catalogues and URL maps, the root's and a namespace's, are loaded, not
    # left to a resident's request.
    assert languages <= set(state["catalogues"])
    assert languages <= set(state["url_maps"])
    assert state["booking_resolver_was_built"]
    assert languages <= set(state["booking_url_maps"])
    # Nothing a forked worker would share: with --preload the master runs this before fork.
    assert state["database_connections"] == []
    assert state["language_left_active"] is False  # each request activates its own
    # What the application loaded is frozen: a full collection walks a small fraction of it.
    assert state["frozen"] > 100_000
    assert state["tracked"] * 10 < state["frozen"]
