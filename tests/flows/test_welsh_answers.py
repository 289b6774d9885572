"""Welsh answers are understood like English ones: the words are data (cy.toml [answers]),
checked like the rest of the catalogue, and reach the engine through the mentee's language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import matching, mentees
from bot.engine.answers import parse_scale, parse_yes_no
from bot.engine.keywords import is_keyword_alone, keyword_of
from bot.storage.models import Alert, Answer, Mentee
from bot.wording.catalogue import answer_words, catalogue, problems
from tests.bot.app.conftest import SAM_PHONE, World
from tests.conftest import RecordingPhone

WELSH = answer_words("cy")


@pytest.mark.parametrize(("text", "value"), [
    ("ie", "yes"), ("Oes", "yes"), ("ydw", "yes"), ("Do", "yes"), ("ydw i", "yes"),
    ("Oes, diolch", "yes"), ("iawn", "yes"),
    ("na", "no"), ("Nac oes", "no"), ("nac ydw", "no"), ("Naddo", "no"), ("nac oes, diolch", "no"),
    ("dim o gwbl", "no"), ("nagoes", "no"),
    ("dwn i ddim", "dont_know"), ("Dim syniad", "dont_know"), ("falle", "dont_know"),
    ("yes", "yes"), ("no", "no"), ("dunno", "dont_know"),  # English still counts
])
def test_welsh_yes_no_and_dont_know(text: str, value: str) -> None:
    parsed = parse_yes_no(text, WELSH)
    assert parsed is not None and parsed.value == value


@pytest.mark.parametrize("text", ["ie na", "oes dim"])
def test_a_contradictory_welsh_reply_is_asked_again_not_guessed(text: str) -> None:
    assert parse_yes_no(text, WELSH) is None


def test_welsh_words_mean_nothing_to_an_english_reader() -> None:
    """English mentees keep English parsing: "do" alone is not a yes for them."""
    for text in ("ie", "oes", "ydw", "do", "nac oes", "naddo"):
        assert parse_yes_no(text) is None, text
    assert parse_scale("dwn i ddim", extra=WELSH).value == "dont_know"  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "keyword"), [
    ("STOPIO", "stop"), ("stopio plis", "stop"), ("Dim mwy", "stop"), ("dad-danysgrifio", "stop"),
    ("STOP", "stop"), ("DECHRAU", "start"), ("cymorth", "help"), ("HELP", "help"),
])
def test_welsh_keywords(text: str, keyword: str) -> None:
    assert keyword_of(text, language="cy") == keyword
    if text.lower() not in ("stop", "help"):
        assert keyword_of(text) is None  # not a keyword for an English mentee
        assert not is_keyword_alone(text)  # not a carrier keyword: the service confirms it


def test_stopio_in_a_sentence_is_a_message_not_an_opt_out() -> None:
    assert keyword_of("stopio ar ol cinio?", language="cy") is None


@pytest.mark.parametrize(("answers", "says"), [
    ('[answers]\nyes = ["ie"]\nno = ["ie"]\n', "'ie' is also in answers.yes"),
    ('[answers]\nmaybe = ["efallai"]\n', "answers.maybe: unknown"),
    ('[answers]\nyes = "ie"\n', "must be a list of words"),
    ('[answers]\nyes = ["IE"]\n', "write 'IE' as 'ie'"),
])
def test_a_bad_answers_table_is_one_line(answers: str, says: str) -> None:
    [problem] = problems(answers, "cy.toml", catalogue("en").texts)
    assert problem.startswith("cy.toml:1: answers.") and says in problem


def _welsh_sam(world: World) -> None:
    matching.set_mentee_facts(world.svc, world.operator, world.sam,
                              matching.MenteeFactChanges(language="cy"))


def test_a_welsh_mentee_answers_in_welsh_end_to_end(world: World) -> None:
    """Over the service: "nac oes" to somewhere safe tonight raises the urgent housing alert
    and the Welsh helpline text; every answer is stored with its value."""
    _welsh_sam(world)
    mentees.start_checkin(world.svc, world.operator, world.sam)
    world.settle()
    for reply in ("4", "3", "Nac oes"):
        world.text(SAM_PHONE, reply)
    phone = world.svc.channels["console"]
    assert isinstance(phone, RecordingPhone)
    sent = phone.texts_for(SAM_PHONE)
    assert any(t.startswith("Cyngor tai am ddim: Shelter 0808 800 4444") for t in sent), sent
    with world.svc.sessions() as s:
        values = [a.value for a in s.scalars(select(Answer).order_by(Answer.id))]
        alert = s.scalars(select(Alert)).one()
    assert values == ["4", "3", "no"]
    assert (alert.category, alert.severity) == ("housing", "urgent")


def test_stopio_opts_a_welsh_mentee_out_with_a_welsh_confirmation(world: World) -> None:
    _welsh_sam(world)
    world.text(SAM_PHONE, "STOPIO")
    with world.svc.sessions() as s:
        assert s.get(Mentee, world.sam).status == "opted_out"  # type: ignore[union-attr]
    phone = world.svc.channels["console"]
    assert isinstance(phone, RecordingPhone)
    assert phone.texts_for(SAM_PHONE)[-1] == catalogue("cy").text("opted_out")
    world.text(SAM_PHONE, "DECHRAU")
    with world.svc.sessions() as s:
        assert s.get(Mentee, world.sam).status == "active"  # type: ignore[union-attr]


def test_an_english_mentee_texting_stopio_is_not_opted_out(world: World) -> None:
    world.text(SAM_PHONE, "STOPIO")
    with world.svc.sessions() as s:
        assert s.get(Mentee, world.sam).status == "active"  # type: ignore[union-attr]


def test_a_code_word_cannot_be_a_welsh_keyword(world: World) -> None:
    from bot.app import safety
    from bot.app.errors import InvalidInput

    with pytest.raises(InvalidInput, match="service keyword"):
        safety.change(world.svc, world.operator, world.sam, safety.SafetyChanges(code_word="stopio"))


def test_the_engine_words_come_from_the_flow_language_catalogue() -> None:
    """Buttons, the stale-button and carry-on prefixes and the re-asks: catalogue texts, in the
    flow's language (English ones unchanged)."""
    from bot.engine import Reply, Start, step
    from bot.engine.core import buttons_for
    from bot.flows import SHIPPED

    welsh, english = SHIPPED.get("weekly", "cy"), SHIPPED.get("weekly")
    want_call = welsh.question("want_call")
    assert [label for label, _ in buttons_for(want_call, welsh.words)] == ["Ie", "Na"]
    assert [label for label, _ in buttons_for(english.question("want_call"), english.words)] == ["Yes", "No"]
    assert english.reask["yes_no"] == "Sorry, we didn't get that. Please reply YES or NO."
    from datetime import UTC, datetime

    now = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)
    started = step(welsh, None, Start("Gwen"), now)  # type: ignore[arg-type]
    moved = step(welsh, started.state, Reply("4"), now)
    stale = step(welsh, moved.state, Reply("mood=2"), now)
    assert stale.effects[0].text.startswith("Roedd y botwm hwnnw ar gyfer cwestiwn cynharach. ")  # type: ignore[attr-defined]
