"""The health-data audit trail, written by the store itself.

Every read and write through the FHIR layer (store.py, search.py, operations.py, bundles.py,
projections.py) records what it did on the requester's trail (`requester.audit`); callers
never add audit rows themselves. When rows are written:

- A write is audited inside its own database transaction: a rolled-back write leaves no
  audit row and a committed one always has its row. Nested writes (the entries of a
  transaction Bundle) are written once, by the outermost write, in one INSERT.
- A read is written at once, unless the caller has opened `requester.audit.collecting()`
  (an API request, a record page): then all reads of that block go into one INSERT at its
  end, folded per patient and type. Forgetting to collect costs statements, never a row.

Accesses to many resources of one patient with the same action (a search page, a Bundle)
are folded into one row with a count, so the trail stays readable for residents and an
import of thousands of resources does not write thousands of rows.
"""

from collections import defaultdict
from contextlib import contextmanager

from django.db import connections, router
from django.db.models import AutoField
from django.utils import timezone

from .models import AuditEvent
from .signals import compartments_written

WRITES = frozenset({"create", "update", "delete"})


class AuditTrail:
    """The audit entries of one requester, written as described in the module docstring."""

    def __init__(self, requester):
        self.requester = requester
        # (action, type, id, patient, detail, count); id None for folded entries.
        self._entries = []
        self._collecting = 0
        self._writing = 0

    # -- recording (called by the FHIR layer only) ---------------------------------------------

    def add(self, action, resource_type, resource_id="", patient_id="", detail=""):
        """One access to one resource."""
        self._entries.append(
            (action, resource_type, resource_id or "", patient_id or "", detail, 1)
        )
        self._settle()

    def add_many(self, action, resource_type, patient_id, count=1, detail=""):
        """Accesses to `count` resources of one type in one patient's compartment."""
        self._entries.append((action, resource_type, None, patient_id or "", detail, count))
        self._settle()

    def add_resources(self, action, resources, resource_type, detail=""):
        """Accesses to a list of resources (rows with resource_type and patient_id), folded
        per patient and type; one row for the type when none is in a compartment."""
        touched = False
        for resource in resources:
            if resource.patient_id:
                self._entries.append(
                    (action, resource.resource_type, None, resource.patient_id, detail, 1)
                )
                touched = True
        if not touched:
            self._entries.append((action, resource_type, "", "", detail, 1))
        self._settle()

    def _settle(self):
        if not self._collecting and not self._writing:
            self.flush()

    # -- scopes -------------------------------------------------------------------------------

    @contextmanager
    def collecting(self):
        """Hold read entries until the outermost block ends, then write them in one INSERT.

        Entries recorded in a block that raises are dropped: the caller returned nothing.
        """
        mark = len(self._entries)
        self._collecting += 1
        try:
            yield self
        except BaseException:
            self._collecting -= 1
            del self._entries[mark:]
            raise
        self._collecting -= 1
        self._settle()

    @contextmanager
    def writing(self):
        """The audit of a write: call inside the write's `transaction.atomic()`.

        The outermost write block writes every pending entry before its transaction
        commits; a block that raises drops its entries with the rolled-back data.
        """
        mark = len(self._entries)
        self._writing += 1
        try:
            yield self
        except BaseException:
            self._writing -= 1
            del self._entries[mark:]
            raise
        self._writing -= 1
        if not self._writing:
            self.flush()

    # -- writing ------------------------------------------------------------------------------

    def flush(self):
        """Write the pending entries now; returns the number of rows written."""
        if not self._entries:
            return 0
        requester = self.requester
        now = timezone.now()
        common = {
            "occurred_at": now,
            "user": getattr(requester, "user", None),
            "token": getattr(requester, "token", None),
            "actor": requester.label[:150],
            "role": requester.kind,
            "app": (getattr(requester, "app", "") or "")[:150],
        }
        rows = []
        folded = defaultdict(int)
        for action, rtype, rid, pid, detail, count in self._entries:
            if rid is None:
                folded[(action, rtype, pid, detail)] += count
            else:
                rows.append(
                    AuditEvent(
                        **common,
                        action=action,
                        resource_type=rtype,
                        resource_id=rid[:64],
                        patient_id=pid[:64],
                        detail=detail[:500],
                    )
                )
        rows += [
            AuditEvent(
                **common,
                action=action,
                resource_type=rtype,
                patient_id=pid[:64],
                count=count,
                detail=detail[:500],
            )
            for (action, rtype, pid, detail), count in folded.items()
        ]
        written = frozenset(
            pid for action, _t, _i, pid, _d, _c in self._entries if pid and action in WRITES
        )
        self._entries = []
        _insert(rows)
        if written:
            compartments_written.send(sender=AuditTrail, patient_ids=written)
        return len(rows)


def _insert(rows):
    """Write the rows in one INSERT. Outside a transaction it is sent alone, as a model's save()
    sends its INSERT: bulk_create() would wrap it in a BEGIN and a COMMIT, two more round
    trips for a statement that is atomic by itself. Rows beyond one batch of the database's
    (SQLite's parameter limit) go through bulk_create(), in one transaction."""
    alias = router.db_for_write(AuditEvent)
    connection = connections[alias]
    fields = [
        f
        for f in AuditEvent._meta.concrete_fields
        if not isinstance(f, AutoField) and not f.generated
    ]
    if connection.in_atomic_block or connection.ops.bulk_batch_size(fields, rows) < len(rows):
        AuditEvent.objects.using(alias).bulk_create(rows)
        return
    for row in rows:
        row._prepare_related_fields_for_save(operation_name="bulk_create")
    AuditEvent._base_manager.using(alias)._insert(rows, fields=fields, using=alias)
