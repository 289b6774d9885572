"""Pure parts: signed alert links, the texts that carry them, the [staff] config keys, and the
staff-web migration going down and up again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.gsm7 import gsm7_length, is_gsm7
from bot.staff.present import reply_count
from bot.staff_links import alert_link, link_is_genuine, link_signature
from escalation.alert_text import staff_alert_email, staff_alert_sms, taken_text
from escalation.alert_view import AlertView

SECRET = "0123456789abcdef-secret"


def view(link: str = "", first: str = "Sam", last: str = "Taylor") -> AlertView:
    return AlertView(code="K7Q2", mentee_id=1, mentee_first_name=first, mentee_last_name=last,
                     category="crisis", severity="urgent",
                     created_at=datetime(2026, 3, 10, 10, 30, tzinfo=UTC),
                     excerpt="Got a rope and im doing it tonight, ive had enough", link=link)


def test_a_link_is_signed_per_alert_and_checked_in_constant_time() -> None:
    link = alert_link("https://checkins.example.org/", SECRET, "k7q2")
    assert link == f"https://checkins.example.org/staff/a/K7Q2?s={link_signature(SECRET, 'K7Q2')}"
    assert link_is_genuine(SECRET, "K7Q2", link_signature(SECRET, "K7Q2"))
    assert not link_is_genuine(SECRET, "K7Q3", link_signature(SECRET, "K7Q2"))
    assert not link_is_genuine("another-secret-0123456789", "K7Q2", link_signature(SECRET, "K7Q2"))
    assert not link_is_genuine("", "K7Q2", "")
    assert not link_is_genuine(SECRET, "K7Q2", "é" * 10)  # any characters: refused, never an error
    assert alert_link("https://checkins.example.org", "", "K7Q2") == ""


def test_the_alert_text_with_its_link_is_still_one_text() -> None:
    link = alert_link("https://checkins.example.org", SECRET, "K7Q2")
    [text] = staff_alert_sms(view(link))
    assert text.endswith(f"Reply ACK K7Q2 or see {link}") and gsm7_length(text) <= 160
    assert '"Got a rope' in text  # some of their words still fit
    long_name = view(alert_link("https://a-very-long-host-name.mentoring.example.org/path/to/app",
                                SECRET, "K7Q2"), first="Bartholomew-Alexander", last="Worthington")
    [text] = staff_alert_sms(long_name)
    assert gsm7_length(text) <= 160  # too long for the link: the email still has it
    email = staff_alert_email(view(link))
    assert link in email.body


def test_the_others_are_told_who_has_the_alert_in_one_plain_text() -> None:
    text = taken_text("K7Q2", "Sam T.", "Dan Carter")
    assert text == "K7Q2 Sam T.: Dan Carter has taken this alert. Nothing more is needed from you unless they ask."
    long = taken_text("K7Q2", "Bartholomew-Alexander W.", "Siobhán Ní Mhaolchatha-O'Riordan the Third of Many")
    assert is_gsm7(long) and gsm7_length(long) <= 160


def test_the_server_counts_a_reply_as_the_outbox_will_send_it() -> None:
    count = reply_count("Hi Sam, it’s Dan")
    assert (count.characters, count.texts, count.changed) == (16, 1, ("’",))
    assert reply_count("word " * 40).texts == 2
    assert reply_count("€" * 80).characters == 160  # extension characters count twice


@pytest.mark.parametrize("toml,line", [
    ('link_secret = "short"', "config [staff] link_secret: use at least 16 random characters"),
    ("code_attempts = 0", "config [staff]: code_attempts, session_idle_minutes and code_minutes must be more than 0"),
    ("session_idle_minutes = 0", "must be more than 0"),
    ('session_idle_minutes = "soon"', "config [staff] session_idle_minutes: must be a number"),
    ("enabled = 3", "config [staff] enabled: must be true or false"),
    ("colour = 1", "config [staff] colour: unknown key"),
])
def test_a_bad_staff_setting_stops_start_up_with_one_line(tmp_path: Path, toml: str, line: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[staff]\n{toml}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {}, providers=False)
    assert line in str(caught.value) and "\n" not in str(caught.value)


def test_the_example_config_documents_every_staff_key() -> None:
    from bot.config import StaffConfig

    example = (Path(__file__).parents[3] / "config.example.toml").read_text(encoding="utf-8")
    block = example[example.index("[staff]"):]
    for key in StaffConfig.__dataclass_fields__:
        assert f"\n{key} = " in block, key
    assert load_config(Path(__file__).parents[3] / "config.example.toml", {}, providers=False).staff.enabled


def test_the_staff_web_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import inspect

    from bot.storage.db import MIGRATIONS, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    assert {"signin_codes", "signin_attempts", "staff_sessions"} <= set(inspect(engine).get_table_names())
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert "staff_sessions" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "staff_sessions" in inspect(engine).get_table_names()
    engine.dispose()
