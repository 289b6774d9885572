"""The digest email as received by a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from escalation.digest.email import DigestSendError, SmtpSettings, build_digest_email, send_email
from escalation.digest.figures import supervisor_digest
from escalation.digest.records import DigestRecords
from escalation.digest.render import RenderedDigest, render
from escalation.digest.week import parse_week

SENT_AT = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _only_dana(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"digest", b"s3cret")
    # handled=False: let aiosmtpd send the 535 reply itself.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def rendered(records: DigestRecords) -> RenderedDigest:
    return render(supervisor_digest(records, 1, parse_week("2026-W43")))


@pytest.fixture
def plain_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed, so no test certificate can be made")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(tls_files: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), _free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context,
        require_starttls=True, authenticator=_only_dana, auth_require_tls=True,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _email(rendered: RenderedDigest) -> EmailMessage:
    return build_digest_email(rendered, sender="digest@example.org", to="dana@example.org", sent_at=SENT_AT)


def _parse(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_email_arrives_with_text_html_and_the_csv_attached(
    rendered: RenderedDigest, plain_server: tuple[Inbox, int]
) -> None:
    inbox, port = plain_server
    send_email(_email(rendered), SmtpSettings("127.0.0.1", port, starttls=False))

    [(sender, recipients, raw)] = inbox.received
    assert (sender, recipients) == ("digest@example.org", ["dana@example.org"])
    mail = _parse(raw)
    assert mail["Subject"] == "Check-in digest 2026-W43: 4 mentees need a look"
    assert mail.get_content_type() == "multipart/mixed"
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    assert "Response rate: 60%, down 15 points" in text.get_content()
    assert html.get_content().startswith("<!DOCTYPE html>")
    assert "Needs a look (4)" in html.get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "checkin-digest-2026-W43.csv"
    assert attachment.get_content_type() == "text/csv"
    received_csv = attachment.get_content()
    received_csv = received_csv.decode() if isinstance(received_csv, bytes) else received_csv
    assert received_csv.replace("\r\n", "\n") == rendered.csv.replace("\r\n", "\n")
    assert received_csv.count("2026-W43,") == 5


def test_text_and_html_are_alternatives_of_each_other(
    rendered: RenderedDigest, plain_server: tuple[Inbox, int]
) -> None:
    inbox, port = plain_server
    send_email(_email(rendered), SmtpSettings("127.0.0.1", port, starttls=False))
    mail = _parse(inbox.received[0][2])
    alternative = next(p for p in mail.iter_parts() if p.get_content_type() == "multipart/alternative")
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]


def test_starttls_and_login_are_used_when_configured(
    rendered: RenderedDigest, tls_server: tuple[Inbox, int], tls_files: tuple[Path, Path]
) -> None:
    inbox, port = tls_server
    settings = SmtpSettings("127.0.0.1", port, username="digest", password="s3cret", ca_file=str(tls_files[0]))
    send_email(_email(rendered), settings)
    assert len(inbox.received) == 1


def test_a_refused_login_is_reported_not_swallowed(
    rendered: RenderedDigest, tls_server: tuple[Inbox, int], tls_files: tuple[Path, Path]
) -> None:
    inbox, port = tls_server
    settings = SmtpSettings("127.0.0.1", port, username="digest", password="wrong", ca_file=str(tls_files[0]))
    with pytest.raises(DigestSendError, match="dana@example.org"):
        send_email(_email(rendered), settings)
    assert inbox.received == []


def test_an_untrusted_certificate_is_refused(
    rendered: RenderedDigest, tls_server: tuple[Inbox, int]
) -> None:
    inbox, port = tls_server
    with pytest.raises(DigestSendError):
        send_email(_email(rendered), SmtpSettings("127.0.0.1", port, username="digest", password="s3cret"))
    assert inbox.received == []


def test_an_unreachable_server_is_reported(rendered: RenderedDigest) -> None:
    with pytest.raises(DigestSendError, match=r"127\.0\.0\.1"):
        send_email(_email(rendered), SmtpSettings("127.0.0.1", _free_port(), starttls=False, timeout=5))


def test_a_password_is_never_sent_to_a_remote_server_without_tls() -> None:
    with pytest.raises(ValueError, match="starttls"):
        SmtpSettings("smtp.example.org", 25, starttls=False, username="digest", password="s3cret")
