"""Sent by `transition()` after a status change is written, in its transaction:
`transitioned(sender=<model>, change=<Change>)`; and by `record_unchanged()` after a bulk job
wrote history rows for steps that keep the state (a due date a calendar change moved), in its
transaction: `recorded_unchanged(sender=StateChange, changes=[<StateChange>, ...])`.
My page drops the resident's cached panels on both (portal/mypage/panels.py)."""

from django.dispatch import Signal

transitioned = Signal()
recorded_unchanged = Signal()
