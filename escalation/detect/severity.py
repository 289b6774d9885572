"""Severity that matches the words: when a crisis finding is urgent, and when it is an emergency.

Pure functions over a message's findings and its text. Context (negation, the past, someone
else, idioms) has already dropped what does not apply, so these only ever raise a severity.

Urgent (a same-day human response):
- the message says it is for now ("tonight", "right now") or names killing oneself outright;
- self-harm already done ("cut my arms last night", "burnt myself again"), not only an urge;
- a wish to die said together with self-harm;
- means together with a plan ("got the rope, know when").
An *emergency* is an overdose or poisoning already taken and not in the past: the mentee is told
to call 999 or go to A&E first, before anything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the detector imports this module
    from escalation.detect.detector import Finding

NOW = re.compile(
    r"\b(?:to\s?night|tonite|tnite|2nite|2night|right now|rite now|rn|to\s?day|2day|this (?:evening|afternoon)"
    r"|before (?:the )?morning|in a (?:bit|min|minute)|any minute)\b",
    re.IGNORECASE,
)
EXPLICIT = re.compile(
    r"\b(?:kill(?:ing)? (?:my\s?self|me\s?self|myslf|masel[f]?)|kms|end(?:ing)? (?:my|me) (?:own )?life"
    r"|take (?:my|me) (?:own )?life|suicid\w*)\b",
    re.IGNORECASE,
)
SELF_HARM_RULES = frozenset({"crisis.self-harm", "crisis.self-harm-again"})
WISH_RULES = frozenset({
    "crisis.death-wish", "crisis.passive-wish", "crisis.ideation", "crisis.hopeless", "crisis.favour-death",
    "crisis.finality", "crisis.intent", "crisis.intent-conditional", "crisis.death-question",
})
MEANS_RULES = frozenset({"crisis.means-thinking", "crisis.saving-them-up", "crisis.means", "crisis.means-hidden",
                         "crisis.means-saved-up", "crisis.means-ready"})
# Self-harm done, not only thought of: a past-tense act, or doing it "again" / "been ...ing".
SELF_HARM_DONE = re.compile(
    r"\b(?:cut|slashed|sliced|burnt|burned|scratched|carved|punched|banged|harmed|hurt|bit|scalded)"
    r" (?:my|me|myself|my self|into)\b"
    r"|\b(?:been|started|was|were|back to|keep|kept) (?:cutting|burning|self harming|harming myself|hurting myself)"
    r"|\bself harmed\b|\b(?:cutting|burning|self harming) again\b",
    re.IGNORECASE,
)
ONLY_AN_URGE = re.compile(r"\b(?:urges?|want(?:ed)? to|wanna|feel like|felt like|tempted|thinking (?:of|about))\b",
                          re.IGNORECASE)
PLAN_WORDS = re.compile(
    r"\b(?:plan(?:ned)?|know (?:how|when|where)|worked out|decided|ready|when (?:she|he|they)'s? (?:out|gone|asleep)"
    r"|this weekend|tomorrow|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    re.IGNORECASE,
)
# An overdose in the past ("last week", "years ago") is not a 999 call now.
LONG_AGO = re.compile(
    r"\b(?:last (?:week|month|year)|(?:weeks?|months?|years?) ago|when i was|back in|in (?:19|20)\d\d)\b",
    re.IGNORECASE,
)


def _urgent(finding: Finding) -> Finding:
    return finding if finding.severity == "urgent" else replace(finding, severity="urgent")


def adjust(findings: Iterable[Finding], text: str) -> list[Finding]:
    """The findings with crisis severity raised where the words call for it (see module doc)."""
    findings = list(findings)
    crisis = [f for f in findings if f.category == "crisis"]
    if not crisis or all(f.severity == "urgent" for f in crisis):
        return findings
    rules = {f.rule_id for f in crisis}
    raise_all = bool(NOW.search(text) or EXPLICIT.search(text))
    self_harm = bool(rules & SELF_HARM_RULES)
    if self_harm and SELF_HARM_DONE.search(text) and not (ONLY_AN_URGE.search(text) and not _past_act(text)):
        raise_all = True
    if self_harm and rules & WISH_RULES:
        raise_all = True
    if rules & MEANS_RULES and PLAN_WORDS.search(text):
        raise_all = True
    if not raise_all:
        return findings
    return [_urgent(f) if f.category == "crisis" else f for f in findings]


def _past_act(text: str) -> bool:
    """A clearly reported act ("cut my arm last night") even beside urge words."""
    return re.search(r"\b(?:last night|earlier|this morning|yesterday|just now|again)\b", text, re.IGNORECASE) is not None


# Taking too much, in words the overdose rules may not know ("took the lot", "necked them all").
TAKEN_TOO_MUCH = re.compile(
    r"\b(?:took|taken|swallowed|necked|downed|had|done|have taken|just took)"
    r" (?:the (?:whole )?lot|them all|all of them|all (?:my|me|the|of my)|loads|a load|too many|too much"
    r"|everything|the whole|a (?:box|packet|strip|bottle)|\d{2,}|\d+ of|twenty|thirty|forty)\b"
    r"|\b(?:overdosed|od'd|odd on|overdose)\b",
    re.IGNORECASE,
)


_PLANNED = re.compile(r"\b(?:thinking (?:of|about)|going to|gonna|want to|wanna|tempted to|might|planning to|about to)"
                      r" (?:\w+ )?$", re.IGNORECASE)


def is_emergency(findings: Iterable[Finding], text: str) -> bool:
    """An overdose or poisoning already taken (said in the past tense: "took", "have taken",
    "overdosed"), not long ago and not a plan: 999 or A&E comes first."""
    if not any(f.category == "crisis" for f in findings) or LONG_AGO.search(text):
        return False
    return any(not _PLANNED.search(text[: m.start()]) for m in TAKEN_TOO_MUCH.finditer(text))
