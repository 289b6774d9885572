"""Fixtures for the digest tests; the caseload itself is in digest_caseload.py."""

from __future__ import annotations

import pytest

from escalation.digest.records import DigestRecords

from .digest_caseload import hand_built_records


@pytest.fixture
def records() -> DigestRecords:
    return hand_built_records()
