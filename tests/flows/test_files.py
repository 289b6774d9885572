"""Flow files: a bad file gives one line naming the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows import FlowError, build_library, load_flow_file, load_flow_text
from bot.flows.files import DEFAULTS, FlowFileError, digest_of

GOOD = '''name = "tiny"
closing = "Thanks {first_name}."

[questions.mood]
prompt = "Hi {first_name}, how are you? Reply 1 to 5."
answer = "scale_1_5"
next = "safe"
branches = { "1" = "safe" }

[questions.safe]
prompt = "Do you feel safe? Reply YES or NO."
discreet_prompt = "Are things OK? Reply YES or NO."
answer = "yes_no"

[[questions.safe.risks]]
when = ["no"]
category = "domestic_abuse"
severity = "concern"
evidence = "said not safe"
'''


def problem(text: str) -> str:
    with pytest.raises(FlowFileError) as caught:
        load_flow_text(text, "mine.toml")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_good_file_loads_with_its_version() -> None:
    flow = load_flow_text(GOOD, "mine.toml")
    assert flow.name == "tiny" and flow.start == "mood" and flow.digest == digest_of(GOOD)
    assert flow.question("safe").risks[0].category == "domestic_abuse"


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('next = "safe"', 'next = "saef"', "mine.toml:7: tiny.mood: next names unknown state 'saef'"),
    ('answer = "yes_no"', 'answer = "yesno"', "mine.toml:13: tiny.safe: unknown answer type 'yesno'"),
    ('category = "domestic_abuse"', 'category = "gambling"', "mine.toml:17: tiny.safe: unknown risk 'gambling'"),
    ('severity = "concern"', 'severity = "high"', "mine.toml:18: tiny.safe: unknown severity 'high'"),
    ('{ "1" = "safe" }', '{ "7" = "safe" }',
     "mine.toml:8: tiny.mood: branch on answer '7' can never happen: a scale_1_5 answer is 1, 2, 3, 4, 5, dont_know"),
    ('when = ["no"]', 'when = ["nope"]', "mine.toml:16: tiny.safe: risk on answer 'nope' can never happen"),
    ('prompt = "Do you', 'promt = "Do you', "mine.toml:11: tiny.safe: unknown key 'promt'"),
    ("how are you?", "how\u2019s things?", "mine.toml:5: tiny.mood: characters outside GSM-7: '\u2019'"),
    ("how are you?", "how are you {surname}?", "mine.toml:5: tiny.mood: unknown placeholder {surname}"),
    ("Reply 1 to 5.", "Reply 1 to 5. " + "x" * 120,
     "mine.toml:5: tiny.mood: 172 characters, longer than one SMS (160)"),
    ('closing = "Thanks {first_name}."', 'closing = "Thanks"\ncolsing = "x"', "mine.toml:3: tiny: unknown key 'colsing'"),
    ('name = "tiny"', 'name = "Tiny Flow"', "mine.toml:1: Tiny Flow: name must be lower-case"),
])
def test_a_bad_file_names_its_line_and_problem(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    assert problem(GOOD.replace(old, new, 1)).startswith(expected)


def test_invalid_toml_names_the_line() -> None:
    message = problem(GOOD.replace('answer = "yes_no"', 'answer = yes_no'))
    assert message.startswith("mine.toml:13: not valid TOML")


def test_a_question_nobody_reaches_is_refused() -> None:
    text = GOOD.replace('next = "safe"\nbranches = { "1" = "safe" }', 'next = "done"')
    assert problem(text).startswith("mine.toml:9: tiny.safe: no answer leads to this question")


def test_a_loop_with_no_way_out_is_a_dead_end() -> None:
    text = GOOD.replace('answer = "yes_no"\n', 'answer = "yes_no"\nnext = "mood"\n')
    text = text.replace('next = "safe"\nbranches = { "1" = "safe" }', 'next = "safe"')
    assert "a dead end: from here the check-in can never finish" in problem(text)


def test_several_problems_are_one_line_with_a_count() -> None:
    text = GOOD.replace('next = "safe"', 'next = "x"').replace('answer = "yes_no"', 'answer = "y"')
    assert problem(text).endswith("(and 1 more problem)")


def test_a_flow_below_the_reminder_floor_is_refused() -> None:
    text = 'remind_after_hours = 0.1\n' + GOOD
    assert problem(text).startswith("mine.toml:1: tiny.remind_after_hours: must be a number of hours, at least 0.5")
    text = 'remind_after_hours = 5\nexpire_after_hours = 4\n' + GOOD
    assert "must be later than remind_after_hours" in problem(text)


def test_a_missing_file_is_one_line() -> None:
    with pytest.raises(FlowFileError, match=r"^nowhere.toml:0: file not found$"):
        load_flow_file("nowhere.toml")


def test_the_charity_folder_overrides_and_adds(tmp_path: Path) -> None:
    weekly = (DEFAULTS / "weekly.toml").read_text(encoding="utf-8")
    (tmp_path / "weekly.toml").write_text(weekly.replace("How have you been sleeping?",
                                                         "How is your sleep?"), encoding="utf-8")
    (tmp_path / "tiny.toml").write_text(GOOD, encoding="utf-8")
    lib = build_library(tmp_path)
    assert lib.get("weekly").question("sleep").prompt.startswith("How is your sleep?")
    assert lib.get("tiny").source == str(tmp_path / "tiny.toml")
    assert {"release_week", "welfare", "monthly"} <= set(lib.names)


def test_two_files_with_one_name_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(FlowFileError, match=r"b.toml:1: flow 'tiny' is also defined in .*a.toml"):
        build_library(tmp_path)


def test_a_bad_file_in_the_folder_stops_the_library(tmp_path: Path) -> None:
    (tmp_path / "tiny.toml").write_text(GOOD.replace('next = "safe"', 'next = "x"'), encoding="utf-8")
    with pytest.raises(FlowFileError, match=r"tiny.toml:7: tiny.mood: next names unknown state 'x'"):
        build_library(tmp_path)


def test_a_flow_named_in_config_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="flow 'weekley' is named in config"):
        build_library(tmp_path, required=("weekley",))


def test_wording_that_gives_the_service_away_needs_discreet_wording() -> None:
    text = GOOD.replace('discreet_prompt = "Are things OK? Reply YES or NO."\n', "")
    assert problem(text).startswith(
        'mine.toml:11: tiny.safe: says safe: add discreet_prompt = "..." for mentees in discreet mode')
    text = GOOD.replace("Are things OK?", "Are you safe from abuse?")
    assert problem(text).startswith("mine.toml:12: tiny.safe: discreet_prompt gives it away: safe, abuse")
