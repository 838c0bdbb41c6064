"""Who makes a change: the resident the object belongs to, staff whose scope holds it, or the
system (a job, the consequence of another change, another system through an API)."""

from dataclasses import dataclass

RESIDENT, STAFF, SYSTEM = "resident", "staff", "system"


@dataclass(frozen=True)
class System:
    """A change no person made directly: a scheduled job, the consequence of another change,
    an API client. `user` is whoever set it off, when someone did."""

    label: str
    user: object = None
