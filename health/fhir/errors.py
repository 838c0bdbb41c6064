"""Errors that end a FHIR interaction, and the OperationOutcome they become."""


class FhirError(Exception):
    """An error with an HTTP status and OperationOutcome issues.

    `issues` is a list of dicts with code, diagnostics and optionally expression (the
    FHIRPath of the element at fault).
    """

    def __init__(self, status, diagnostics, code="invalid", expression=None, issues=None):
        super().__init__(diagnostics)
        self.status = status
        if issues is None:
            issue = {"severity": "error", "code": code, "diagnostics": diagnostics}
            if expression:
                issue["expression"] = [expression]
            issues = [issue]
        self.issues = issues

    def outcome(self):
        return operation_outcome(self.issues)


class InvalidSearch(FhirError):
    """A search the server cannot answer as asked (a 400): a malformed value, an unknown
    parameter or modifier. Also raised by projections of other apps."""

    def __init__(self, diagnostics, code="invalid"):
        super().__init__(400, diagnostics, code=code)


class NotFound(FhirError):
    def __init__(self, diagnostics="Resource not found"):
        super().__init__(404, diagnostics, code="not-found")


class Gone(FhirError):
    def __init__(self, diagnostics="Resource has been deleted"):
        super().__init__(410, diagnostics, code="deleted")


class Forbidden(FhirError):
    def __init__(self, diagnostics="Access denied"):
        super().__init__(403, diagnostics, code="forbidden")


class PreconditionFailed(FhirError):
    def __init__(self, diagnostics):
        super().__init__(412, diagnostics, code="conflict")


def operation_outcome(issues):
    return {"resourceType": "OperationOutcome", "issue": issues}


def information_outcome(text):
    return operation_outcome(
        [{"severity": "information", "code": "informational", "diagnostics": text}]
    )
