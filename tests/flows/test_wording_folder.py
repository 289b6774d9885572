"""A charity's own wording folder ([wording] folder): its texts replace the shipped ones key by
key, are checked like them at start-up, and reach the mentee."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.wording import catalogue as cat
from tests.bot.app.conftest import SAM_PHONE, World
from tests.conftest import RecordingPhone

OWN_HELP = "This is {org}. {mentor} is your mentor{contact}. Text CHECKIN to talk, STOP to stop. In danger? Call 999."


@pytest.fixture(autouse=True)
def shipped_wording_after() -> Iterator[None]:
    yield
    cat.use_folder(None)  # the catalogue is process-wide: leave the shipped texts for other tests


def config_with(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "wording"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    path = tmp_path / "checkins.toml"
    path.write_text(f'[wording]\nfolder = "{folder}"\n', encoding="utf-8")
    return path


def test_a_text_in_the_folder_replaces_the_shipped_one_and_the_rest_stay(tmp_path: Path) -> None:
    shipped_stop = cat.catalogue("en").text_template("opted_out")
    load_config(config_with(tmp_path, {"en.toml": f'language = "en"\n[texts]\nhelp = "{OWN_HELP}"\n'}))
    assert cat.catalogue("en").text_template("help") == OWN_HELP
    assert cat.catalogue("en").text_template("opted_out") == shipped_stop
    # Welsh mentees keep their own shipped help text; a key Welsh lacks falls back to the charity's English.
    assert cat.catalogue("cy").text_template("help").startswith("Dyma")


def test_a_mentee_gets_the_charitys_wording(tmp_path: Path, world: World) -> None:
    load_config(config_with(tmp_path, {"en.toml": f'language = "en"\n[texts]\nhelp = "{OWN_HELP}"\n'}))
    world.text(SAM_PHONE, "HELP")
    phone = world.svc.channels["console"]
    assert isinstance(phone, RecordingPhone)
    assert any(t.startswith("This is your mentoring service. Dan is your mentor") for t in phone.texts_for(SAM_PHONE))


@pytest.mark.parametrize(("text", "problem"), [
    ('[texts]\nhelp = "Text us 📞 {contact}"\n', "GSM-7"),
    ('[texts]\nhelpp = "Text CHECKIN to talk."\n', "not a key in the English catalogue"),
    ('[texts]\nhelp = "Hi {nickname}"\n', "unknown placeholder"),
    ('[texts\nhelp = "x"\n', "not valid TOML"),
])
def test_a_bad_text_in_the_folder_stops_start_up_with_one_line(tmp_path: Path, text: str, problem: str) -> None:
    shipped_help = cat.catalogue("en").text_template("help")
    with pytest.raises(ConfigError) as caught:
        load_config(config_with(tmp_path, {"en.toml": 'language = "en"\n' + text}))
    message = str(caught.value)
    assert "\n" not in message and message.startswith("config [wording] folder: ") and problem in message
    assert "en.toml" in message
    assert cat.catalogue("en").text_template("help") == shipped_help  # nothing half-applied


def test_a_safety_text_made_unsafe_is_refused(tmp_path: Path) -> None:
    unsafe = '[texts]\n"safety.crisis" = "If you want to kill yourself call {samaritans}."\n'
    with pytest.raises(ConfigError):
        load_config(config_with(tmp_path, {"en.toml": 'language = "en"\n' + unsafe}))


def test_a_folder_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "checkins.toml"
    path.write_text(f'[wording]\nfolder = "{tmp_path / "nope"}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="wording folder not found"):
        load_config(path)


def test_a_new_language_in_the_folder_is_known_and_falls_back_to_english(tmp_path: Path) -> None:
    polish = 'language = "pl"\n[texts]\nopted_out = "Nie bedziemy juz pisac. Wyslij START, aby wrocic."\n'
    load_config(config_with(tmp_path, {"pl.toml": polish}))
    assert "pl" in cat.known_languages()
    assert cat.catalogue("pl").text_template("opted_out").startswith("Nie bedziemy")
    assert cat.catalogue("pl").text_template("help") == cat.catalogue("en").text_template("help")
