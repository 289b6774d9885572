"""The service's flows: the library built from config, the flow each check-in uses, and the
exact version each conversation started on (kept in the database so it can finish on it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.flows import Flow, FlowError, FlowLibrary, build_library
from bot.flows.choose import flow_name_for
from bot.schedule import zone
from bot.service.runtime import Services
from bot.storage.flow_versions import FlowVersionRepo
from bot.storage.models import Conversation, Mentee

_KEY = "flows"


def library(svc: Services) -> FlowLibrary:
    """Built once per process from `[flows] folder` (checked at start-up by `serve`)."""
    lib = svc.extras.get(_KEY)
    if lib is None:
        cfg = svc.config
        lib = build_library(cfg.flows.folder or None,
                            required=(cfg.checkins.flow, cfg.flows.release_week, cfg.flows.welfare,
                                      cfg.safe_contact.safe_check_flow))
        svc.extras[_KEY] = lib
    return lib


def flow_to_start(svc: Services, mentee: Mentee, now: datetime, requested: str | None = None) -> Flow:
    """The flow a check-in with `mentee` starts on now, as they read it (safe check first if
    due, discreet wording)."""
    from bot.service.safe_contact import contact_flow

    return contact_flow(svc, mentee, _chosen(svc, mentee, now, requested))


def _chosen(svc: Services, mentee: Mentee, now: datetime, requested: str | None) -> Flow:
    cfg = svc.config
    name = flow_name_for(
        requested=requested, own=mentee.flow, default=cfg.checkins.flow,
        release_flow=cfg.flows.release_week, release_date=mentee.release_date,
        release_days=cfg.checkins.release_daily_days,
        local_day=now.astimezone(zone(mentee.timezone or "Europe/London")).date())
    return library(svc).get(name, getattr(mentee, "language", None) or "en")


def keep_version(session: Session, flow: Flow, now: datetime) -> None:
    """Store the text of the version a conversation is starting on (once per version)."""
    if flow.digest and flow.text:
        FlowVersionRepo(session).keep(flow.name, flow.digest, flow.text, flow.source, now)


def flow_of(session: Session, svc: Services, conversation: Conversation) -> Flow:
    """The exact version `conversation` started on (the current one for older conversations),
    as its mentee reads it (discreet wording)."""
    from bot.service.safe_contact import as_read_by

    mentee = session.get(Mentee, conversation.mentee_id)
    flow = _version_of(session, svc, conversation)
    return as_read_by(mentee, flow) if mentee is not None else flow


def _version_of(session: Session, svc: Services, conversation: Conversation) -> Flow:
    lib = library(svc)
    digest = conversation.flow_hash
    flow = lib.version(conversation.flow_name, digest)
    if flow is not None:
        return flow
    stored = FlowVersionRepo(session).get(conversation.flow_name, digest) if digest else None
    if stored is None:
        raise FlowError(f"conversation {conversation.id} started on flow {conversation.flow_name} "
                        f"version {digest}, which is not stored")
    return lib.remember(stored.name, stored.digest, stored.text, stored.source)
