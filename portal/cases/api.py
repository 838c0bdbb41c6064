"""The back-office API for department systems: /api/cases/ (OpenAPI at /api/cases/openapi.json).

A system holds a Bearer token issued for one office (`manage.py create_cases_api_token`) and
sees that office's cases only. It moves a case on with `POST /cases/{reference}/status`
(`{"step": "accept"}`), through the same lifecycle table as officers in the admin: a step
the table does not allow from the case's state is a 409 `invalid` (`lost` when another change
won a moment before), a step without its required reason a 400. Every POST takes an
`Idempotency-Key` header: the same key again changes nothing and returns the first answer (a
different body under the same key is a 409). Errors are JSON
`{"code": "...", "message": "..."}`; no request ends in a 500. The `code` is for programs; the
`message` is for people, in the caller's language (`Accept-Language`: zh-Hant, zh-Hans or en,
resolved by the portal's locale middleware like every page). A replayed Idempotency-Key
answers the first answer as it was given.
"""

import hashlib
import json
import logging
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from ninja import File, Form, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.files import UploadedFile
from ninja.security import HttpBearer

from portal.validators import unreadable
from portal.workflow import SYSTEM, System, TransitionError

from . import services
from .forms import validate_document
from .lifecycle import CASE, OFFICE_STEPS
from .models import ApiClient, ApiIdempotencyKey, Case, CaseDocument, CaseEvent, CaseState

logger = logging.getLogger(__name__)

PAGE_SIZE = 100


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        if not token or len(token) > 200:
            return None
        client = (
            ApiClient.objects.select_related("office")
            .filter(token_hash=token_hash(token), revoked_at__isnull=True)
            .first()
        )
        if client is not None:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
        return client


api = NinjaAPI(
    title="District portal: service cases",
    version="1",
    description=__doc__,
    urls_namespace="cases_api",
    auth=TokenAuth(),
    docs_url=None,  # the interactive page would load assets from elsewhere; the JSON is served
)


class Error(Schema):
    code: str
    message: str


def _error(request, status, code, message):
    return api.create_response(request, {"code": code, "message": message}, status=status)


@api.exception_handler(AuthenticationError)
def on_auth(request, exc):
    return _error(request, 401, "unauthorized", _("A valid Bearer token is required."))


@api.exception_handler(ValidationError)
def on_validation(request, exc):
    # pydantic's own texts are English: name the fields at fault, in the caller's language.
    fields = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
        name = ".".join(location)[:60] or "?"
        if name not in fields:
            fields.append(name)
    message = _("These values are missing or not of the right type: %(fields)s.") % {
        "fields": ", ".join(fields[:10])
    }
    return _error(request, 422, "invalid", message)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found", _("There is no such case for this office."))


@api.exception_handler(HttpError)
def on_http_error(request, exc):
    if isinstance(exc, ApiError):
        return _error(request, exc.status_code, exc.code, str(exc))
    # Ninja's own (a body that is not JSON, ...) are in English: say it in the caller's.
    return _error(
        request,
        exc.status_code,
        "bad_request" if exc.status_code == 400 else "error",
        _("The request could not be read: check its body and headers."),
    )


@api.exception_handler(Exception)
def on_anything(request, exc):
    logger.exception("Cases API failed")
    return _error(request, 503, "unavailable", _("The request could not be handled; try again."))


def key_reused_message():
    return _("This Idempotency-Key was used for another request.")


class ApiError(HttpError):
    def __init__(self, status, code, message):
        super().__init__(status, message)
        self.code = code


# Schemas ----------------------------------------------------------------------------------------


class CaseOut(Schema):
    reference: str
    service: str
    office: str
    state: str
    public_status: str
    channel: str
    received_on: date | None
    accepted_on: date | None
    due_date: date | None
    due_provisional: bool
    decided_on: date | None
    answers: dict
    updated_at: datetime

    @staticmethod
    def from_case(case):
        return {
            "reference": case.reference,
            "service": case.service.code,
            "office": case.office.code,
            "state": case.state,
            "public_status": str(case.public_status),
            "channel": case.channel,
            "received_on": case.received_on,
            "accepted_on": case.accepted_on,
            "due_date": case.due_date,
            "due_provisional": case.due_provisional,
            "decided_on": case.decided_on,
            "answers": case.answers,
            "updated_at": case.updated_at,
        }


