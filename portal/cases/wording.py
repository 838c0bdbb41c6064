"""What a resident reads for a case's status: the service's own wording, else the default
of the public status vocabulary (statuses.py)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusWording:
    status: str  # PublicStatus value
    label: str
    next_step: str
    tone: str


def status_wording(case, texts=None):
    """What the resident reads for the case's status: the service's own wording where it has
    one, else the default. `texts` may be the service's StatusText rows, read in bulk."""
    from .models import localized
    from .statuses import DEFAULT_NEXT_STEP, TAG_TONE, PublicStatus

    status = PublicStatus(case.public_status)
    if texts is None:
        texts = [t for t in case.service.status_texts.all() if t.status == status]
    own = next((t for t in texts if t.status == status), None)
    label = (own and localized(own, "label")) or status.label
    next_step = (own and localized(own, "next_step")) or DEFAULT_NEXT_STEP[status]
    return StatusWording(status.value, str(label), str(next_step), TAG_TONE[status])
