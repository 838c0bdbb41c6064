"""The back-office API: tokens per office, list and read, messages and documents with an
Idempotency-Key (a replay changes nothing and returns the first answer), the event feed, an
OpenAPI description that matches the answers, JSON errors and never a 500."""

import secrets

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

import pytest

from portal.cases.api import token_hash
from portal.cases.models import ApiClient, CaseMessage

from .factories import PDF, PNG, CaseFactory, OfficeFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def issue(office):
    token = secrets.token_urlsafe(16)
    client = ApiClient.objects.create(name="Housing", office=office, token_hash=token_hash(token))
    return token, client


@pytest.fixture
def office():
    return OfficeFactory(code="API")


@pytest.fixture
def token(office):
    return issue(office)[0]


@pytest.fixture
def api(client, token):
    class Api:
        def get(self, path, **params):
            return client.get(f"/api/cases{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}")

        def post(self, path, data=None, key="k1", **extra):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            if key is not None:
                headers["HTTP_IDEMPOTENCY_KEY"] = key
            if extra.pop("multipart", False):
                return client.post(f"/api/cases{path}", data, **headers)
            return client.post(
                f"/api/cases{path}", data, content_type="application/json", **headers
            )

    return Api()


@pytest.fixture
def case(office):
    return CaseFactory(service=ServiceFactory(office=office), received_on=timezone.localdate())


