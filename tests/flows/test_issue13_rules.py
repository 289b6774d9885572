"""Issue 13's documented rules checked against behaviour: the reminder and expiry floors, the
manual `checkin send` quiet-hours rule (config comment, code and behaviour say the same), the
catalogue checked at start-up, and the README's own flow examples passing the check and running."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import mentees
from bot.config import MIN_EXPIRE_HOURS, MIN_REMINDER_HOURS, ConfigError, load_config
from bot.flows import load_flow_text
from bot.flows.files import DEFAULTS
from tests.bot.app.conftest import LEE_PHONE, SAM_PHONE, World
from tests.conftest import RecordingPhone

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "config.example.toml").read_text(encoding="utf-8")


def _texts(world: World) -> list[str]:
    phone = world.svc.channels["console"]
    assert isinstance(phone, RecordingPhone)
    return phone.texts_for(SAM_PHONE)


# ---- reminder and expiry floors ----------------------------------------------------------------
@pytest.mark.parametrize(("toml", "says"), [
    ("[checkins]\nreminder_after_hours = 0.25\n", f"must be at least {MIN_REMINDER_HOURS:g}"),
    ("[checkins]\nexpire_after_hours = 0.75\nreminder_after_hours = 0.5\n",
     f"must be at least {MIN_EXPIRE_HOURS:g}"),
    ("[checkins]\nreminder_after_hours = 6\nexpire_after_hours = 5\n", "must be later than"),
])
def test_the_config_floors_stop_start_up_with_one_line(tmp_path: Path, toml: str, says: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(says)) as info:
        load_config(path, {})
    assert "\n" not in str(info.value)


def test_the_floors_are_documented_where_they_are_set() -> None:
    """config.example.toml and the README name the same floors the code enforces."""
    assert f"at least {MIN_REMINDER_HOURS:g})" in EXAMPLE and f"(at least {MIN_EXPIRE_HOURS:g}," in EXAMPLE
    assert "a reminder sooner than half an hour or an expiry sooner\nthan an hour" in README
    assert (MIN_REMINDER_HOURS, MIN_EXPIRE_HOURS) == (0.5, 1.0)


@pytest.mark.parametrize(("line", "says"), [
    ("remind_after_hours = 0.25", "remind_after_hours: must be a number of hours, at least 0.5"),
    ("expire_after_hours = 0.5", "expire_after_hours: must be a number of hours, at least 1"),
])
def test_a_flow_file_below_a_floor_is_one_line(line: str, says: str) -> None:
    text = (DEFAULTS / "monthly.toml").read_text(encoding="utf-8").replace(
        'reminder_prefix = "Reminder: "', f'reminder_prefix = "Reminder: "\n{line}')
    with pytest.raises(ValueError, match=re.escape(says)) as info:
        load_flow_text(text, "monthly.toml")
    assert str(info.value).startswith("monthly.toml:") and "\n" not in str(info.value)


# ---- the manual send rule: one rule, said the same way everywhere ------------------------------
def test_the_manual_send_rule_reads_the_same_in_the_config_example_the_code_and_the_readme() -> None:
    from bot import config

    code = Path(config.__file__).read_text(encoding="utf-8")
    for where in (EXAMPLE, code):
        flat = " ".join(line.strip("# ").strip() for line in where.splitlines())
        assert "waits for the mentee's quiet hours" in flat.replace("they wait for the mentee's quiet hours", "waits for the mentee's quiet hours")
        assert "unless this is false or" in flat and "--now" in flat
        assert "Safe-to-text windows and a code-word hold are never overridden" in flat
    assert "manual_send_waits_for_quiet_hours = true" in EXAMPLE
    flat_readme = " ".join(README.split())
    assert ("A check-in sent by hand (`checkin send`) waits for the mentee's quiet hours unless "
            "`--now` (`[checkins] manual_send_waits_for_quiet_hours`); nobody can override "
            "safe-to-text windows or a code-word hold.") in flat_readme


def test_with_the_rule_off_a_manual_check_in_goes_at_once_but_never_outside_a_safe_window(
        world: World) -> None:
    from bot.app import safety

    svc = world.svc
    svc.config = dataclasses.replace(svc.config, checkins=dataclasses.replace(
        svc.config.checkins, manual_send_waits_for_quiet_hours=False))
    safety.change(svc, world.operator, world.lee, safety.SafetyChanges(windows="mon-fri 10:00-14:00"))
    world.clock.set(datetime(2026, 3, 10, 22, 0, tzinfo=UTC))  # Tuesday 22:00 GMT: quiet hours
    sam = mentees.start_checkin(svc, world.operator, world.sam)
    lee = mentees.start_checkin(svc, world.operator, world.lee)
    world.settle()
    assert sam.waits_until is None and "it's your check-in" in _texts(world)[-1]
    assert lee.waits_until == datetime(2026, 3, 11, 10, 0, tzinfo=UTC)  # the window, not quiet hours
    phone = svc.channels["console"]
    assert isinstance(phone, RecordingPhone)
    assert phone.texts_for(LEE_PHONE) == []


# ---- the catalogue is checked at start-up ------------------------------------------------------
def test_a_broken_catalogue_stops_start_up_with_one_line(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.wording import catalogue as cat

    folder = tmp_path / "catalogues"
    folder.mkdir()
    for name in ("en.toml", "cy.toml"):
        (folder / name).write_text((cat.CATALOGUES / name).read_text(encoding="utf-8"), encoding="utf-8")
    cy = (folder / "cy.toml").read_text(encoding="utf-8")
    (folder / "cy.toml").write_text(cy.replace("Samaritans {samaritans}.", "Samaritans {samaritans}. " + "x" * 60, 1),
                                    encoding="utf-8")
    monkeypatch.setattr(cat, "CATALOGUES", folder)
    cat.catalogue.cache_clear()
    cat.answer_words.cache_clear()
    try:
        with pytest.raises(ConfigError) as info:
            load_config(None, {})
    finally:
        cat.catalogue.cache_clear()
        cat.answer_words.cache_clear()
    message = str(info.value)
    assert "cy.toml:" in message and "safety.urgent_crisis" in message and "segments" in message
    assert "\n" not in message


# ---- the README shows a coordinator how: its examples are real --------------------------------
def _toml_blocks() -> list[str]:
    return re.findall(r"```toml\n(.*?)```", README, re.S)


def test_the_readme_new_flow_example_passes_the_check_and_runs_for_a_mentee(world: World,
                                                                            tmp_path: Path) -> None:
    """"Add a flow" and "pick it for a mentee", exactly as the README shows, end to end."""
    from bot.config import Config
    from bot.flows.library import build_library

    [court] = [b for b in _toml_blocks() if 'name = "court_week"' in b]
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "court_week.toml").write_text(court, encoding="utf-8")
    assert "court_week" in build_library(folder).names
    svc = world.svc
    svc.config = Config(flows=type(svc.config.flows)(folder=str(folder)))
    svc.extras.clear()
    mentees.set_plan(svc, world.operator, world.sam, "mon,thu 10:00", flow="court_week")
    mentees.start_checkin(svc, world.operator, world.sam)
    world.settle()
    assert _texts(world)[-1].startswith("Hi Sam, do you know the date and time of your court hearing?")
    world.text(SAM_PHONE, "yes")
    world.text(SAM_PHONE, "no")
    assert _texts(world)[-1].startswith("Thanks Sam. Good luck this week.")


def test_the_readme_reworded_question_passes_the_check() -> None:
    """"Change a question's wording": the README's new sleep prompt, put in the shipped weekly
    flow, still passes."""
    [sleep] = [b for b in _toml_blocks() if "[questions.sleep]" in b]
    prompt = re.search(r'prompt = "(.*)"', sleep).group(1)  # type: ignore[union-attr]
    weekly = (DEFAULTS / "weekly.toml").read_text(encoding="utf-8")
    old = re.search(r'\[questions\.sleep\]\nprompt = "(.*)"', weekly).group(1)  # type: ignore[union-attr]
    flow = load_flow_text(weekly.replace(old, prompt), "weekly.toml")
    assert flow.question("sleep").prompt == prompt
