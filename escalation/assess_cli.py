"""``checkins assess``: risk-check messages from stdin, one JSON result per line on stdout.

Input: one message per line, either plain text or a JSON object with a ``text`` field and,
for a reply inside a check-in, the ``question`` it answers (other fields such as ``id`` are
passed through). A line that starts with ``{`` but is
not valid JSON is plain text. Blank lines give a result with no risks, so output line N
always answers input line N.

Output per line: ``{"text", "risks", "severity", "evidence", "findings", "failed"}``; with
``--explain`` also ``"explain"``: every rule match (kept or set aside by context, and why) and
the learned layer's score for each category.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from escalation.detect import DEFAULT, Assessment, assess


def _parse(line: str) -> tuple[Any, dict[str, Any]]:
    """The text to assess and any fields to pass through."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            return line, {}
        if isinstance(obj, dict) and "text" in obj:
            extra = {k: v for k, v in obj.items() if k not in _OUTPUT_KEYS}
            return obj["text"], extra
    return line, {}


_OUTPUT_KEYS = frozenset({"text", "risks", "severity", "evidence", "findings", "failed", "explain"})


def result(text: Any, assessment: Assessment, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-ready record for one assessed message."""
    evidence: list[str] = []
    for f in assessment.findings:
        if f.evidence not in evidence:
            evidence.append(f.evidence)
    return {
        **(extra or {}),
        "text": text,
        "risks": assessment.risks,
        "severity": assessment.severity(),
        "evidence": evidence,
        "findings": [
            {"category": f.category, "severity": f.severity, "evidence": f.evidence, "rule_id": f.rule_id}
            for f in assessment.findings
        ],
        "failed": assessment.failed,
    }


def _question(extra: dict[str, Any]) -> str | None:
    question = extra.get("question")
    return question if isinstance(question, str) and question.strip() else None


def explanation(text: str, question: str | None = None) -> list[dict[str, Any]]:
    """The detector's trace of ``text`` as JSON-ready records."""
    detector = DEFAULT
    if detector is None or not isinstance(text, str):
        return []
    return [
        {"rule_id": t.rule_id, "category": t.category, "severity": t.severity, "evidence": t.evidence,
         "kept": t.kept, "modifiers": sorted(t.modifiers), **({"score": t.score} if t.score is not None else {})}
        for t in detector.explain(text, question)
    ]


def run(stdin: TextIO, stdout: TextIO, *, explain: bool = False) -> int:
    """Assess every line of ``stdin`` and write one JSON line per input line to ``stdout``."""
    for raw in stdin:
        line = raw[:-1] if raw.endswith("\n") else raw
        line = line[:-1] if line.endswith("\r") else line
        if not line.strip():
            record = result(line, Assessment(findings=()))
        else:
            text, extra = _parse(line)
            question = _question(extra)
            record = result(text, assess(text, question), extra)
            if explain:
                record["explain"] = explanation(text, question)
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        stdout.flush()
    return 0
