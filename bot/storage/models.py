"""ORM models: the only description of the database schema (Alembic migrations are made from it).

All instants are stored as timezone-aware UTC. Personal data is kept to what the service needs:
message bodies and answers are special-category data and are deleted by retention.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.storage.sealed import Sealed, SealedJSON, hash_columns


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite forgets the zone; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Staff(Base):
    """A mentor, supervisor or duty contact. `channels` is the ordered list alerts try."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))  # mentor | supervisor | coordinator
    # data-protection: encrypted, found by the keyed hashes below (unique there)
    phone: Mapped[str | None] = mapped_column(Sealed)
    telegram_chat_id: Mapped[str | None] = mapped_column(Sealed)
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    telegram_chat_id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    channels: Mapped[str] = mapped_column(String(60), default="sms,telegram,email")
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    is_duty: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    telegram_link_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]

    supervisor: Mapped[Staff | None] = relationship(remote_side="Staff.id")

    @property
    def channel_list(self) -> list[str]:
        return [c.strip() for c in self.channels.split(",") if c.strip()]


class Mentee(Base):
    """A person on probation taking part in check-ins."""

    __tablename__ = "mentees"

    id: Mapped[int] = mapped_column(primary_key=True)
    # data-protection: encrypted, found by the keyed hashes below (unique there)
    first_name: Mapped[str] = mapped_column(Sealed)
    last_name: Mapped[str] = mapped_column(Sealed, default="")
    phone: Mapped[str | None] = mapped_column(Sealed)
    telegram_chat_id: Mapped[str | None] = mapped_column(Sealed)
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    telegram_chat_id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    preferred_channel: Mapped[str] = mapped_column(String(12), default="sms")
    mentor_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    status: Mapped[str] = mapped_column(String(12), default="active")  # active|paused|opted_out
    release_date: Mapped[date | None] = mapped_column(Date)
    sms_reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    telegram_reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    plan: Mapped[str | None] = mapped_column(String(120))  # e.g. "mon,thu 10:00"
    plan_start: Mapped[date | None] = mapped_column(Date)
    plan_end: Mapped[date | None] = mapped_column(Date)
    plan_version: Mapped[int] = mapped_column(Integer, default=0)
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "21:00"; None = service default
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    missed_streak: Mapped[int] = mapped_column(Integer, default=0)
    telegram_link_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    telegram_link_expires: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    unreachable_since: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # scale (start-up and planning): due check-ins are written up to here; the planner passes
    # over a mentee until this comes within half a horizon (None: plan them, e.g. just imported).
    planned_until: Mapped[datetime | None]

    mentor: Mapped[Staff] = relationship(foreign_keys=[mentor_id])

    @property
    def display_name(self) -> str:
        """First name and initial: all staff alerts and digests show of a mentee."""
        initial = f" {self.last_name[:1].upper()}." if self.last_name else ""
        return f"{self.first_name}{initial}"


class Conversation(Base):
    """One check-in (or other flow) with a mentee, stored question by question."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_mentee_open", "mentee_id", "finished_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("mentees.id"), index=True)
    flow_name: Mapped[str] = mapped_column(String(40))
    flow_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict[str, Any]] = mapped_column(SealedJSON, default=dict)  # data-protection
    reasks: Mapped[int] = mapped_column(Integer, default=0)
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[str] = mapped_column(String(20), default="scheduled")
    outcome: Mapped[str] = mapped_column(String(12), default="open")  # open|completed|missed|cancelled|interrupted
    started_at: Mapped[datetime]
    first_reply_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=0)
    # -- respond (issue 10): a check-in paused by a crisis disclosure; no questions while set.
    paused_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}


class Message(Base):
    """Every inbound and outbound message. Outbound rows with status 'pending' are the outbox."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "direction", "provider_id", name="uq_messages_provider"),
        Index("ix_messages_outbox", "status", "next_attempt_at"),
        Index("ix_messages_inbound_todo", "direction", "processed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    channel: Mapped[str] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(Sealed)  # data-protection: encrypted
    mentee_id: Mapped[int | None] = mapped_column(ForeignKey("mentees.id"), index=True)
    # The recipient (or sender) is this staff member: routing and fallback go by staff rules.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    # Who wrote a staff reply to a mentee (purpose "staff_reply"); the recipient is the mentee.
    sent_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    body: Mapped[str] = mapped_column(Sealed)  # data-protection: encrypted
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(20), default="flow")  # flow|safety|alert|system|staff_reply
    status: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(16))
    error_detail: Mapped[str | None] = mapped_column(String(300))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    respect_quiet_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    next_attempt_at: Mapped[datetime | None]
    not_after: Mapped[datetime | None]  # a check-in message not sent by then is dropped
    processed_at: Mapped[datetime | None]  # inbound: when the turn that handled it committed
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # Sending reliability (send-reliability): when a send was first tried, so one whose outcome
    # is unknown (the provider answered too slowly) is re-sent only within a window of it.
    first_tried_at: Mapped[datetime | None]