def test_a_token_is_required_and_sees_only_its_office(client, api, case):
    assert client.get("/api/cases/cases").status_code == 401
    response = client.get("/api/cases/cases", HTTP_AUTHORIZATION="Bearer nonsense")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    theirs = CaseFactory(service=ServiceFactory(office=OfficeFactory(code="OTH")))
    listed = api.get("/cases").json()
    assert [c["reference"] for c in listed["items"]] == [case.reference]
    missing = api.get(f"/cases/{theirs.reference}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert api.post(f"/cases/{theirs.reference}/messages", {"body": "hi"}).status_code == 404
    moved = api.post(f"/cases/{theirs.reference}/status", {"step": "accept"}, key="theirs")
    assert moved.status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "submitted"
    assert not CaseMessage.objects.exists()


def test_a_revoked_token_is_refused(client, office, case):
    token, api_client = issue(office)
    api_client.revoked_at = timezone.now()
    api_client.save()
    assert client.get("/api/cases/cases", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_list_pages_with_a_cursor_and_read(api, office, case, monkeypatch):
    from portal.cases import api as api_module

    monkeypatch.setattr(api_module, "PAGE_SIZE", 2)
    more = [CaseFactory(service=case.service) for _ in range(3)]
    first = api.get("/cases").json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get("/cases", cursor=first["next_cursor"]).json()
    assert [c["reference"] for c in first["items"] + second["items"]] == [
        c.reference for c in [case, *more]
    ]
    assert second["next_cursor"] is None
    one = api.get(f"/cases/{case.reference}").json()
    assert one["reference"] == case.reference and one["office"] == "API"
    assert one["due_date"] is None or len(one["due_date"]) == 10


def test_a_replayed_idempotency_key_changes_nothing(api, case):
    first = api.post(f"/cases/{case.reference}/messages", {"body": "Please bring the lease."})
    assert first.status_code == 201
    again = api.post(f"/cases/{case.reference}/messages", {"body": "Please bring the lease."})
    assert again.status_code == 201 and again.json() == first.json()
    assert CaseMessage.objects.filter(case=case).count() == 1
    other = api.post(f"/cases/{case.reference}/messages", {"body": "Something else"})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    no_key = api.post(f"/cases/{case.reference}/messages", {"body": "x"}, key=None)
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"
    assert CaseMessage.objects.filter(case=case).count() == 1


def test_documents_are_checked_and_attached_once(api, case, settings):
    settings.CASES_UPLOAD_MAX_BYTES = 1024
    url = f"/cases/{case.reference}/documents"
    big = api.post(
        url, {"file": SimpleUploadedFile("a.pdf", PDF + b"0" * 4096)}, key="d0", multipart=True
    )
    assert big.status_code == 422 and big.json()["code"] == "too_large"
    wrong = api.post(
        url, {"file": SimpleUploadedFile("a.pdf", b"#!/bin/sh\nrm -rf /")}, key="d1", multipart=True
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_type"
    for _attempt in range(2):
        ok = api.post(
            url,
            {"file": SimpleUploadedFile("decision.png", PNG), "decision": "true"},
            key="d2",
            multipart=True,
        )
        assert ok.status_code == 201 and ok.json()["kind"] == "decision"
    assert case.documents.count() == 1


def test_the_event_feed_follows_a_cursor(api, case):
    api.post(f"/cases/{case.reference}/messages", {"body": "One"}, key="e1")
    api.post(f"/cases/{case.reference}/messages", {"body": "Two"}, key="e2")
    feed = api.get("/events").json()
    assert [e["kind"] for e in feed["items"]] == ["case.message", "case.message"]
    assert api.get("/events", cursor=feed["next_cursor"]).json()["items"] == []
    later = api.get("/events", cursor=feed["items"][0]["id"]).json()
    assert len(later["items"]) == 1


def resolve(schema, spec):
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def conforms(value, schema, spec):
    """A small JSON Schema check: types, required properties, items, anyOf (nullable)."""
    schema = resolve(schema, spec)
    if "anyOf" in schema:
        return any(conforms(value, option, spec) for option in schema["anyOf"])
    kind = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    if kind and not checks[kind](value):
        return False
    if kind == "object":
        if not set(schema.get("required", [])) <= set(value):
            return False
        for name, sub in schema.get("properties", {}).items():
            if name in value and not conforms(value[name], sub, spec):
                return False
    if kind == "array":
        return all(conforms(item, schema.get("items", {}), spec) for item in value)
    return True


def test_the_openapi_description_matches_the_answers(client, api, case):
    spec = client.get("/api/cases/openapi.json").json()
    paths = spec["paths"]
    assert set(paths) == {
        "/api/cases/cases",
        "/api/cases/cases/{reference}",
        "/api/cases/cases/{reference}/messages",
        "/api/cases/cases/{reference}/documents",
        "/api/cases/cases/{reference}/status",
        "/api/cases/events",
    }
    calls = [
        ("/api/cases/cases", "get", api.get("/cases")),
        ("/api/cases/cases/{reference}", "get", api.get(f"/cases/{case.reference}")),
        ("/api/cases/cases/{reference}", "get", api.get("/cases/NOPE-1")),
        (
            "/api/cases/cases/{reference}/messages",
            "post",
            api.post(f"/cases/{case.reference}/messages", {"body": "Hello"}, key="o1"),
        ),
        (
            "/api/cases/cases/{reference}/messages",
            "post",
            api.post(f"/cases/{case.reference}/messages", {"body": ""}, key="o2"),
        ),
        (
            "/api/cases/cases/{reference}/documents",
            "post",
            api.post(
                f"/cases/{case.reference}/documents",
                {"file": SimpleUploadedFile("x.pdf", PDF)},
                key="o3",
                multipart=True,
            ),
        ),
        (
            "/api/cases/cases/{reference}/status",
            "post",
            api.post(f"/cases/{case.reference}/status", {"step": "accept"}, key="o4"),
        ),
        (
            "/api/cases/cases/{reference}/status",
            "post",
            api.post(f"/cases/{case.reference}/status", {"step": "accept"}, key="o5"),
        ),
        (
            "/api/cases/cases/{reference}/status",
            "post",
            api.post(f"/cases/{case.reference}/status", {"step": "reject"}, key="o6"),
        ),
        (
            "/api/cases/cases/{reference}/status",
            "post",
            api.post(f"/cases/{case.reference}/status", {"step": "nope"}, key="o7"),
        ),
        ("/api/cases/events", "get", api.get("/events")),
        ("/api/cases/cases", "get", client.get("/api/cases/cases")),
    ]
    for path, method, response in calls:
        documented = paths[path][method]["responses"]
        status = str(response.status_code)
        assert status in documented, (path, method, status)
        schema = documented[status]["content"]["application/json"]["schema"]
        assert conforms(response.json(), schema, spec), (path, status, response.json())
    # The security scheme is declared.
    assert spec["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("get", "/cases", {"cursor": "abc"}),
        ("get", "/cases", {"cursor": "99999999999999999999999"}),
        ("get", "/cases", {"state": "\x00" * 10}),
        ("get", "/cases/%00", {}),
        ("get", "/cases/" + "A" * 5000, {}),
        ("get", "/events", {"cursor": "-5"}),
        ("post", "/cases/REF/messages", "not json"),
        ("post", "/cases/REF/messages", {"body": "\x00"}),
        ("post", "/cases/REF/messages", {"body": "x" * 100_000}),
        ("post", "/cases/REF/documents", {}),
        ("post", "/cases/REF/status", {"step": "\x00"}),
        ("post", "/cases/REF/status", {"step": "accept", "reason": "\x00"}),
        ("post", "/cases/REF/status", {"step": ["accept"]}),
        ("post", "/cases/REF/status", {"step": "reject", "reason": "x" * 100_000}),
    ],
)
def test_hostile_input_is_a_json_error_never_a_500(client, token, case, method, path, data):
    path = path.replace("REF", case.reference)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_IDEMPOTENCY_KEY": "fuzz"}
    if method == "get":
        response = client.get(f"/api/cases{path}", data, **headers)
    elif isinstance(data, str):
        response = client.post(
            f"/api/cases{path}", data, content_type="application/json", **headers
        )
    else:
        response = client.post(
            f"/api/cases{path}", data, content_type="application/json", **headers
        )
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert {"code", "message"} <= set(response.json())


ERRORS_IN = {
    "zh-hant": {
        "not_found": "這個辦事處沒有這宗個案。",
        "invalid": "個案現為「已遞交」，不能這樣處理。",
        "unauthorized": "需要有效的 Bearer 權杖。",
    },
    "zh-hans": {
        "not_found": "这个办事处没有这宗个案。",
        "invalid": "个案现为“已递交”，不能这样处理。",
        "unauthorized": "需要有效的 Bearer 令牌。",
    },
}


@pytest.mark.parametrize("language", ["zh-hant", "zh-hans"])
def test_error_messages_are_in_the_callers_language(client, token, case, language):
    """Accept-Language chooses the message's language, as on every page; the code stays."""
    client.cookies.pop("portal_language", None)
    expected = ERRORS_IN[language]
    headers = {
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_ACCEPT_LANGUAGE": language,
        "HTTP_IDEMPOTENCY_KEY": f"lang-{language}",
    }

    def post(path, data, **extra):
        return client.post(
            f"/api/cases{path}", data, content_type="application/json", **{**headers, **extra}
        )

    missing = client.get("/api/cases/cases/NO-SUCH-REF", **headers)
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": expected["not_found"]}
    refused = post(f"/cases/{case.reference}/status", {"step": "approve"})
    assert refused.status_code == 409
    assert refused.json() == {"code": "invalid", "message": expected["invalid"]}
    no_token = client.get("/api/cases/cases", HTTP_ACCEPT_LANGUAGE=language)
    assert no_token.json() == {"code": "unauthorized", "message": expected["unauthorized"]}
    # The rest: some Chinese, none of the English.
    english = {}
    for language_header in (language, "en"):
        answers = [
            post(f"/cases/{case.reference}/status", {"step": "accept"}, HTTP_IDEMPOTENCY_KEY=""),
            post(f"/cases/{case.reference}/status", {"step": "fly"}),
            post(f"/cases/{case.reference}/status", {"reason": "no step"}),
            post(f"/cases/{case.reference}/messages", {"body": " "}),
            post(f"/cases/{case.reference}/messages", "not json"),
            client.get("/api/cases/cases", {"state": "lost"}, **headers),
        ]
        headers["HTTP_ACCEPT_LANGUAGE"] = "en"
        english[language_header] = [(a.status_code, a.json()) for a in answers]
    for (status, body), (en_status, en_body) in zip(english[language], english["en"], strict=True):
        assert status == en_status and 400 <= status < 500
        assert body["code"] == en_body["code"]
        assert body["message"] != en_body["message"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
