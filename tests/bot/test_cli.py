"""The `checkins` command line, run in-process against a temporary SQLite file."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select

from bot.cli import build_parser, main
from bot.storage.models import Base, Message

CSV_HEADER = "first_name,last_name,phone,telegram_chat_id,preferred_channel,mentor,timezone,release_date,plan\n"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database URL for the CLI; the environment cannot point it anywhere else."""
    for name in ("CHECKINS_CONFIG", "CHECKINS_DATABASE_URL", "CHECKINS_SERVICE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return f"sqlite:///{tmp_path / 'cli.db'}"


class Cli:
    def __init__(self, db: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db = db
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        """Run `checkins --database DB ARGV...`; returns (exit code, stdout, stderr)."""
        self.capsys.readouterr()
        code = main(["--database", self.db, *argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *argv: str) -> str:
        code, out, err = self(*argv)
        assert code == 0, err
        return out


@pytest.fixture
def cli(db: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(db, capsys)


@pytest.fixture
def staffed(cli: Cli) -> Cli:
    """A supervisor and a mentor they supervise."""
    cli.ok("staff", "add", "Priya Shah", "--role", "supervisor", "--phone", "07700 900002",
           "--email", "priya@example.org", "--channels", "sms,email")
    cli.ok("staff", "add", "Dan Carter", "--phone", "+447700900001", "--supervisor", "Priya Shah")
    return cli


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("checkins: error: ")
    return lines[0]


def write_csv(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "mentees.csv"
    path.write_text(CSV_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return str(path)


def mentee_lines(cli: Cli) -> list[str]:
    out = cli.ok("mentee", "list")
    return [line for line in out.splitlines() if "mentor:" in line]


# ---- init and staff -----------------------------------------------------------------------------
def test_init_creates_the_database_and_can_run_again(cli: Cli, db: str) -> None:
    out = cli.ok("init")
    assert out.startswith("database ready at revision ")
    engine = create_engine(db)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
    assert cli.ok("init") == out


def test_staff_add_and_list(staffed: Cli) -> None:
    out = staffed.ok("staff", "list")
    priya, dan = (line for line in out.splitlines() if line.strip())
    assert "supervisor" in priya and "Priya Shah" in priya and "+447700900002" in priya
    assert "priya@example.org" in priya and "alerts by sms,email" in priya
    assert "mentor" in dan and "Dan Carter" in dan and "supervisor: Priya Shah" in dan


def test_staff_list_when_empty_says_how_to_start(cli: Cli) -> None:
    assert "no staff yet" in cli.ok("staff", "list")


def test_staff_add_with_a_bad_phone_is_one_line_and_exit_2(cli: Cli) -> None:
    code, out, err = cli("staff", "add", "Dan Carter", "--phone", "12345")
    assert code == 2 and out == ""
    assert "phone '12345'" in one_error_line(err)


# ---- mentees ------------------------------------------------------------------------------------
def test_mentee_add_and_list(staffed: Cli) -> None:
    out = staffed.ok("mentee", "add", "Sam", "--last-name", "Taylor", "--phone", "07700 900123",
                     "--mentor", "Dan Carter", "--plan", "mon,thu 10:00")
    assert out.startswith("added mentee Sam T. (id ")
    (line,) = mentee_lines(staffed)
    assert "Sam T." in line and "+447700900123" in line and "active" in line
    assert "mentor: Dan Carter" in line and "plan: mon,thu 10:00" in line


@pytest.mark.parametrize("phone", ["12345", "0770090012", "not a number", "+44 20 7946 09"])
def test_mentee_add_with_a_bad_phone_is_one_line_and_exit_2(staffed: Cli, phone: str) -> None:
    code, out, err = staffed("mentee", "add", "Sam", "--phone", phone, "--mentor", "Dan Carter")
    assert code == 2 and out == ""
    assert "phone" in one_error_line(err)
    assert mentee_lines(staffed) == []


def test_mentee_add_with_an_unknown_mentor_is_exit_2(staffed: Cli) -> None:
    code, _, err = staffed("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Nobody")
    assert code == 2
    assert "no mentor 'Nobody'" in one_error_line(err)


def test_a_supervisor_cannot_be_a_mentee_s_mentor(staffed: Cli) -> None:
    code, _, err = staffed("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Priya Shah")
    assert code == 2 and "not a mentor" in one_error_line(err)


@pytest.mark.parametrize("argv", [
    ("checkin", "send", "Nobody"),
    ("mentee", "pause", "42"),
    ("schedule", "show", "+447700900999"),
])
def test_an_unknown_mentee_is_exit_2(staffed: Cli, argv: tuple[str, ...]) -> None:
    code, _, err = staffed(*argv)
    assert code == 2 and "no mentee" in one_error_line(err)


def test_pause_and_resume(staffed: Cli) -> None:
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    assert staffed.ok("mentee", "pause", "Sam") == "paused check-ins for Sam\n"
    assert "paused" in mentee_lines(staffed)[0]
    assert staffed.ok("mentee", "resume", "Sam") == "resumed check-ins for Sam\n"
    assert "active" in mentee_lines(staffed)[0]


# ---- CSV import ---------------------------------------------------------------------------------
def test_import_of_a_good_file_imports_every_row(staffed: Cli, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "Sam,Taylor,07700 900123,,sms,Dan Carter,,,mon 10:00",
        "Alex,Jones,+447700900124,,,Dan Carter,Europe/London,2026-04-01,",
        "Jo,,447700900125,,sms,Dan Carter,,,",
    )
    code, out, _ = staffed("mentee", "import", path)
    assert code == 0
    assert out.strip() == "imported 3 of 3 mentees"
    assert len(mentee_lines(staffed)) == 3


def bad_file(tmp_path: Path) -> str:
    return write_csv(
        tmp_path,
        "Sam,Taylor,07700 900123,,sms,Dan Carter,,,",       # line 2: good
        "Alex,Jones,12345,,sms,Dan Carter,,,",              # line 3: bad phone
        "Jo,,07700900125,,sms,Nobody,,,",                   # line 4: unknown mentor
        "Kim,,07700900126,,sms,Dan Carter,,not-a-date,",    # line 5: bad release date
        "Lee,,07700 900123,,sms,Dan Carter,,,",             # line 6: same phone as line 2
        ",,07700900127,,sms,Dan Carter,,,",                 # line 7: no first name
        "Max,,07700900128,,sms,Dan Carter,,,every day",     # line 8: bad plan
        "Ash,,07700900129,,sms,Dan Carter,,,",              # line 9: good
    )


def test_import_with_bad_rows_imports_nothing_and_reports_each_with_its_reason(
        staffed: Cli, tmp_path: Path) -> None:
    code, out, _ = staffed("mentee", "import", bad_file(tmp_path))
    assert code == 1
    rejected = [line for line in out.splitlines() if line.startswith("rejected line ")]
    assert [line.split(":")[0] for line in rejected] == [
        "rejected line 3", "rejected line 4", "rejected line 5", "rejected line 6",
        "rejected line 7", "rejected line 8"]
    reasons = dict(line.split(": ", 1) for line in rejected)
    assert "phone '12345'" in reasons["rejected line 3"]
    assert "no mentor 'Nobody'" in reasons["rejected line 4"]
    assert "release date 'not-a-date'" in reasons["rejected line 5"]
    assert "appears twice" in reasons["rejected line 6"]
    assert "first name is required" in reasons["rejected line 7"]
    assert reasons["rejected line 8"].startswith("plan:")
    assert "nothing imported: 6 of 8 rows need fixing" in out
    assert mentee_lines(staffed) == []


def test_import_partial_imports_the_good_rows_and_reports_the_rest(staffed: Cli, tmp_path: Path) -> None:
    code, out, _ = staffed("mentee", "import", "--partial", bad_file(tmp_path))
    assert code == 1  # some rows still need fixing
    assert out.count("rejected line ") == 6
    assert "imported 2 of 8 mentees" in out
    names = sorted(line.split()[1] for line in mentee_lines(staffed))
    assert names == ["Ash", "Sam"]


def test_import_refuses_a_phone_that_already_belongs_to_someone(staffed: Cli, tmp_path: Path) -> None:
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    code, out, _ = staffed("mentee", "import", write_csv(tmp_path, "Alex,,07700900123,,sms,Dan Carter,,,"))
    assert code == 1
    assert "rejected line 2: phone +447700900123 already belongs to mentee 1" in out
    assert len(mentee_lines(staffed)) == 1


def test_import_of_a_file_without_the_needed_columns_is_exit_2(staffed: Cli, tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("name,phone\nSam,07700900123\n", encoding="utf-8")
    code, _, err = staffed("mentee", "import", str(path))
    assert code == 2 and "missing column(s) first_name, mentor" in one_error_line(err)


def test_import_of_a_missing_file_is_exit_2(staffed: Cli, tmp_path: Path) -> None:
    code, _, err = staffed("mentee", "import", str(tmp_path / "nope.csv"))
    assert code == 2 and "file not found" in one_error_line(err)


# ---- check-ins and schedules --------------------------------------------------------------------
def test_checkin_send_starts_one_and_says_so(staffed: Cli) -> None:
    staffed.ok("mentee", "add", "Sam", "--last-name", "Taylor", "--phone", "07700900123",
               "--mentor", "Dan Carter")
    assert staffed.ok("checkin", "send", "Sam Taylor").startswith("check-in started with Sam T.")
    assert "already has a check-in in progress" in staffed.ok("checkin", "send", "+447700900123")


def test_checkin_send_puts_its_first_question_in_the_outbox_for_serve(staffed: Cli, db: str) -> None:
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    staffed.ok("checkin", "send", "Sam")
    from bot.config import Config
    from bot.service.runtime import build_services

    svc = build_services(Config().with_database(db))  # with the database's keys: bodies are encrypted
    with svc.engine.connect() as conn:
        queued = conn.execute(select(Message.body, Message.status, Message.address)
                              .where(Message.direction == "out")).all()
    svc.engine.dispose()
    assert len(queued) == 1
    body, status, address = queued[0]
    assert body.startswith("Hi Sam, it's your check-in.") and status == "pending"
    assert address == "+447700900123"


def test_checkin_send_to_a_paused_mentee_is_refused(staffed: Cli) -> None:
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    staffed.ok("mentee", "pause", "Sam")
    code, _, err = staffed("checkin", "send", "Sam")
    assert code == 2 and "is paused" in one_error_line(err)


def test_schedule_set_and_show(staffed: Cli) -> None:
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    out = staffed.ok("schedule", "set", "Sam", "mon,thu 10:00")
    assert out.startswith("Sam: plan is now mon,thu 10:00")
    shown = staffed.ok("schedule", "show", "Sam").splitlines()
    assert shown[0].startswith("Sam: plan mon,thu 10:00 (Europe/London)")
    assert len([line for line in shown[1:] if line.strip().endswith("checkin")]) >= 4  # two weeks


@pytest.mark.parametrize("plan", ["every day", "mon 25:00", "funday 10:00", ""])
def test_schedule_set_with_a_bad_plan_is_exit_2(staffed: Cli, plan: str) -> None:
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    code, out, err = staffed("schedule", "set", "Sam", plan)
    assert code == 2 and out == ""
    assert "plan" in one_error_line(err)


def test_a_bad_config_file_is_one_line_and_exit_2(cli: Cli, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[service]\nport = "eighty"\n', encoding="utf-8")
    monkeypatch.setenv("CHECKINS_CONFIG", str(bad))
    code, _, err = cli("staff", "list")
    assert code == 2 and "[service] port: must be a number" in one_error_line(err)


# ---- help everywhere ----------------------------------------------------------------------------
def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*prefix, name))


ALL_COMMANDS = list(_commands(build_parser()))


def test_every_command_is_found() -> None:
    assert {("init",), ("demo",), ("staff", "add"), ("mentee", "import"), ("checkin", "send"),
            ("schedule", "set")} <= set(ALL_COMMANDS)


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: " ".join(c) or "checkins")
def test_help_on_every_command_exits_0(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: checkins")


def test_an_unknown_command_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["frobnicate"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# ---- staff import, pause and resume -------------------------------------------------------------
STAFF_HEADER = "name,role,phone,email,telegram_chat_id,channels,supervisor,duty\n"


def test_staff_import_adds_supervisors_then_their_mentors(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(STAFF_HEADER
                    + "Priya Shah,supervisor,07700 900002,priya@example.org,,email,,\n"
                    + "Dan Carter,mentor,07700900001,,,sms,Priya Shah,\n"
                    + "Duty desk,coordinator,07700900003,,,sms,,yes\n", encoding="utf-8")
    code, out, _ = cli("staff", "import", str(path))
    assert (code, out.strip()) == (0, "imported 3 of 3 staff")
    listing = cli.ok("staff", "list")
    assert "supervisor: Priya Shah" in listing and "DUTY" in listing


def test_staff_import_with_a_bad_row_imports_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "staff.csv"
    path.write_text(STAFF_HEADER
                    + "Priya Shah,supervisor,07700 900002,,,sms,,\n"
                    + "Dan Carter,mentor,07700900001,,,sms,Nobody,\n"   # unknown supervisor
                    + "Kim Lee,boss,07700900004,,,sms,,\n", encoding="utf-8")  # unknown role
    code, out, _ = cli("staff", "import", str(path))
    assert code == 1
    assert "rejected line 3: no staff member 'Nobody' to supervise" in out
    assert "rejected line 4: role 'boss'" in out
    assert "nothing imported: 2 of 3 rows need fixing" in out
    assert "no staff yet" in cli.ok("staff", "list")


def test_a_paused_mentor_gets_no_alerts_and_their_supervisor_does(staffed: Cli, db: str) -> None:
    """A mentor on leave: the crisis alert goes straight to the supervisor, not into a void."""
    from bot.config import Config
    from bot.service.runtime import build_services
    from bot.service.turns import process_inbound
    from bot.service.sink import DatabaseSink
    from bot.channels.base import InboundMessage
    from bot.storage.models import Message
    from sqlalchemy import select

    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    assert "paused Dan Carter" in staffed.ok("staff", "pause", "Dan Carter")
    assert "PAUSED" in staffed.ok("staff", "list")
    svc = build_services(Config().with_database(db))
    DatabaseSink(svc).store_inbound_sync(InboundMessage(
        "sms", "SM" + "1" * 32, "+447700900123", "I'm going to kill myself tonight"))
    process_inbound(svc)
    with svc.sessions() as s:
        paged = {m.address for m in s.scalars(select(Message).where(Message.purpose == "alert"))}
    assert paged == {"+447700900002"}  # Priya, not Dan
    assert "resumed Dan Carter" in staffed.ok("staff", "resume", "Dan Carter")


# ---- mistakes that were accepted, or gave a traceback (issue 12) ----------------------------------
def test_a_second_staff_member_with_the_same_name_is_refused(staffed: Cli) -> None:
    """Duplicate names used to be accepted; then --mentor "Dan Carter" silently picked one."""
    code, out, err = staffed("staff", "add", "Dan Carter", "--phone", "07700900009")
    assert code == 2 and out == ""
    assert "already called Dan Carter (id 2)" in one_error_line(err)


def test_a_mentor_cannot_be_named_as_a_supervisor(staffed: Cli) -> None:
    """The role graph routes urgent alerts and builds every digest."""
    code, _, err = staffed("staff", "add", "Kim Lee", "--phone", "07700900009", "--supervisor", "Dan Carter")
    assert code == 2 and "Dan Carter is a mentor, not a supervisor" in one_error_line(err)
    code, _, err = staffed("staff", "edit", "Priya Shah", "--supervisor", "Dan Carter")
    assert code == 2 and "not a supervisor" in one_error_line(err)


def test_a_mentee_added_without_a_plan_gets_the_default_plan_and_is_told_so(staffed: Cli) -> None:
    """[checkins] default_plan applies (it used to do nothing: no check-in, ever)."""
    out = staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    assert "plan: mon 10:00 (the default" in out
    shown = staffed.ok("schedule", "show", "Sam")
    assert shown.splitlines()[0].startswith("Sam: plan mon 10:00") and "checkin" in shown
    out = staffed.ok("mentee", "add", "Alex", "--phone", "07700900124", "--mentor", "Dan Carter",
                     "--plan", "none")
    assert "no plan: no check-ins are scheduled" in out


def test_mentee_add_for_telegram_prints_the_code_that_is_stored_and_link_shows_it_again(
        staffed: Cli, db: str) -> None:
    """One code, wherever it is shown, until a new one is asked for."""
    out = staffed.ok("mentee", "add", "Sam", "--channel", "telegram", "--mentor", "Dan Carter")
    printed = next(line.split(": ")[1] for line in out.splitlines() if line.startswith("one-time code"))
    engine = create_engine(db)
    with engine.connect() as conn:
        from bot.storage.models import Mentee

        stored = conn.execute(select(Mentee.telegram_link_code)).scalar_one()
    engine.dispose()
    assert printed == stored
    assert f"one-time code: {stored}" in staffed.ok("mentee", "link", "Sam")
    assert f"one-time code: {stored}" not in staffed.ok("mentee", "link", "Sam", "--new")


@pytest.fixture
def provider_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config that turns Twilio and Telegram on, with their tokens missing from this shell."""
    path = tmp_path / "config.toml"
    path.write_text('[twilio]\nenabled = true\naccount_sid = "AC123"\nfrom_number = "+447700900000"\n'
                    '[telegram]\nenabled = true\nbot_username = "bridges_bot"\n', encoding="utf-8")
    for name in ("CHECKINS_TWILIO_AUTH_TOKEN", "CHECKINS_TELEGRAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHECKINS_CONFIG", str(path))


def test_read_only_commands_need_no_provider_secrets(staffed: Cli, provider_config: None) -> None:
    """A coordinator's shell without the service's tokens can still look things up."""
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    for argv in (("alerts", "list"), ("staff", "list"), ("mentee", "list"), ("audit",),
                 ("schedule", "show", "Sam")):
        staffed.ok(*argv)
    code, _, err = staffed("serve")
    assert code == 2 and "[telegram] token: required" in one_error_line(err)


def test_alerts_ack_and_close_refuse_what_they_used_to_accept(staffed: Cli) -> None:
    """An unknown code exits non-zero; so do an empty outcome and a second close."""
    code, _, err = staffed("alerts", "ack", "K7Q2")
    assert code == 2 and "no alert 'K7Q2'" in one_error_line(err)
    code, _, err = staffed("alerts", "close", "K7Q2", "--outcome", "done")
    assert code == 2 and "no alert 'K7Q2'" in one_error_line(err)


def test_closing_an_alert_records_the_operator_and_happens_once(staffed: Cli, db: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """No --by: the alert is closed by whoever ran the command, and only once."""
    from bot.app import loops
    from bot.channels.base import InboundMessage
    from bot.config import Config
    from bot.service.runtime import build_services

    monkeypatch.setenv("USER", "maya")
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    svc = build_services(Config().with_database(db))
    loops.receive(svc, InboundMessage("sms", "SM" + "2" * 32, "+447700900123",
                                      "I'm going to kill myself tonight"))
    loops.handle_inbound(svc)
    svc.engine.dispose()
    code = staffed.ok("alerts", "list").split()[0]
    bad, _, err = staffed("alerts", "close", code, "--outcome", "  ")
    assert bad == 2 and "outcome" in one_error_line(err)
    assert staffed.ok("alerts", "note", code, "Rang Sam, safe with his sister").startswith("note added")
    staffed.ok("alerts", "close", code, "--outcome", "Spoke to Sam; GP today")
    again, _, err = staffed("alerts", "close", code, "--outcome", "again")
    assert again == 2 and "already closed by shell:maya" in one_error_line(err)
    shown = staffed.ok("alerts", "show", code)
    assert "(closed by shell:maya)" in shown and "Rang Sam, safe with his sister" in shown
    audit = staffed.ok("audit", "--mentee", "Sam")
    assert "alert.close" in audit and "alert.note" in audit and "shell:maya" in audit
    assert "Rang Sam" not in audit  # the audit log holds no words


def test_staff_list_into_a_pipe_that_closes_early_ends_quietly(tmp_path: Path, db: str) -> None:
    """`checkins staff list | head` used to end in a BrokenPipe traceback."""
    import subprocess
    import sys

    from sqlalchemy import insert

    from bot.config import Config
    from bot.service.runtime import build_services
    from bot.storage.models import Staff

    checkins = Path(sys.executable).parent / "checkins"
    if not checkins.exists():
        pytest.skip("the checkins console script is not installed in this environment")
    svc = build_services(Config().with_database(db))
    with svc.sessions() as s, s.begin():  # set-up: far more lines than a pipe buffer holds
        s.execute(insert(Staff), [{"name": f"Mentor {i}", "role": "mentor", "email": f"m{i}@example.org",
                                   "channels": "email", "is_duty": False, "active": True,
                                   "created_at": svc.clock.now()} for i in range(3000)])
    svc.engine.dispose()
    proc = subprocess.Popen([str(checkins), "--database", db, "staff", "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdout is not None and proc.stderr is not None
    assert b"Mentor 0" in proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_a_phone_that_belongs_to_someone_else_is_one_line_not_a_traceback(staffed: Cli) -> None:
    """It used to print about 60 lines of SQL."""
    staffed.ok("mentee", "add", "Sam", "--phone", "07700900123", "--mentor", "Dan Carter")
    code, _, err = staffed("mentee", "add", "Alex", "--phone", "07700 900123", "--mentor", "Dan Carter")
    assert code == 2 and "phone +447700900123 already belongs to mentee 1" in one_error_line(err)
    staffed.ok("mentee", "add", "Alex", "--phone", "07700900124", "--mentor", "Dan Carter")
    code, _, err = staffed("mentee", "edit", "Alex", "--phone", "07700900123")
    assert code == 2 and "phone +447700900123 already belongs to mentee 1" in one_error_line(err)
