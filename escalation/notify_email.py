"""Staff alerts by email over SMTP, with failures sorted into "try again" and "try another channel".

Connection refused, timeouts, dropped connections and 4xx replies raise TransientSendError; 5xx
replies (recipient or sender refused, message rejected, login refused), a server that can't do
the STARTTLS we require, and certificate failures raise PermanentSendError, so the alert falls
through to the staff member's next channel.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from bot.channels.base import PermanentSendError, SendError, TransientSendError
from bot.clock import Clock, SystemClock


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the mail server. STARTTLS is on unless turned off (e.g. a local relay)."""

    host: str
    port: int = 587
    sender: str = "checkins@localhost"
    starttls: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # from the environment only; never logged
    timeout: float = 10.0
    ca_file: str | None = None  # trust only this CA (a private relay); None = system store

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("smtp setting 'host' is required")
        if (self.username is None) != (self.password is None):
            raise ValueError("smtp settings 'username' and 'password' go together")
        if self.timeout <= 0:
            raise ValueError("smtp setting 'timeout' must be positive")
        if self.username is not None and not self.starttls and self.host not in _LOOPBACK:
            raise ValueError("smtp login needs starttls unless the server is on this machine")


_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _by_code(code: int, message: str) -> SendError:
    if 400 <= code < 500:
        return TransientSendError(message, code=str(code))
    return PermanentSendError(message, code=str(code))


def _message_text(response: bytes | str) -> str:
    return response.decode(errors="replace") if isinstance(response, bytes) else str(response)


class EmailNotifier:
    """Sends one plain-text email per call; one SMTP connection per send (alerts are rare)."""

    def __init__(self, settings: SmtpSettings, clock: Clock | None = None) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()

    def _build(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = to
        # A header may not contain line breaks; a subject built from data must not inject any.
        message["Subject"] = " ".join(subject.split())
        message["Date"] = formatdate(self._clock.now().timestamp(), localtime=False)
        domain = self._settings.sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(body)
        return message

    def send(self, to: str, subject: str, body: str) -> str:
        """Hand the email to the server and return its Message-ID; raise a typed send error."""
        return self.deliver(self._build(to, subject, body))

    def deliver(self, message: EmailMessage) -> str:
        """Send any built message (e.g. the digest's multipart one); typed errors as `send`."""
        settings = self._settings
        try:
            with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
                if settings.starttls:
                    context = ssl.create_default_context(cafile=settings.ca_file)
                    smtp.starttls(context=context)
                if settings.username is not None and settings.password is not None:
                    smtp.login(settings.username, settings.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _by_code(code, f"recipient refused: {_message_text(reply)}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentSendError(f"server does not offer STARTTLS: {exc}") from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data, auth, helo
            raise _by_code(exc.smtp_code, f"smtp {exc.smtp_code}: "
                           f"{_message_text(exc.smtp_error)}") from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientSendError(f"smtp server disconnected: {exc}") from exc
        except ssl.SSLError as exc:  # includes certificate verification failures
            raise PermanentSendError(f"smtp TLS failed: {exc}") from exc
        except (TimeoutError, OSError) as exc:  # refused, unreachable, timed out
            raise TransientSendError(f"smtp connection failed: {exc}") from exc
        except smtplib.SMTPException as exc:  # e.g. login asked of a server without AUTH
            raise PermanentSendError(f"smtp failed: {exc}") from exc
        if refused:
            code, reply = next(iter(refused.values()))
            raise _by_code(code, f"recipient refused: {_message_text(reply)}")
        return str(message["Message-ID"])

    async def send_async(self, to: str, subject: str, body: str) -> str:
        """`send` in a worker thread, for the async sender loop."""
        return await asyncio.to_thread(self.send, to, subject, body)
