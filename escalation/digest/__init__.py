"""Weekly engagement digest: pure figures from plain records, rendered to HTML, text and CSV, sent by email."""

from escalation.digest.figures import Digest, DigestRules, mentor_digest, supervisor_digest
from escalation.digest.records import (
    AlertRecord,
    CheckinRecord,
    DigestRecords,
    LastContact,
    Mentee,
    Mentor,
    Supervisor,
)
from escalation.digest.render import RenderedDigest, render
from escalation.digest.week import LONDON, Week, parse_week

__all__ = [
    "LONDON",
    "AlertRecord",
    "CheckinRecord",
    "Digest",
    "DigestRecords",
    "DigestRules",
    "LastContact",
    "Mentee",
    "Mentor",
    "RenderedDigest",
    "Supervisor",
    "Week",
    "mentor_digest",
    "parse_week",
    "render",
    "supervisor_digest",
]
