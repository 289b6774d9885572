"""Who is told about an alert, when they are chased, and when a new flag folds into an open alert.

Pure: every function takes the alert as a view, `now` and settings, and returns a decision. The
caller stores the decision (new step, notification rows, a due-event row at `next_due`) in one
transaction, so the ladder survives restarts: its only memory is `AlertView.step` and the
ladder start time.

The ladder is a list of rungs, each "at this long after the ladder started, tell these roles",
and the last rung repeats until someone acknowledges:

- urgent:  0 -> mentor + supervisor; `urgent_reack_after` -> mentor + supervisor + duty;
           then mentor + supervisor + duty every `repeat_every`.
- concern: 0 -> mentor; `concern_supervisor_after` -> mentor + supervisor;
           `concern_duty_after` -> mentor + supervisor + duty; then all three every
           `concern_repeat_every`. (Decision: an unacknowledged concern reaches the duty contact
           after a day, because "nobody has taken hold of this" is itself the risk.)

No alarm fatigue for no contact: a `no_contact` concern repeats with its gap doubling (a day,
then two, four, eight...), so a mentee who stays silent for months raises a handful of pages, not
one a day to three people; the weekly digest lists it meanwhile. Any no-contact finding while one
is open (acknowledged or not) folds into it (`fold_action`).

Quiet hours never apply here: staff alerts go out whatever the hour. Rung times count from the
ladder start, not from when the last step happened to run, so a late
tick never pushes the whole ladder back. After downtime only one catch-up notification is sent
(to everyone any missed rung would have told), never one per missed repeat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from escalation.alert_view import AlertView, FindingView, Role, StaffId

_ROLE_ORDER: tuple[Role, ...] = ("mentor", "supervisor", "duty")


@dataclass(frozen=True)
class LadderSettings:
    """Escalation timings (defaults agreed in the escalation issue; the safeguarding lead owns them)."""

    urgent_reack_after: timedelta = timedelta(minutes=15)
    repeat_every: timedelta = timedelta(minutes=15)
    concern_supervisor_after: timedelta = timedelta(hours=1)
    concern_duty_after: timedelta = timedelta(hours=24)
    concern_repeat_every: timedelta = timedelta(hours=24)
    fold_window: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError (one line) if a timing is not positive or the rungs are out of order."""
        for name in ("urgent_reack_after", "repeat_every", "concern_supervisor_after",
                     "concern_duty_after", "concern_repeat_every", "fold_window"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"ladder setting {name!r} must be positive")
        if self.concern_duty_after <= self.concern_supervisor_after:
            raise ValueError("ladder setting 'concern_duty_after' must be after "
                             "'concern_supervisor_after'")


@dataclass(frozen=True)
class Rung:
    """At `after` from the ladder start, notify these roles."""

    after: timedelta
    roles: frozenset[Role]


@dataclass(frozen=True)
class AlertPeople:
    """The staff an alert can reach: the mentee's mentor and supervisor, and the duty contact."""

    mentor_id: StaffId | None
    supervisor_id: StaffId | None
    duty_id: StaffId | None

    def id_for(self, role: Role) -> StaffId | None:
        return {"mentor": self.mentor_id, "supervisor": self.supervisor_id,
                "duty": self.duty_id}[role]


@dataclass(frozen=True)
class Notification:
    """Tell `staff_id` about the alert now; `reminder` means use the STILL NOT ACKED wording."""

    staff_id: StaffId
    role: Role
    step: int
    reminder: bool


@dataclass(frozen=True)
class LadderDecision:
    """What to do now: send `notifications`, store `step`, come back at `next_due` (None: never).

    `unroutable` means a rung was due but the alert has nobody to reach: the caller must raise
    that to a human by a second route (log + operator alert), never drop it.
    """

    notifications: tuple[Notification, ...]
    step: int
    next_due: datetime | None
    unroutable: bool = False


def ladder_rungs(severity: str, settings: LadderSettings) -> tuple[tuple[Rung, ...], timedelta]:
    """The rungs for a severity and the interval at which the last one repeats."""
    if severity == "concern":
        return (
            Rung(timedelta(0), frozenset({"mentor"})),
            Rung(settings.concern_supervisor_after, frozenset({"mentor", "supervisor"})),
            Rung(settings.concern_duty_after, frozenset({"mentor", "supervisor", "duty"})),
        ), settings.concern_repeat_every
    return (
        Rung(timedelta(0), frozenset({"mentor", "supervisor"})),
        Rung(settings.urgent_reack_after, frozenset({"mentor", "supervisor", "duty"})),
    ), settings.repeat_every


BACKOFF_CATEGORIES = frozenset({"no_contact"})


def _repeats_before(k: int, backoff: bool) -> int:
    """How many repeat gaps the k-th repeat (1-based) waits after the last rung: k, or 2^k - 1."""
    return (2**k - 1) if backoff else k


def _offset(index: int, rungs: Sequence[Rung], repeat: timedelta, backoff: bool = False) -> timedelta:
    if index < len(rungs):
        return rungs[index].after
    return rungs[-1].after + repeat * _repeats_before(index - len(rungs) + 1, backoff)


def _last_due_index(elapsed: timedelta, rungs: Sequence[Rung], repeat: timedelta,
                    backoff: bool = False) -> int:
    """The highest rung index whose time has come (-1 if none)."""
    last = rungs[-1].after
    if elapsed >= last:
        gaps = (elapsed - last) // repeat
        if not backoff:
            return len(rungs) - 1 + gaps
        k = 0
        while _repeats_before(k + 1, True) <= gaps:
            k += 1
        return len(rungs) - 1 + k
    return max((i for i, rung in enumerate(rungs) if rung.after <= elapsed), default=-1)


