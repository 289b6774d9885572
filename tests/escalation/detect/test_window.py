"""Risk across a conversation: what the latest message shows only together with the ones before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalation.detect import rules_only
from escalation.detect.window import WindowItem, assess_window

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
assess = rules_only().assess


def mentee(text: str, minutes_ago: float) -> WindowItem:
    return WindowItem(at=NOW - timedelta(minutes=minutes_ago), text=text)


def staff(text: str, minutes_ago: float) -> WindowItem:
    return WindowItem(at=NOW - timedelta(minutes=minutes_ago), text=text, from_mentee=False, from_staff=True)


def mood(score: int, hours_ago: float) -> WindowItem:
    return WindowItem(at=NOW - timedelta(hours=hours_ago), mood=score)


def window(*items: WindowItem) -> list[tuple[str, str]]:
    latest = assess(items[-1].text)
    return [(f.category, f.rule_id.split(".")[0]) for f in assess_window(list(items), latest, assess, NOW)]


def test_a_risk_spread_over_two_texts_is_seen_when_the_second_arrives() -> None:
    first, second = "got my dads old belt", "theres a beam in the garage"
    assert assess(first).findings == () and assess(second).findings == ()
    found = assess_window([mentee(first, 20), mentee(second, 1)], assess(second), assess, NOW)
    assert [(f.category, f.rule_id) for f in found] == [("crisis", "window.crisis.ligature")]


def test_what_one_message_already_raised_is_not_raised_again() -> None:
    found = window(mentee("got nowhere to sleep tonight", 30), mentee("anyway how are you", 1))
    assert found == []


def test_messages_too_old_to_belong_together_are_not_joined() -> None:
    latest = "its a section 21"
    items = [mentee("landlord gave me a letter", 60 * 5), mentee(latest, 1)]
    assert all(f.rule_id != "window" for f in assess_window(items, assess(latest), assess, NOW))


def test_yes_to_a_staff_question_about_self_harm_is_a_crisis_and_urgent() -> None:
    found = assess_window([staff("Are you thinking of hurting yourself?", 5), mentee("yeah a bit", 1)],
                          assess("yeah a bit"), assess, NOW)
    assert [(f.category, f.severity) for f in found] == [("crisis", "urgent")]
    assert "hurting yourself" in found[0].evidence and "yeah a bit" in found[0].evidence


def test_no_to_a_staff_question_about_safety_says_where_the_danger_is() -> None:
    def answer(question: str, reply: str) -> list[str]:
        return [f.category for f in assess_window([staff(question, 5), mentee(reply, 1)], assess(reply), assess, NOW)]

    assert answer("Are you safe at home tonight?", "no") == ["domestic_abuse"]
    assert answer("Have you got somewhere safe to sleep tonight?", "not really") == ["housing"]
    assert answer("Are you safe right now?", "no") == ["crisis"]


def test_a_no_to_a_risk_question_or_a_yes_to_a_safety_question_raises_nothing() -> None:
    for question, reply in (("Are you thinking of hurting yourself?", "no not at all"),
                            ("Are you safe at home?", "yes im fine"),
                            ("Did you get to the job centre?", "no")):
        items = [staff(question, 5), mentee(reply, 1)]
        assert assess_window(items, assess(reply), assess, NOW) == []


def test_an_answer_after_the_mentee_has_moved_on_is_not_read_against_the_question() -> None:
    items = [staff("Are you thinking of hurting yourself?", 30), mentee("just got in from work", 20),
             mentee("yeah", 1)]
    assert assess_window(items, assess("yeah"), assess, NOW) == []


def test_low_check_in_scores_and_a_despairing_note_count_together() -> None:
    items = [mood(2, 20), mentee("whats the point in any of it", 1)]
    found = assess_window(items, assess("whats the point in any of it"), assess, NOW)
    assert [(f.category, f.severity, f.rule_id) for f in found] == [("crisis", "concern", "window.low-mood-despair")]


def test_a_despairing_note_after_good_scores_or_a_low_score_alone_raises_nothing() -> None:
    note = "whats the point in any of it"
    assert assess_window([mood(4, 20), mentee(note, 1)], assess(note), assess, NOW) == []
    assert assess_window([mood(1, 20), mentee("bit tired today", 1)], assess("bit tired today"), assess, NOW) == []