class Answer(Base):
    """A typed answer to one check-in question."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("mentees.id"), index=True)
    question: Mapped[str] = mapped_column(String(40))
    raw_text: Mapped[str] = mapped_column(Sealed)  # data-protection: encrypted
    value: Mapped[str | None] = mapped_column(String(200))
    number: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime]


class Alert(Base):
    """A risk that needs a human: routed, re-escalated until acknowledged, closed by a human."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_mentee_category_status", "mentee_id", "category", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("mentees.id"))
    category: Mapped[str] = mapped_column(String(20))  # crisis|housing|domestic_abuse|no_contact|review
    severity: Mapped[str] = mapped_column(String(10))  # urgent|concern
    evidence: Mapped[str] = mapped_column(Sealed)  # data-protection: encrypted
    status: Mapped[str] = mapped_column(String(14), default="open")  # open|acknowledged|closed
    ladder_step: Mapped[int] = mapped_column(Integer, default=0)
    ladder_fired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    ladder_started_at: Mapped[datetime]
    last_finding_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    ack_via: Mapped[str | None] = mapped_column(String(12))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str | None] = mapped_column(Sealed)  # data-protection: encrypted
    housing_consent: Mapped[bool | None] = mapped_column(Boolean)
    housing_council: Mapped[str | None] = mapped_column(String(120))

    mentee: Mapped[Mentee] = relationship()
    events: Mapped[list[AlertEvent]] = relationship(order_by="AlertEvent.id", back_populates="alert")


class AlertEvent(Base):
    """One step in an alert's life: raised, notified, failed, folded, acknowledged, closed."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    channel: Mapped[str | None] = mapped_column(String(12))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    detail: Mapped[str] = mapped_column(Sealed, default="")  # data-protection: may quote the mentee
    at: Mapped[datetime]

    alert: Mapped[Alert] = relationship(back_populates="events")


class AlertNote(Base):
    """A staff member's note on an alert (what they did, who they spoke to); part of its history."""

    __tablename__ = "alert_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Sealed)  # data-protection: encrypted
    created_at: Mapped[datetime]


class RiskFlag(Base):
    """A detector finding on a message or answer (kept even when folded into an open alert)."""

    __tablename__ = "risk_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("mentees.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    category: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    evidence: Mapped[str] = mapped_column(Sealed)  # data-protection: encrypted
    rule_id: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime]