def _roles_between(first: int, last: int, rungs: Sequence[Rung]) -> set[Role]:
    roles: set[Role] = set()
    for index in range(first, min(last, len(rungs) - 1) + 1):
        roles |= rungs[index].roles
    if last >= len(rungs):
        roles |= rungs[-1].roles
    return roles


def _recipients(roles: Iterable[Role], people: AlertPeople) -> list[tuple[StaffId, Role]]:
    """Staff for these roles, in mentor/supervisor/duty order, each person once. If every wanted
    role is vacant, fall back to the first person the alert can reach at all."""
    wanted = set(roles)
    chosen: list[tuple[StaffId, Role]] = []
    seen: set[StaffId] = set()
    for role in _ROLE_ORDER:
        staff_id = people.id_for(role)
        if role in wanted and staff_id is not None and staff_id not in seen:
            chosen.append((staff_id, role))
            seen.add(staff_id)
    if chosen:
        return chosen
    for role in _ROLE_ORDER:
        staff_id = people.id_for(role)
        if staff_id is not None:
            return [(staff_id, role)]
    return []


def climb_ladder(
    alert: AlertView, people: AlertPeople, now: datetime, settings: LadderSettings
) -> LadderDecision:
    """The notifications due for `alert` at `now` and when its next rung is due.

    Acknowledged or closed alerts get nothing further. Call it when an alert is created (step 0:
    the first rung fires at once) and whenever its due event fires; calling it early is harmless.
    """
    if alert.is_acknowledged or not alert.is_open:
        return LadderDecision((), alert.step, None)
    rungs, repeat = ladder_rungs(alert.severity, settings)
    backoff = alert.category in BACKOFF_CATEGORIES
    elapsed = now - alert.ladder_start
    last_due = _last_due_index(elapsed, rungs, repeat, backoff)
    if last_due < alert.step:
        return LadderDecision((), alert.step,
                              alert.ladder_start + _offset(alert.step, rungs, repeat, backoff))
    new_step = last_due + 1
    next_due = alert.ladder_start + _offset(new_step, rungs, repeat, backoff)
    recipients = _recipients(_roles_between(alert.step, last_due, rungs), people)
    notifications = tuple(
        Notification(staff_id=staff_id, role=role, step=new_step, reminder=last_due > 0)
        for staff_id, role in recipients
    )
    return LadderDecision(notifications, new_step, next_due, unroutable=not notifications)


class FoldAction(Enum):
    """What a new finding does to the mentee's open alert of the same category."""

    NEW_ALERT = "new_alert"  # raise a separate alert, which pages from rung 0
    FOLD = "fold"  # add the finding to the open alert as evidence; page nobody
    UPGRADE = "upgrade"  # fold in, make the alert urgent and restart its ladder (pages at once)


def fold_action(
    existing: AlertView | None, finding: FindingView, now: datetime, settings: LadderSettings
) -> FoldAction:
    """Decide how `finding` relates to `existing` (the mentee's latest alert in that category).

    - No open alert for the same mentee and category: NEW_ALERT.
    - No contact: any finding folds into the open (or acknowledged) no-contact alert, however
      long it has been open: missed check-ins in a row are one story, not one alert each.
    - Unacknowledged concern + urgent finding: UPGRADE (the same alert, paged again as urgent).
    - Finding made only of messages already in the alert (a rolling window re-flagging them): FOLD.
    - Acknowledged alert + urgent finding: NEW_ALERT. A new urgent signal after a human took
      hold must reach a human again; we never silently add it to an alert nobody is chasing.
    - Otherwise FOLD if the alert's last flag is within `fold_window` of `now`, else NEW_ALERT.
    """
    if (
        existing is None
        or not existing.is_open
        or existing.mentee_id != finding.mentee_id
        or existing.category != finding.category
    ):
        return FoldAction.NEW_ALERT
    if existing.category in BACKOFF_CATEGORIES and finding.severity == existing.severity:
        return FoldAction.FOLD
    upgrading = finding.severity == "urgent" and existing.severity == "concern"
    if upgrading and not existing.is_acknowledged:
        return FoldAction.UPGRADE
    if finding.evidence_ids and finding.evidence_ids <= existing.evidence_ids:
        return FoldAction.FOLD
    if existing.is_acknowledged and finding.severity == "urgent":
        return FoldAction.NEW_ALERT
    if now - existing.last_activity <= settings.fold_window:
        return FoldAction.FOLD
    return FoldAction.NEW_ALERT


def should_fold(
    existing: AlertView | None, finding: FindingView, now: datetime, settings: LadderSettings
) -> bool:
    """True if `finding` belongs to `existing` rather than a new alert (FOLD or UPGRADE)."""
    return fold_action(existing, finding, now, settings) is not FoldAction.NEW_ALERT


def upgraded(alert: AlertView, now: datetime) -> AlertView:
    """The alert after an UPGRADE: urgent, ladder restarted at `now` (so it pages at once)."""
    return replace(alert, severity="urgent", step=0, ladder_started_at=now, last_finding_at=now)


def channel_plan(staff_channels: Sequence[str], failed: Iterable[str]) -> str | None:
    """The staff member's next channel to try: the first in their order that has not failed
    permanently for this notification. None means every channel failed: escalate that failure.

    A transient failure is retried on the same channel by the sender, not added to `failed`.
    """
    failed_set = set(failed)
    for channel in staff_channels:
        if channel not in failed_set:
            return channel
    return None
