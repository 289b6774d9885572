"""The digest as an email (text + HTML alternatives, CSV attached) and its delivery over SMTP."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from escalation.digest.render import RenderedDigest
from bot.channels.base import SendError
from escalation.notify_email import EmailNotifier, SmtpSettings  # one SMTP path for alerts and digests

__all__ = ["DigestSendError", "SmtpSettings", "build_digest_email", "send_email"]


class DigestSendError(Exception):
    """The SMTP server could not be reached or refused the digest."""


def build_digest_email(
    rendered: RenderedDigest, *, sender: str, to: str, sent_at: datetime
) -> EmailMessage:
    """A multipart message: text and HTML as alternatives, the CSV as an attachment."""
    if sent_at.tzinfo is None:
        raise ValueError("build_digest_email needs a timezone-aware sent_at")
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(idstring="checkin-digest")
    message.set_content(rendered.text, subtype="plain", charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    message.add_attachment(
        rendered.csv.encode("utf-8"),
        maintype="text",
        subtype="csv",
        filename=rendered.csv_filename,
    )
    return message


def send_email(message: EmailMessage, settings: SmtpSettings) -> None:
    """Hand the message to the SMTP server, upgrading to TLS and logging in if configured."""
    try:
        EmailNotifier(settings).deliver(message)
    except SendError as exc:
        raise DigestSendError(
            f"sending digest to {message['To']} via {settings.host}:{settings.port} failed: {exc}"
        ) from exc