# The steps a department system may take (lifecycle.OFFICE_STEPS open to SYSTEM).
API_STEPS = tuple(name for name in OFFICE_STEPS if SYSTEM in CASE.step(name).by)


class StatusChangeIn(Schema):
    step: str
    reason: str = ""
    note: str = ""


class StatusChangeOut(Schema):
    reference: str
    step: str
    from_state: str
    to_state: str
    reason: str
    at: datetime
    case: CaseOut


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: int | None


class MessageIn(Schema):
    body: str


class MessageOut(Schema):
    id: int
    reference: str
    body: str
    created_at: datetime


class DocumentOut(Schema):
    id: int
    reference: str
    filename: str
    kind: str
    size: int


class EventOut(Schema):
    id: int
    reference: str
    kind: str
    data: dict
    created_at: datetime


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: int


# Helpers ----------------------------------------------------------------------------------------


def _case(request, reference, *, lock=False):
    if len(reference) > 30 or unreadable(reference):
        raise Http404
    cases = Case.objects.select_related("service", "office").filter(
        office=request.auth.office, reference=reference
    )
    if lock:
        cases = cases.select_for_update()
    case = cases.first()
    if case is None:
        raise Http404
    return case


def _idempotent(request, payload, handler):
    """Run `handler()` once per Idempotency-Key; replay its first answer for the same key."""
    key = request.headers.get("Idempotency-Key", "")
    if not key or len(key) > 100 or unreadable(key):
        raise ApiError(
            400,
            "idempotency_key_required",
            _("Send an Idempotency-Key header of at most 100 characters."),
        )
    fingerprint = hashlib.sha256(
        json.dumps([request.path, payload], sort_keys=True, default=str).encode()
    ).hexdigest()
    client = request.auth
    earlier = ApiIdempotencyKey.objects.filter(client=client, key=key).first()
    if earlier is not None:
        if earlier.request_hash != fingerprint:
            raise ApiError(409, "idempotency_key_reused", key_reused_message())
        return api.create_response(request, earlier.body, status=earlier.status_code)
    try:
        with transaction.atomic():
            status, body = handler()
            body = json.loads(json.dumps(body, default=str))
            ApiIdempotencyKey.objects.create(
                client=client, key=key, request_hash=fingerprint, status_code=status, body=body
            )
    except IntegrityError:
        # The same key raced in from a second connection and won; answer as it did.
        earlier = ApiIdempotencyKey.objects.filter(client=client, key=key).first()
        if earlier is None or earlier.request_hash != fingerprint:
            raise ApiError(409, "idempotency_key_reused", key_reused_message()) from None
        return api.create_response(request, earlier.body, status=earlier.status_code)
    return api.create_response(request, body, status=status)


# Endpoints --------------------------------------------------------------------------------------


