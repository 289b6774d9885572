"""`checkins assess`: one JSON line out per line in, in order."""

from __future__ import annotations

import io
import json

from escalation.assess_cli import run


def assess_lines(text: str) -> list[dict]:
    out = io.StringIO()
    assert run(io.StringIO(text), out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_plain_lines_are_assessed_in_order() -> None:
    results = assess_lines("all good\ngot nowhere to sleep tonight\ni want to die\n")
    assert [r["text"] for r in results] == ["all good", "got nowhere to sleep tonight", "i want to die"]
    assert [r["risks"] for r in results] == [[], ["housing"], ["crisis"]]
    assert results[1]["severity"] == {"housing": "urgent"}
    assert results[1]["evidence"] == ["got nowhere to sleep"]


def test_json_lines_use_the_text_field_and_keep_other_fields() -> None:
    results = assess_lines('{"id": "m1", "text": "he strangled me"}\n')
    assert results[0]["id"] == "m1"
    assert results[0]["text"] == "he strangled me"
    assert results[0]["risks"] == ["domestic_abuse"]
    assert results[0]["findings"][0]["rule_id"] == "da.strangulation"


def test_a_malformed_json_line_is_treated_as_plain_text() -> None:
    results = assess_lines('{i want to die\n')
    assert results[0]["text"] == "{i want to die"
    assert results[0]["risks"] == ["crisis"]


def test_blank_lines_keep_the_line_count() -> None:
    results = assess_lines("i want to die\n\n   \nsleeping rough\n")
    assert len(results) == 4
    assert results[1]["risks"] == [] and results[2]["risks"] == []
    assert results[3]["risks"] == ["housing"]


def test_a_json_text_that_is_not_a_string_fails_closed() -> None:
    result = assess_lines('{"text": 12}\n')[0]
    assert result["failed"] is True
    assert result["severity"] == {"review": "urgent"}


def test_a_last_line_without_newline_is_still_assessed() -> None:
    assert assess_lines("fine\nevicted")[1]["risks"] == ["housing"]


def test_a_json_line_may_give_the_check_in_question_the_reply_answers() -> None:
    asked = {"text": "not sure where yet", "question": "Do you have somewhere safe to stay tonight?"}
    with_question, alone = assess_lines(json.dumps(asked) + "\n" + json.dumps({"text": asked["text"]}) + "\n")
    assert "housing" in with_question["risks"] and with_question["question"] == asked["question"]
    assert "housing" not in alone["risks"]
