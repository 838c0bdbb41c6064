"""Writing the health-data audit trail.

Every read and write of health data through the FHIR API, the record pages and the staff
screens ends in `AuditTrail.flush()`. Writes are audited inside the same database
transaction as the data, so a rolled-back write leaves no audit row and a committed one
always has its row.
"""

from collections import defaultdict

from django.utils import timezone

from .models import AuditEvent


class AuditTrail:
    """Collects audit entries for one request and writes them in one INSERT.

    Entries touching many resources of one patient with the same action (a search page, a
    transaction Bundle) are folded into one row with a count, so the trail stays readable
    for residents and an import of thousands of resources does not write thousands of rows.
    """

    def __init__(self, requester):
        self.requester = requester
        self._single = []
        self._folded = defaultdict(int)

    def add(self, action, resource_type, resource_id="", patient_id="", detail=""):
        """One access to one resource."""
        self._single.append((action, resource_type, resource_id, patient_id or "", detail))

    def add_many(self, action, resource_type, patient_id, count=1, detail=""):
        """Accesses to `count` resources of one type in one patient's compartment."""
        self._folded[(action, resource_type, patient_id or "", detail)] += count

    def flush(self):
        """Write the collected entries; returns the number of rows written."""
        now = timezone.now()
        requester = self.requester
        common = {
            "occurred_at": now,
            "user": getattr(requester, "user", None),
            "token": getattr(requester, "token", None),
            "actor": requester.label[:150],
            "role": requester.kind,
        }
        rows = [
            AuditEvent(
                **common,
                action=action,
                resource_type=rtype,
                resource_id=rid,
                patient_id=pid,
                detail=detail[:500],
            )
            for action, rtype, rid, pid, detail in self._single
        ]
        rows += [
            AuditEvent(
                **common,
                action=action,
                resource_type=rtype,
                patient_id=pid,
                count=count,
                detail=detail[:500],
            )
            for (action, rtype, pid, detail), count in self._folded.items()
        ]
        self._single, self._folded = [], defaultdict(int)
        if rows:
            AuditEvent.objects.bulk_create(rows)
        return len(rows)