class DueEvent(Base):
    """A timer as a row: check-in due, reminder, expiry, ladder step, one-off check-in.

    `dedupe_key` makes scheduling idempotent (one row per mentee per event), so a re-run of the
    planner or a second worker never creates a second check-in.
    """

    __tablename__ = "due_events"
    __table_args__ = (Index("ix_due_events_pending", "status", "due_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # checkin|oneoff|reminder|expiry|ladder|...
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    mentee_id: Mapped[int | None] = mapped_column(ForeignKey("mentees.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|claimed|done|missed|cancelled
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    plan_version: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class DigestSent(Base):
    """A weekly digest sent to one recipient; makes the weekly job safe to re-run."""

    __tablename__ = "digests_sent"
    __table_args__ = (UniqueConstraint("staff_id", "week", "kind", name="uq_digest_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    week: Mapped[str] = mapped_column(String(10))  # 2026-W48
    kind: Mapped[str] = mapped_column(String(12), default="supervisor")
    sent_at: Mapped[datetime]


class ServiceState(Base):
    """Small key/value settings the service keeps (e.g. the Telegram polling offset)."""

    __tablename__ = "service_state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), server_default=text("''"))


class ReadMarker(Base):
    """How far one staff member has read one mentee's messages: the newest inbound id they saw."""

    __tablename__ = "read_markers"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("mentees.id"), primary_key=True)
    last_read_message_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    read_at: Mapped[datetime]


class AuditEntry(Base):
    """One thing a person (or the service) did or looked at: who, when, what, to which record.

    No foreign keys: the log must outlive what it names (an erased mentee, a staff member who
    left). `detail` is a short description and never carries a message body.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(String(10))  # staff | operator | system
    actor_staff_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_label: Mapped[str] = mapped_column(String(120))  # a staff name, shell:<user>, system
    action: Mapped[str] = mapped_column(String(40))  # e.g. alert.close, mentee.view
    mentee_id: Mapped[int | None] = mapped_column(Integer, index=True)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(Integer)  # a staff record acted on
    target: Mapped[str] = mapped_column(String(60), default="")  # alert code, import id, week
    detail: Mapped[str] = mapped_column(String(300), default="")


# ---- flows, safe contact and mentor matching (branch: flows, issue 13) ----------------------------
# Columns added to existing tables are declared here too, so this block is the whole change.
Mentee.flow = mapped_column(String(40), nullable=True)  # None: [checkins] flow
Mentee.language = mapped_column(String(8), default="en", server_default="en", nullable=False)
# Safe contact: "mon-fri 10:00-14:00" windows non-urgent texts wait for (None: any time).
Mentee.safe_windows = mapped_column(String(120), nullable=True)
Mentee.discreet = mapped_column(Boolean, default=False, server_default=text("false"), nullable=False)
Mentee.code_word = mapped_column(Sealed, nullable=True)  # data-protection: encrypted; lower-case, trimmed
Mentee.hold_until = mapped_column(UTCDateTime(), nullable=True)  # code word: nothing sent until
Mentee.safe_check = mapped_column(String(12), nullable=True)  # None | ask | asked
# Matching facts.
Mentee.gender = mapped_column(String(20), nullable=True)
Mentee.mentor_gender = mapped_column(String(20), nullable=True)  # preference, e.g. "woman"
Mentee.area = mapped_column(String(80), nullable=True)
Mentee.languages = mapped_column(String(80), nullable=True)  # "en,cy"
Mentee.needs = mapped_column(String(200), nullable=True)  # "prison,addiction,housing"
Staff.gender = mapped_column(String(20), nullable=True)
Staff.area = mapped_column(String(80), nullable=True)
Staff.languages = mapped_column(String(80), nullable=True)
Staff.lived_experience = mapped_column(String(200), nullable=True)
Staff.skills = mapped_column(String(200), nullable=True)
Staff.caseload_limit = mapped_column(Integer, nullable=True)  # None: no limit
Conversation.flow_hash = mapped_column(String(16), nullable=True)  # the flow file version
DueEvent.flow = mapped_column(String(40), nullable=True)  # a flow other than the mentee's own


class FlowVersion(Base):
    """The exact text of every flow version a conversation started on, so it can finish on it."""

    __tablename__ = "flow_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    digest: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(300))  # the file it was read from
    text: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[datetime]


class MentorAssignment(Base):
    """Who gave a mentee to a mentor, and why (matching suggestions or a person's choice)."""

    __tablename__ = "mentor_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("mentees.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    chosen_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime]


# ---- staff web app (branch staff-web): sign-in codes, attempts, sessions ---------------------------
class SigninCode(Base):
    """A one-time sign-in code sent to a staff member; only its salted hash is kept."""

    __tablename__ = "signin_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]  # signed in with it, or replaced by a newer code


class SigninAttempt(Base):
    """A code asked for or a wrong code given: what the sign-in throttles count.

    `address_key` is a hash of the phone or email typed (known or not), never the address.
    """

    __tablename__ = "signin_attempts"
    __table_args__ = (Index("ix_signin_attempts_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # code | wrong
    address_key: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime]


class StaffSession(Base):
    """A signed-in browser: the cookie holds a random token, this row only its hash."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_why: Mapped[str | None] = mapped_column(String(20))  # signed out | everywhere | idle | ...
    client: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


# data-protection: phone numbers and Telegram chat ids are found by keyed hash, kept up to date here.
hash_columns(Staff, "phone", "telegram_chat_id")
hash_columns(Mentee, "phone", "telegram_chat_id")
