"""What enforcement does when a lower app records a fact (``meadow.core.outbox``): a media-scan finding becomes a
violation. Runs once per fact, in order, after the owner's commit. Registered in ``EnforcementConfig.ready``."""

from __future__ import annotations

from meadow.core.models import OutboxEvent
from meadow.enforcement.services import enforcement_record_finding
from meadow.moderation.models import ModerationFinding
from meadow.moderation.services import finding_evidence


def finding_reported(event: OutboxEvent) -> None:
    """An adult/redirect/plagiarism finding of the media scan is recorded as a violation (which may take the note
    down)."""
    finding = ModerationFinding.objects.select_related("note").filter(pk=event.payload["finding_id"]).first()
    if finding is None:
        return  # its note was deleted meanwhile
    enforcement_record_finding(
        obj=finding.note,
        category=finding.category,
        evidence=finding_evidence(finding),
        severity=finding.severity,
        source="system",
    )
