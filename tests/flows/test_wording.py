"""The wording catalogue: checked like flow files, and a Welsh mentee gets Welsh end to end."""

from __future__ import annotations

import pytest

from bot.app import matching, mentees
from bot.wording.catalogue import CATALOGUES, catalogue, problems
from tests.bot.app.conftest import SAM_PHONE, World
from tests.conftest import RecordingPhone

ENGLISH = catalogue("en").texts


def one(text: str) -> list[str]:
    return problems(text, "cy.toml", ENGLISH)


def test_the_shipped_catalogues_pass() -> None:
    for path in sorted(CATALOGUES.glob("*.toml")):
        ref = None if path.stem == "en" else ENGLISH
        assert problems(path.read_text(encoding="utf-8"), path.name, ref) == []


def test_a_text_that_would_cost_two_segments_is_refused() -> None:
    long = "x" * 140
    [problem] = one(f'[texts]\nhelp = "This is {{org}}. {long}"\n')
    assert problem == "cy.toml:2: help: would cost 2 SMS segments with long names, 1 allowed"


def test_a_text_allowed_two_segments_says_so() -> None:
    long = "x" * 140
    assert one(f'[texts]\nhelp = "This is {{org}}. {long}"\n[segments]\nhelp = 2\n') == []


@pytest.mark.parametrize(("text", "expected"), [
    ('[texts]\nhelp = "Hi {surname}"\n', "cy.toml:2: help: unknown placeholder {surname}"),
    ('[texts]\nmedia_only = "Hi {org}"\n', "cy.toml:2: media_only: uses a placeholder the English text does not"),
    ('[texts]\nhelp = "Croeso i\u2019r gwasanaeth"\n', "cy.toml:2: help: characters outside GSM-7"),
    ('[texts]\nhelo = "Helo"\n', "cy.toml:2: helo: not a key in the English catalogue"),
])
def test_each_bad_text_is_one_line_naming_file_line_and_key(text: str, expected: str) -> None:
    [problem] = one(text)
    assert problem.startswith(expected)


def test_a_welsh_mentee_gets_the_welsh_check_in_and_help(world: World) -> None:
    matching.set_mentee_facts(world.svc, world.operator, world.sam, matching.MenteeFactChanges(language="cy"))
    mentees.start_checkin(world.svc, world.operator, world.sam)
    world.settle()
    world.text(SAM_PHONE, "ofnadwy")
    world.text(SAM_PHONE, "4")
    phone = world.svc.channels["console"]
    assert isinstance(phone, RecordingPhone)
    sent = phone.texts_for(SAM_PHONE)
    assert sent[0].startswith("Helo Sam, dyma eich sgwrs wythnosol.")
    assert sent[1] == "Sori, doeddwn i ddim yn deall. Atebwch gyda rhif o 1 i 5."
    assert sent[2].startswith("Sut ydych chi wedi bod yn cysgu?")
    world.text(SAM_PHONE, "HELP")
    assert any(t.startswith("Dyma your mentoring service. Eich mentor: Dan") for t in phone.texts_for(SAM_PHONE))


def test_the_discreet_guard_keeps_the_numbers_and_drops_the_words() -> None:
    from escalation.replies import ReplySettings, mentee_ack_reply, mentee_safety_reply

    from bot.wording.discreet import discreet_text, giveaways

    settings = ReplySettings()
    da, = mentee_safety_reply({"domestic_abuse"}, settings)
    assert discreet_text(da, "Northside Mentoring") == "In an emergency call 999. Free, any time: 0808 2000 247."
    for text in mentee_safety_reply({"crisis", "housing"}, settings) + mentee_ack_reply(settings):
        assert giveaways(discreet_text(text, "Northside Mentoring"), "Northside Mentoring") == []
    assert discreet_text("Your check-in is ready, Sam.", "Northside") == "Your check-in is ready, Sam."
    assert discreet_text("This is Northside. Text CHECKIN.", "Northside").startswith("Text CHECKIN")


def test_every_catalogue_key_the_code_names_exists_in_english() -> None:
    """A text named in Python but missing from en.toml would fail only when first sent: every
    `.text("key")`, `staff_text("key")` and `render("name")` literal must resolve now."""
    import re
    from pathlib import Path

    from escalation.replies import TEXTS

    root = Path(__file__).resolve().parents[2]
    english = catalogue("en").texts
    named: set[str] = set()
    for path in [*(root / "bot").rglob("*.py"), *(root / "escalation").rglob("*.py")]:
        source = path.read_text(encoding="utf-8")
        named |= set(re.findall(r'\.text\("([a-z0-9_.]+)"', source))
        named |= {f"staff.{k}" for k in re.findall(r'staff_text\(\s*["\']([a-z0-9_.]+)["\']', source)}
    named |= {f"safety.{name}" for name in TEXTS}
    assert len(named) > 40
    assert sorted(k for k in named if k not in english) == []


def test_the_discreet_guard_speaks_the_mentee_language_and_gives_nothing_away() -> None:
    from escalation.replies import ReplySettings, mentee_ack_reply, mentee_safety_reply

    from bot.wording.discreet import discreet_text, giveaways

    settings = ReplySettings()
    org = "Northside Mentoring"
    for cats in ({"crisis"}, {"housing"}, {"domestic_abuse"}, {"crisis", "housing"}):
        for text in mentee_safety_reply(cats, settings, language="cy"):
            assert giveaways(discreet_text(text, org, "cy"), org) == [], text
    (ack,) = mentee_ack_reply(settings, "cy")
    assert discreet_text(ack, org, "cy") == catalogue("cy").text("safety.acknowledgement_discreet", emergency="999")
    (da,) = mentee_safety_reply({"domestic_abuse"}, settings, language="cy")
    assert discreet_text(da, org, "cy") == "Mewn argyfwng ffoniwch 999. Am ddim, unrhyw bryd: 0808 2000 247."
    assert giveaways(discreet_text("Dyma Northside Mentoring. Anfonwch HELP.", org, "cy"), org) == []
