"""Signals of the FHIR layer, for the apps above it (which register, never get imported).

`compartments_written(sender=AuditTrail, patient_ids=frozenset)`: the store wrote (created,
updated, deleted) resources in these patients' compartments; sent by the audit trail when it
writes the audit rows of writes, inside the writing transaction, so it covers every write path
(forms, API, Bundles, imports, tasks). Receivers that act on committed data use
`transaction.on_commit`.
"""

from django.dispatch import Signal

compartments_written = Signal()
