"""The SMTP notifier against a real aiosmtpd server on 127.0.0.1, and its failure mapping."""

from __future__ import annotations

import asyncio
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
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from bot.channels.base import PermanentSendError, TransientSendError
from bot.clock import ManualClock
from escalation.notify_email import EmailNotifier, SmtpSettings

NOW = datetime(2025, 5, 12, 13, 5, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """An aiosmtpd handler that keeps what arrives and can refuse recipients."""

    def __init__(self, rcpt_reply: str | None = None, data_reply: str | None = None) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply

    async def handle_RCPT(self, server: Any, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 OK"


def _serve(handler: Inbox, **kwargs: Any) -> Iterator[int]:
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _content(message: EmailMessage) -> str:
    """The body as sent (SMTP carries CRLF line ends)."""
    return str(message.get_content()).replace("\r\n", "\n")


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def plain_port(inbox: Inbox) -> Iterator[int]:
    yield from _serve(inbox)


def _notifier(port: int, **changes: Any) -> EmailNotifier:
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="alerts@checkins.example",
                            starttls=False, timeout=5, **changes)
    return EmailNotifier(settings, clock=ManualClock(NOW))


def test_email_arrives_with_subject_body_and_the_returned_message_id(
    inbox: Inbox, plain_port: int
) -> None:
    message_id = _notifier(plain_port).send(
        "sam@example.org", "[URGENT] Jo B.: crisis/self-harm risk - reply ACK K7Q2",
        "URGENT alert K7Q2 for Jo B.\nTo acknowledge: reply ACK K7Q2\n",
    )
    (envelope, received), = inbox.messages
    assert envelope.mail_from == "alerts@checkins.example"
    assert envelope.rcpt_tos == ["sam@example.org"]
    assert received["Subject"] == "[URGENT] Jo B.: crisis/self-harm risk - reply ACK K7Q2"
    assert received["Message-ID"] == message_id
    assert received["Date"] == "Mon, 12 May 2025 13:05:00 -0000"
    assert _content(received) == "URGENT alert K7Q2 for Jo B.\nTo acknowledge: reply ACK K7Q2\n"


def test_line_breaks_in_a_subject_cannot_inject_headers(inbox: Inbox, plain_port: int) -> None:
    _notifier(plain_port).send("sam@example.org", "Alert\r\nBcc: evil@example.org", "body\n")
    (envelope, received), = inbox.messages
    assert received["Subject"] == "Alert Bcc: evil@example.org"
    assert received["Bcc"] is None and envelope.rcpt_tos == ["sam@example.org"]


def test_non_ascii_body_survives(inbox: Inbox, plain_port: int) -> None:
    _notifier(plain_port).send("sam@example.org", "Zoë B.", "She wrote \u201cI\u2019m done\u201d \U0001F48A\n")
    (_, received), = inbox.messages
    assert received["Subject"] == "Zoë B."
    assert _content(received) == "She wrote \u201cI\u2019m done\u201d \U0001F48A\n"


def test_async_send_for_the_sender_loop(inbox: Inbox, plain_port: int) -> None:
    message_id = asyncio.run(_notifier(plain_port).send_async("sam@example.org", "s", "b\n"))
    assert inbox.messages[0][1]["Message-ID"] == message_id


@pytest.mark.parametrize(
    ("reply", "error"),
    [("550 5.1.1 No such user", PermanentSendError), ("452 4.2.2 Mailbox full", TransientSendError)],
)
def test_refused_recipient_is_permanent_on_5xx_and_transient_on_4xx(
    reply: str, error: type[Exception]
) -> None:
    handler = Inbox(rcpt_reply=reply)
    for port in _serve(handler):
        with pytest.raises(error) as info:
            _notifier(port).send("nobody@example.org", "s", "b\n")
        assert getattr(info.value, "code", None) == reply[:3]
        assert handler.messages == []


def test_message_rejected_after_data_is_permanent() -> None:
    for port in _serve(Inbox(data_reply="554 5.6.0 Message rejected")):
        with pytest.raises(PermanentSendError) as info:
            _notifier(port).send("sam@example.org", "s", "b\n")
        assert info.value.code == "554"


def test_connection_refused_is_transient() -> None:
    with pytest.raises(TransientSendError, match="connection failed"):
        _notifier(_free_port()).send("sam@example.org", "s", "b\n")


def test_a_server_that_never_answers_times_out_as_transient() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel accepts the connection; nobody ever says hello
        settings = SmtpSettings(host="127.0.0.1", port=silent.getsockname()[1], starttls=False,
                                timeout=0.3)
        with pytest.raises(TransientSendError):
            EmailNotifier(settings).send("sam@example.org", "s", "b\n")


def test_required_starttls_missing_on_the_server_is_permanent(plain_port: int) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=plain_port, starttls=True, timeout=5)
    with pytest.raises(PermanentSendError, match="STARTTLS"):
        EmailNotifier(settings).send("sam@example.org", "s", "b\n")


# STARTTLS and login against a server with a throwaway self-signed certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def _authenticator(server: Any, session: Session, envelope: Envelope, mechanism: str,
                   auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"alerts", b"s3cret"
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def tls_port(inbox: Inbox, certificate: tuple[Path, Path]) -> Iterator[int]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    yield from _serve(inbox, tls_context=context, require_starttls=True,
                      authenticator=_authenticator, auth_require_tls=True)


def _tls_notifier(port: int, cert: Path | None, password: str = "s3cret") -> EmailNotifier:
    settings = SmtpSettings(host="127.0.0.1", port=port, sender="alerts@checkins.example",
                            starttls=True, username="alerts", password=password, timeout=5,
                            ca_file=str(cert) if cert else None)
    return EmailNotifier(settings, clock=ManualClock(NOW))


def test_starttls_and_login_deliver(inbox: Inbox, tls_port: int,
                                    certificate: tuple[Path, Path]) -> None:
    _tls_notifier(tls_port, certificate[0]).send("sam@example.org", "Over TLS", "body\n")
    (_, received), = inbox.messages
    assert received["Subject"] == "Over TLS"


def test_wrong_password_is_permanent(inbox: Inbox, tls_port: int,
                                     certificate: tuple[Path, Path]) -> None:
    with pytest.raises(PermanentSendError) as info:
        _tls_notifier(tls_port, certificate[0], password="wrong").send("sam@example.org", "s", "b\n")
    assert info.value.code == "535"
    assert inbox.messages == []


def test_untrusted_certificate_is_permanent_and_nothing_is_sent(inbox: Inbox,
                                                                tls_port: int) -> None:
    with pytest.raises(PermanentSendError, match="TLS"):
        _tls_notifier(tls_port, cert=None).send("sam@example.org", "s", "b\n")
    assert inbox.messages == []


def test_settings_refuse_a_login_in_clear_to_a_remote_server() -> None:
    with pytest.raises(ValueError, match="starttls"):
        SmtpSettings(host="smtp.example.org", starttls=False, username="u", password="p")
    with pytest.raises(ValueError, match="go together"):
        SmtpSettings(host="smtp.example.org", username="u")
