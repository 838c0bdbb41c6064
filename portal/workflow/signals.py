"""Sent by `transition()` after a status change is written, in its transaction:
`transitioned(sender=<model>, change=<Change>)`.
My page drops the resident's cached panels on it (portal/mypage/panels.py)."""

from django.dispatch import Signal

transitioned = Signal()