@api.get("/cases", response={200: CasePage, 401: Error, 422: Error}, tags=["cases"])
def list_cases(request, cursor: int = 0, state: str = ""):
    """The office's cases (drafts excepted) in id order, `PAGE_SIZE` at a time; pass
    `next_cursor` back as `cursor` for the next page."""
    cases = (
        Case.objects.select_related("service", "office")
        .filter(office=request.auth.office, pk__gt=max(0, cursor), reference__isnull=False)
        .order_by("pk")
    )
    if state:
        if state not in CaseState.values:
            raise ApiError(
                422,
                "invalid_state",
                _("state must be one of: %(states)s.") % {"states": ", ".join(CaseState.values)},
            )
        cases = cases.filter(state=state)
    page = list(cases[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return {
        "items": [CaseOut.from_case(c) for c in page],
        "next_cursor": page[-1].pk if more else None,
    }


@api.get("/cases/{reference}", response={200: CaseOut, 401: Error, 404: Error}, tags=["cases"])
def read_case(request, reference: str):
    return CaseOut.from_case(_case(request, reference))


@api.post(
    "/cases/{reference}/status",
    response={
        200: StatusChangeOut,
        400: Error,
        401: Error,
        403: Error,
        404: Error,
        409: Error,
        422: Error,
    },
    tags=["cases"],
)
def change_status(request, reference: str, payload: StatusChangeIn):
    """Move the case on by one lifecycle step (the same table as officers in the admin):
    `accept`, `start`, `approve`, `request_correction` (reason: what the resident must send),
    `reject` (reason required), `result_ready` (reason: how the resident gets the result),
    `collect`, `close`. A step not open from the case's state is a 409 and changes nothing.
    With the same Idempotency-Key again, nothing changes and the first answer is returned."""
    step = payload.step.strip()
    if step not in API_STEPS:
        raise ApiError(
            422,
            "invalid_step",
            _("step must be one of: %(steps)s.") % {"steps": ", ".join(API_STEPS)},
        )
    reason = payload.reason.strip()
    note = payload.note.strip()
    for name, value, limit in (("reason", reason, 500), ("note", note, 2000)):
        if len(value) > limit or unreadable(value.replace("\n", "").replace("\r", "")):
            raise ApiError(
                422,
                f"invalid_{name}",
                _("%(name)s: at most %(limit)s readable characters.")
                % {"name": name, "limit": limit},
            )
    case = _case(request, reference)

    def handler():
        try:
            change = services.move(
                case, step, by=System(f"api: {request.auth.name}"[:150]), reason=reason, note=note
            )
        except TransitionError as error:
            # Stored under the key like a success: the same request again answers the same.
            return error.http_status, {"code": error.code, "message": str(error)}
        case.refresh_from_db()
        return 200, {
            "reference": case.reference,
            "step": step,
            "from_state": change.from_state or "",
            "to_state": change.step.target,
            "reason": change.reason,
            "at": change.at.isoformat(),
            "case": CaseOut.from_case(case),
        }

    return _idempotent(request, {"step": step, "reason": reason, "note": note}, handler)


@api.post(
    "/cases/{reference}/messages",
    response={201: MessageOut, 400: Error, 401: Error, 404: Error, 409: Error, 422: Error},
    tags=["cases"],
)
def post_message(request, reference: str, payload: MessageIn):
    """A message from the office to the resident, shown on the case page and sent to them."""
    body = payload.body.strip()
    if not body or len(body) > 2000 or unreadable(body.replace("\n", "").replace("\r", "")):
        raise ApiError(422, "invalid_body", _("body: 1 to 2000 readable characters."))
    case = _case(request, reference)

    def handler():
        message = services.post_message(case, body, by=None, from_office=True)
        return 201, {
            "id": message.pk,
            "reference": case.reference,
            "body": message.body,
            "created_at": message.created_at.isoformat(),
        }

    return _idempotent(request, {"body": body}, handler)


@api.post(
    "/cases/{reference}/documents",
    response={201: DocumentOut, 400: Error, 401: Error, 404: Error, 409: Error, 422: Error},
    tags=["cases"],
)
def attach_document(
    request, reference: str, file: File[UploadedFile], decision: Form[bool] = False
):
    """Attach a PDF, JPEG or PNG (the decision document when `decision` is true)."""
    from django import forms

    try:
        validate_document(file)
    except forms.ValidationError as error:
        raise ApiError(422, error.code or "invalid_file", " ".join(error.messages)) from None
    case = _case(request, reference)
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)

    def handler():
        kind = CaseDocument.Kind.DECISION if decision else CaseDocument.Kind.OFFICE
        document = services.store_document(case, file, kind=kind, by=None)
        return 201, {
            "id": document.pk,
            "reference": case.reference,
            "filename": document.filename,
            "kind": document.kind,
            "size": document.size,
        }

    return _idempotent(
        request, {"file": digest.hexdigest(), "name": file.name, "decision": decision}, handler
    )


@api.get("/events", response={200: EventPage, 401: Error, 422: Error}, tags=["events"])
def events(request, cursor: int = 0):
    """What changed on the office's cases since `cursor` (an event id; 0 from the start), in
    order; poll again with `next_cursor`."""
    rows = list(
        CaseEvent.objects.filter(office=request.auth.office, pk__gt=max(0, cursor))
        .select_related("case")
        .order_by("pk")[:PAGE_SIZE]
    )
    return {
        "items": [
            {
                "id": e.pk,
                "reference": e.case.reference or "",
                "kind": e.kind,
                "data": e.data,
                "created_at": e.created_at,
            }
            for e in rows
        ],
        "next_cursor": rows[-1].pk if rows else max(0, cursor),
    }
