"""The WSGI entry point warms the FHIR layer before a worker takes requests (issue 10's soak:
a fresh worker's first /fhir/metadata took 9–13 s and workers started together timed out)."""

import importlib
import sys

import health.fhir.capability


def test_loading_the_wsgi_application_builds_the_capability_statement(monkeypatch):
    calls = []
    monkeypatch.setattr(health.fhir.capability, "warm_up", lambda: calls.append("warm"))
    monkeypatch.delitem(sys.modules, "portal.wsgi", raising=False)
    wsgi = importlib.import_module("portal.wsgi")
    assert calls == ["warm"]
    assert callable(wsgi.application)


def test_warm_up_builds_a_statement_without_a_request():
    health.fhir.capability.warm_up()  # no request, no database: it must not raise
    statement = health.fhir.capability.capability_statement("http://localhost/fhir")
    assert statement["resourceType"] == "CapabilityStatement"
