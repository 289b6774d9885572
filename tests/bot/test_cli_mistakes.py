"""Routine mistakes at the command line: one line naming what is wrong, a non-zero exit, and
nothing already stored is lost. Run in-process against a temporary SQLite file (and a real
PostgreSQL address that refuses connections, and a real SMTP server for the digest)."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.test_cli import Cli, cli, db, mentee_lines, one_error_line, staffed  # noqa: F401 - fixtures
from tests.escalation.escalation_world import Inbox, smtp_server


def staff_lines(cli: Cli) -> list[str]:
    return [line for line in cli.ok("staff", "list").splitlines() if line.strip()]


@pytest.fixture
def with_sam(staffed: Cli) -> Cli:
    staffed.ok("mentee", "add", "Sam", "--last-name", "Taylor", "--phone", "+447700900123",
               "--mentor", "Dan Carter")
    return staffed


# ---- phone numbers ------------------------------------------------------------------------------
def test_a_duplicate_mentee_phone_is_one_line_and_the_first_mentee_is_kept(with_sam: Cli) -> None:
    before = mentee_lines(with_sam)
    code, out, err = with_sam("mentee", "add", "Alex", "--phone", "07700 900123", "--mentor", "Dan Carter")
    assert code == 2 and out == ""
    assert one_error_line(err) == "checkins: error: phone +447700900123 already belongs to mentee 1"
    assert mentee_lines(with_sam) == before


def test_a_mentee_given_a_staff_members_phone_is_one_line(staffed: Cli) -> None:
    code, _, err = staffed("mentee", "add", "Alex", "--phone", "+447700900001", "--mentor", "Dan Carter")
    assert code == 2
    assert one_error_line(err) == "checkins: error: phone +447700900001 already belongs to staff member Dan Carter"
    assert mentee_lines(staffed) == []


def test_staff_given_a_mentees_phone_is_one_line(with_sam: Cli) -> None:
    before = staff_lines(with_sam)
    code, _, err = with_sam("staff", "add", "Ola Reed", "--phone", "+447700900123")
    assert code == 2
    assert one_error_line(err) == "checkins: error: phone +447700900123 already belongs to mentee 1"
    assert staff_lines(with_sam) == before


def _sams_phone(cli: Cli) -> str | None:
    from sqlalchemy import select

    from bot.config import Config
    from bot.service.runtime import build_services
    from bot.storage.models import Mentee

    svc = build_services(Config().with_database(cli.db))  # with the database's keys: phones are encrypted
    try:
        with svc.sessions() as s:
            [sam] = [m for m in s.scalars(select(Mentee)) if m.first_name == "Sam"]
            return sam.phone
    finally:
        svc.engine.dispose()


def test_changing_a_mentees_phone_to_someone_elses_is_one_line_and_keeps_the_old_one(with_sam: Cli) -> None:
    code, _, err = with_sam("mentee", "edit", "Sam Taylor", "--phone", "+447700900001")
    assert code == 2
    assert "already belongs to staff member Dan Carter" in one_error_line(err)
    assert _sams_phone(with_sam) == "+447700900123"


@pytest.mark.parametrize(("phone", "line"), [
    ("020 7946 0000", "checkins: error: phone '020 7946 0000' is a landline; SMS needs a mobile number"),
    ("0800 123 4567", "checkins: error: phone '0800 123 4567' is a freephone number; SMS needs a mobile number"),
    ("+1 202 555 0123", "checkins: error: phone '+1 202 555 0123' is a number in US; SMS goes to numbers in GB "
                        "only ([service] sms_regions)"),
    ("+33 6 12 34 56 78", "checkins: error: phone '+33 6 12 34 56 78' is a number in FR; SMS goes to numbers in "
                          "GB only ([service] sms_regions)"),
])
def test_a_landline_or_foreign_number_for_a_mentees_sms_is_one_line(staffed: Cli, phone: str, line: str) -> None:
    code, _, err = staffed("mentee", "add", "Alex", "--phone", phone, "--mentor", "Dan Carter")
    assert code == 2
    assert one_error_line(err) == line
    assert mentee_lines(staffed) == []


def test_a_landline_for_a_mentees_new_number_keeps_the_old_one(with_sam: Cli) -> None:
    code, _, err = with_sam("mentee", "edit", "Sam Taylor", "--phone", "020 7946 0000")
    assert code == 2 and "is a landline" in one_error_line(err)
    assert _sams_phone(with_sam) == "+447700900123"


def test_a_landline_for_staff_alerts_is_one_line(staffed: Cli) -> None:
    code, _, err = staffed("staff", "add", "Ola Reed", "--phone", "020 7946 0000")
    assert code == 2 and "is a landline; SMS needs a mobile number" in one_error_line(err)


def test_sms_regions_lets_a_service_text_other_countries(db: str, capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[service]\nsms_regions = "GB,IE"\n', encoding="utf-8")
    cli = Cli(db, capsys)
    cli.ok("--config", str(config), "staff", "add", "Dan Carter", "--phone", "+447700900001")
    cli.ok("--config", str(config), "mentee", "add", "Aoife", "--phone", "+353 85 123 4567", "--mentor", "Dan Carter")
    code, _, err = cli("--config", str(config), "mentee", "add", "Alex", "--phone", "+1 202 555 0123",
                       "--mentor", "Dan Carter")
    assert code == 2 and "numbers in GB, IE only" in one_error_line(err)


def test_an_unknown_sms_region_in_config_is_one_line(db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[service]\nsms_regions = "GB,XX"\n', encoding="utf-8")
    code, _, err = Cli(db, capsys)("--config", str(config), "staff", "list")
    assert code == 2
    assert one_error_line(err) == ("checkins: error: config [service] sms_regions: XX is not a region code "
                                   "like GB or IE")


# ---- staff alert channels -----------------------------------------------------------------------
def test_alerts_by_email_without_an_email_is_one_line(staffed: Cli) -> None:
    before = staff_lines(staffed)
    code, _, err = staffed("staff", "add", "Emma Lee", "--phone", "+447700900020", "--channels", "email")
    assert code == 2
    assert one_error_line(err) == ("checkins: error: alerts by email need an email address; give one or "
                                   "choose other channels")
    assert staff_lines(staffed) == before


def test_alerts_by_sms_without_a_phone_is_one_line(staffed: Cli) -> None:
    code, _, err = staffed("staff", "add", "Emma Lee", "--email", "emma@example.org", "--channels", "email,sms")
    assert code == 2 and "alerts by sms need a phone number" in one_error_line(err)


def test_changing_alerts_to_email_for_someone_without_one_is_one_line_and_keeps_the_old_order(staffed: Cli) -> None:
    before = staff_lines(staffed)
    code, _, err = staffed("staff", "edit", "Dan Carter", "--channels", "email")
    assert code == 2 and "alerts by email need an email address" in one_error_line(err)
    assert staff_lines(staffed) == before


def test_telegram_alerts_may_be_chosen_before_the_chat_is_linked(staffed: Cli) -> None:
    assert "added mentor Emma Lee" in staffed.ok("staff", "add", "Emma Lee", "--phone", "+447700900020",
                                                 "--channels", "telegram,sms")


# ---- CSV ----------------------------------------------------------------------------------------
def test_duty_maybe_in_a_staff_csv_names_the_row_and_imports_nothing(staffed: Cli, tmp_path: Path) -> None:
    before = staff_lines(staffed)
    path = tmp_path / "staff.csv"
    path.write_text("name,role,phone,email,supervisor,duty\n"
                    "Zoe King,mentor,+447700900030,,Priya Shah,no\n"
                    "Ola Reed,mentor,+447700900031,,Priya Shah,maybe\n", encoding="utf-8")
    code, out, err = staffed("staff", "import", str(path))
    assert code != 0
    assert "rejected line 3: duty 'maybe' must be yes or no" in out + err
    assert staff_lines(staffed) == before


@pytest.mark.parametrize("cell", ["yes", "Y", "true", "1", "no", "", "0"])
def test_duty_yes_or_no_in_a_staff_csv_is_understood(staffed: Cli, tmp_path: Path, cell: str) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(f"name,role,phone,email,supervisor,duty\nZoe King,mentor,+447700900030,,Priya Shah,{cell}\n",
                    encoding="utf-8")
    staffed.ok("staff", "import", str(path))
    [zoe] = [line for line in staff_lines(staffed) if "Zoe King" in line]
    assert ("DUTY" in zoe) == (cell.lower() in {"yes", "y", "true", "1"})


# ---- the database -------------------------------------------------------------------------------
def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again at once: nothing listens there


def test_an_unreachable_postgresql_is_one_line_with_no_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://checkins:hunter2-pass@127.0.0.1:{_refused_port()}/checkins"
    code, _, err = Cli(url, capsys)("staff", "list")
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("checkins: error: cannot use the database postgresql://checkins:***@127.0.0.1:")
    assert "refused" in line.lower() and "hunter2" not in err


def test_a_sqlite_file_in_a_folder_that_does_not_exist_is_one_line(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-folder"
    code, _, err = Cli(f"sqlite:///{missing / 'checkins.db'}", capsys)("staff", "list")
    assert code == 2
    assert one_error_line(err) == f"checkins: error: the database's folder {missing} does not exist"
    assert not missing.exists()  # nothing made up in its place


# ---- Telegram secret ----------------------------------------------------------------------------
@pytest.mark.parametrize("secret", ["a", "short_secret-15"])
def test_a_telegram_webhook_secret_under_16_characters_is_one_line(
        db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("CHECKINS_TELEGRAM_ENABLED", "true")
    monkeypatch.setenv("CHECKINS_TELEGRAM_MODE", "webhook")
    monkeypatch.setenv("CHECKINS_TELEGRAM_TOKEN", "123456:FAKE-token_0123456789abcdefghijkl")
    monkeypatch.setenv("CHECKINS_TELEGRAM_SECRET_TOKEN", secret)
    code, _, err = Cli(db, capsys)("serve")
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("checkins: error: config [telegram] secret_token: webhook mode needs 16-256 characters")
    assert "short_secret" not in line  # the secret itself is not echoed


# ---- the demo and check-ins after STOP ----------------------------------------------------------
def test_the_demos_checkin_to_a_mentee_who_texted_stop_is_refused_in_one_line() -> None:
    from bot.demo import run_demo

    from datetime import UTC, datetime

    out = io.StringIO()
    morning = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # outside quiet hours, whenever this runs
    assert run_demo(io.StringIO("STOP\n/checkin\n/quit\n"), out, interactive=False, now=morning) == 0
    after_stop = out.getvalue().split("Sam texts: STOP", 1)[1]
    assert "(Sam T. opted out (texted STOP); no check-in sent)" in after_stop
    assert "it's your check-in" not in after_stop


def test_checkin_send_to_a_mentee_who_texted_stop_is_one_line(with_sam: Cli) -> None:
    from bot.channels.base import InboundMessage
    from bot.config import Config
    from bot.service.runtime import build_services
    from bot.service.sink import DatabaseSink
    from bot.service.turns import process_inbound

    svc = build_services(Config().with_database(with_sam.db), channels={})
    DatabaseSink(svc).store_inbound_sync(InboundMessage("sms", "SM" + "1" * 32, "+447700900123", "STOP"))
    process_inbound(svc)
    svc.engine.dispose()
    code, _, err = with_sam("checkin", "send", "Sam Taylor")
    assert code == 2
    assert one_error_line(err) == "checkins: error: Sam T. opted out (texted STOP); no check-in sent"


# ---- the digest ---------------------------------------------------------------------------------
@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as running:
        yield running


def test_sending_a_weeks_digest_again_asks_for_again(staffed: Cli, smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = smtp
    config = tmp_path / "config.toml"
    config.write_text(f'[email]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n',
                      encoding="utf-8")
    c = ("--config", str(config))
    assert "Priya Shah: sent" in staffed.ok(*c, "digest", "--week", "2026-W10", "--send")
    code, out, err = staffed(*c, "digest", "--week", "2026-W10", "--send")
    assert code == 2 and out == ""
    assert one_error_line(err) == ("checkins: error: the digest for 2026-W10 was already sent to Priya Shah; "
                                   "add --again to send it again")
    assert len(inbox.messages) == 1
    assert "Priya Shah: sent" in staffed.ok(*c, "digest", "--week", "2026-W10", "--send", "--again")
    assert len(inbox.messages) == 2
    assert "Priya Shah: sent" in staffed.ok(*c, "digest", "--week", "2026-W11", "--send")  # a new week: no question


def test_again_without_send_is_one_line(staffed: Cli) -> None:
    code, _, err = staffed("digest", "--again")
    assert code == 2 and one_error_line(err) == "checkins: error: --again only goes with --send"
