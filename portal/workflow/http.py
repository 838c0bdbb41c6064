"""A refused transition as an API answer: 409 for an invalid or lost transition (403 when the
caller may not make it, 400 when a reason is missing), with a JSON body. FHIR endpoints wrap
the same code and message in an OperationOutcome (see health/booking/fhir.py)."""

from django.http import JsonResponse


def error_body(error):
    return {"error": error.code, "message": str(error)}


def error_response(error):
    return JsonResponse(error_body(error), status=error.http_status)
