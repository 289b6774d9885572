"""Sending: receipts written as each send returns, short leases renewed while a worker works,
urgent rows first, and a bounded window for re-sending a message whose outcome is unknown.

A "crash" here is a cancelled send pass: nothing after the cancelled send is recorded, exactly
as if the process had died there (the subprocess crash test kills a real `checkins serve`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.base import OutboundText, SendReceipt, TransientSendError
from bot.clock import ManualClock
from bot.config import Config, ConfigError, load_config
from bot.service import admin
from bot.service.outbox import claim_jobs, outbound_values, queue_to_staff, send_pass
from bot.service.runtime import Services, build_services
from bot.storage.messages import MessageRepo
from bot.storage.models import Message
from tests.bot.service.channels_stack import (  # noqa: F401 - make_stack is a fixture
    MENTEE_PHONE,
    StackFactory,
    make_stack,
)
from tests.conftest import RecordingPhone, ServicesFactory, pg_schema_url
from tests.fakes.telegram_server import FakeTelegram, TelegramFault
from tests.fakes.fixtures import twilio_channel_for
from tests.fakes.twilio_server import FakeTwilio, TwilioFault
from tests.waiting import PATIENCE

LEASE = 2.0  # seconds: the tests' sending lease ([service] send_lease_seconds)


def tuned(svc: Services, **service: object) -> Services:
    values = {"send_lease_seconds": LEASE, **service}
    svc.config = dataclasses.replace(svc.config, service=dataclasses.replace(svc.config.service, **values))
    return svc


def queue(svc: Services, *texts: str, address: str = "+447700900321", purpose: str = "flow") -> None:
    now = svc.clock.now()
    with svc.sessions() as s, s.begin():
        MessageRepo(s).add_outbound_many([
            outbound_values(channel="console", address=address, text=t, now=now, purpose=purpose,
                            respect_quiet_hours=False) for t in texts])


def status_of(svc: Services) -> dict[str, str]:
    with svc.sessions() as s:
        return {m.body: m.status for m in s.scalars(select(Message).where(Message.direction == "out"))}


async def eventually(condition: Callable[[], bool], timeout: float = PATIENCE) -> None:
    """Wait for a condition with generous bounded polling (never a fixed sleep as an assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.01)


class GatedPhone(RecordingPhone):
    """Records like RecordingPhone, but holds the send of `hold` until released."""

    def __init__(self, hold: str) -> None:
        super().__init__()
        self.hold = hold
        self.arrived: list[str] = []
        self.release: asyncio.Event | None = None

    async def send(self, message: OutboundText) -> SendReceipt:
        self.arrived.append(message.text)
        if message.text == self.hold:
            self.release = self.release or asyncio.Event()
            await self.release.wait()
        return await super().send(message)


def test_each_receipt_is_written_when_its_send_returns_so_a_crash_resends_only_the_one_in_flight(
        new_services: ServicesFactory, clock: ManualClock) -> None:
    svc = tuned(new_services())
    queue(svc, "one", "two", "three")  # one person's: sent in order
    phone = GatedPhone(hold="two")
    svc.channels = {"console": phone}

    async def crash_mid_pass() -> dict[str, str]:
        task = asyncio.create_task(send_pass(svc))
        await eventually(lambda: "two" in phone.arrived)
        await eventually(lambda: status_of(svc)["one"] == "delivered")  # recorded while "two" is out
        seen = status_of(svc)
        task.cancel()  # the process dies with "two" in flight
        with pytest.raises(asyncio.CancelledError):
            await task
        return seen

    during = asyncio.run(crash_mid_pass())
    assert during == {"one": "delivered", "two": "sending", "three": "sending"}

    restarted = tuned(new_services())
    again = RecordingPhone()
    restarted.channels = {"console": again}
    clock.advance(seconds=LEASE - 0.5)
    assert claim_jobs(restarted) == []  # the dead worker's lease has not run out yet
    clock.advance(seconds=1)
    assert asyncio.run(send_pass(restarted)) == 2
    assert [m.text for m in again.sent] == ["two", "three"]  # "one" is not sent again
    assert status_of(restarted) == {"one": "delivered", "two": "delivered", "three": "delivered"}


def test_a_live_worker_renews_its_lease_so_a_slow_send_is_not_taken_by_another(
        new_services: ServicesFactory, clock: ManualClock) -> None:
    svc = tuned(new_services())
    queue(svc, "slow")
    phone = GatedPhone(hold="slow")
    svc.channels = {"console": phone}
    other = tuned(new_services())
    other.worker_id = "another-host:1"

    def renewed() -> bool:
        with svc.sessions() as s:
            [row] = [m for m in s.scalars(select(Message)) if m.body == "slow"]  # bodies are encrypted
            return row.updated_at >= clock.now()

    async def scenario() -> list[object]:
        task = asyncio.create_task(send_pass(svc))
        await eventually(lambda: phone.arrived == ["slow"])
        clock.advance(seconds=LEASE * 3)  # far past the lease by the injected clock...
        await eventually(renewed)  # ...but the sender renews it while it works
        taken = await asyncio.to_thread(claim_jobs, other)
        assert phone.release is not None
        phone.release.set()
        await task
        return taken

    assert asyncio.run(scenario()) == []
    assert [m.text for m in phone.sent] == ["slow"]
    assert status_of(svc) == {"slow": "delivered"}


def test_urgent_rows_are_sent_first_and_have_a_lane_of_their_own(
        new_services: ServicesFactory) -> None:
    svc = tuned(new_services(), send_concurrency=1)
    for i in range(3):
        queue(svc, f"question {i}", address=f"+44770090040{i}")
    queue(svc, "Samaritans are free, day or night: 116 123.", address="+447700900499", purpose="safety")
    queue(svc, "URGENT alert", address="+447700900001", purpose="alert")
    phone = RecordingPhone()
    svc.channels = {"console": phone}

    assert {j.text for j in claim_jobs(svc, urgent_only=True)} == {
        "Samaritans are free, day or night: 116 123.", "URGENT alert"}
    with svc.sessions() as s, s.begin():  # hand them back
        for m in s.scalars(select(Message).where(Message.status == "sending")):
            m.status, m.attempts = "pending", 0
    asyncio.run(send_pass(svc))
    assert [m.text for m in phone.sent][:2] == ["Samaritans are free, day or night: 116 123.", "URGENT alert"]
    assert len(phone.sent) == 5


class UncertainPhone(RecordingPhone):
    """The provider takes every message but answers too late: the outcome is unknown."""

    name = "sms"

    async def send(self, message: OutboundText) -> SendReceipt:
        await super().send(message)
        raise TransientSendError("Twilio did not answer in time", code="timeout", uncertain=True)


def test_a_send_with_an_unknown_outcome_is_resent_only_within_the_window_then_an_alert_falls_back(
        new_services: ServicesFactory, clock: ManualClock) -> None:
    svc = tuned(new_services(), resend_window_minutes=10.0)
    sms, telegram = UncertainPhone(), RecordingPhone()
    svc.channels = {"sms": sms, "telegram": telegram}  # type: ignore[dict-item]
    with svc.sessions() as s, s.begin():
        staff = admin.add_staff(s, clock.now(), name="Dan Carter", role="mentor", phone="+447700900001",
                                telegram_chat_id="4242", channels="sms,telegram")
        queue_to_staff(s, svc, staff, "URGENT: Sam needs a call", clock.now())

    asyncio.run(send_pass(svc))
    with svc.sessions() as s:
        [row] = s.scalars(select(Message).where(Message.direction == "out")).all()
    assert row.status == "pending" and row.error_detail.startswith("may have been delivered")

    while clock.now() - row.first_tried_at < timedelta(minutes=10):  # retries inside the window
        clock.advance(minutes=3)
        asyncio.run(send_pass(svc))
    with svc.sessions() as s:
        rows = s.scalars(select(Message).where(Message.direction == "out").order_by(Message.id)).all()
    assert rows[0].status == "unknown" and "not tried again after 10 minutes" in (rows[0].error_detail or "")
    asyncio.run(send_pass(svc))
    assert len(sms.sent) == 4  # the first try and three inside the window, never after it
    assert telegram.texts_for("4242") == ["URGENT: Sam needs a call"]  # the next channel has it


def test_twilio_answering_too_slowly_is_an_unknown_outcome_and_a_refused_connection_is_not() -> None:
    fake = FakeTwilio().start()

    async def scenario() -> tuple[TransientSendError, TransientSendError]:
        channel = twilio_channel_for(fake, timeout=0.5)
        fake.fail_next(TwilioFault.slow(60))
        with pytest.raises(TransientSendError) as slow:
            await channel.send(OutboundText("+447700900123", "hello"))
        await channel.close()
        gone = twilio_channel_for(fake, timeout=0.5, api_base_url="http://127.0.0.1:9")
        with pytest.raises(TransientSendError) as refused:
            await gone.send(OutboundText("+447700900123", "hello"))
        await gone.close()
        return slow.value, refused.value

    try:
        slow, refused = asyncio.run(scenario())
    finally:
        fake.stop()  # ends the held answer: Twilio took the message all the same
    assert slow.uncertain and slow.code == "timeout"
    assert [m["Body"] for m in fake.messages] == ["hello"]
    assert not refused.uncertain


@pytest.mark.parametrize("key, value", [("send_concurrency", 0), ("send_lease_seconds", 0.5)])
def test_sending_settings_below_their_least_are_one_line_errors(
        tmp_path: object, key: str, value: float) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "config.toml"
    path.write_text(f"[service]\n{key} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == f"config [service] {key}: must be at least {1}, got {value!r}"


def test_the_send_gate_lets_urgent_waiters_through_first_and_never_more_than_its_size() -> None:
    from bot.service.outbox import SendGate

    async def scenario() -> tuple[list[str], int]:
        gate, order, most = SendGate(1), [], 0
        await gate.acquire(False)  # an ordinary send is out

        async def waiter(name: str, urgent: bool) -> None:
            nonlocal most
            await gate.acquire(urgent)
            most = max(most, gate.busy)
            order.append(name)
            gate.release()

        tasks = [asyncio.create_task(waiter(name, name == "alert")) for name in ("q1", "q2", "alert")]
        await asyncio.sleep(0)  # let them all queue
        gate.release()
        await asyncio.gather(*tasks)
        return order, most

    order, most = asyncio.run(scenario())
    assert order == ["alert", "q1", "q2"] and most == 1


def test_at_most_send_concurrency_messages_are_ever_out_without_a_receipt(
        new_services: ServicesFactory) -> None:
    """The gate is held until the receipt is written, so a crash can re-send at most that many."""
    svc = tuned(new_services(), send_concurrency=2)
    for i in range(6):
        queue(svc, f"hello {i}", address=f"+44770090050{i}")
    unrecorded_peak = 0

    class Watching(RecordingPhone):
        async def send(self, message: OutboundText) -> SendReceipt:
            nonlocal unrecorded_peak
            receipt = await super().send(message)
            # Sends so far, counted before the receipts are read: both only grow, so this never
            # counts more out than there were, however the other sends interleave with the read.
            sent_so_far = len(self.sent)
            recorded = await asyncio.to_thread(
                lambda: sum(s not in ("pending", "sending") for s in status_of(svc).values()))
            unrecorded_peak = max(unrecorded_peak, sent_so_far - recorded)
            return receipt

    svc.channels = {"console": Watching()}
    assert asyncio.run(send_pass(svc)) == 6
    assert 1 <= unrecorded_peak <= 2


def test_telegram_down_at_start_up_does_not_keep_a_crisis_text_out(
        make_stack: StackFactory, fake_telegram: FakeTelegram) -> None:
    """The port opens and SMS is handled while Telegram's setup is retried in the background."""
    for _ in range(2):
        fake_telegram.fail_next(TelegramFault.server_error(502), method="getMe")
    stack = make_stack(run_loops=True, mode="webhook")
    stack.add_people()
    assert stack.sms("Got a rope and im doing it tonight, ive had enough").status_code == 200
    stack.wait_for(lambda: any("116 123" in t for t in stack.texts_to(MENTEE_PHONE)))
    stack.wait_for(lambda: stack.telegram.webhook)  # and Telegram is set up once it answers


class DownPhone(RecordingPhone):
    """A provider answering 5xx: every send fails for a passing reason."""

    async def send(self, message: OutboundText) -> SendReceipt:
        self.sent.append(message)
        raise TransientSendError("Bad Gateway", code="network")


def row_of(svc: Services, body: str) -> Message:
    with svc.sessions() as s:
        [row] = [m for m in s.scalars(select(Message).where(Message.direction == "out")) if m.body == body]
        return row


def test_restarts_that_took_back_a_claim_spend_none_of_its_tries_so_one_5xx_after_them_is_a_short_wait(
        new_services: ServicesFactory, clock: ManualClock) -> None:
    """A claim left by a dead worker is not a try: after more restarts than MAX_ATTEMPTS, one 5xx
    is the first failure (a 5 s wait), not the last (the message failed and, with no other
    channel, lost) nor the fourth (a 5-minute wait)."""
    from bot.service.outbox import BACKOFF_SECONDS, MAX_ATTEMPTS

    svc = tuned(new_services())
    queue(svc, "How are you doing this week?")
    for _ in range(MAX_ATTEMPTS + 1):  # each worker claims it and dies before sending it
        assert [j.text for j in claim_jobs(tuned(new_services()))] == ["How are you doing this week?"]
        clock.advance(seconds=LEASE + 1)
    down = tuned(new_services())
    down.channels = {"console": DownPhone()}
    assert asyncio.run(send_pass(down)) == 1
    row = row_of(svc, "How are you doing this week?")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=BACKOFF_SECONDS[0])
    clock.set(row.next_attempt_at)
    assert asyncio.run(send_pass(svc)) == 1  # and it goes
    assert (row_of(svc, "How are you doing this week?").status,
            row_of(svc, "How are you doing this week?").attempts) == ("delivered", 2)


def test_the_longest_wait_between_tries_is_a_setting(new_services: ServicesFactory,
                                                     clock: ManualClock) -> None:
    """`[service] send_retry_max_seconds` caps the backoff (a test on the wall clock sets it low)."""
    svc = tuned(new_services(), send_retry_max_seconds=7.0)
    svc.channels = {"console": DownPhone()}
    queue(svc, "hello")
    waits = []
    for _ in range(5):
        asyncio.run(send_pass(svc))
        row = row_of(svc, "hello")
        assert row.next_attempt_at is not None
        waits.append((row.next_attempt_at - clock.now()).total_seconds())
        clock.set(row.next_attempt_at)
    assert waits == [5, 7, 7, 7, 7]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, db_url: str) -> Iterator[str]:
    if request.param == "sqlite":
        yield db_url
    else:
        yield from pg_schema_url()


def test_a_claim_takes_urgent_rows_first_across_the_whole_queue_not_only_within_its_batch(
        any_db: str, clock: ManualClock) -> None:
    """A backlog longer than one claim: the helpline reply and the staff alert written last are
    in the first batch, ahead of every ordinary message written before them."""
    svc = tuned(build_services(Config().with_database(any_db), clock))
    try:
        for i in range(5):
            queue(svc, f"question {i}", address=f"+44770090060{i}")
        queue(svc, "Samaritans are free, day or night: 116 123.", address="+447700900699", purpose="safety")
        queue(svc, "URGENT alert", address="+447700900001", purpose="alert")
        assert [j.text for j in claim_jobs(svc, limit=2)] == [
            "Samaritans are free, day or night: 116 123.", "URGENT alert"]
        assert [j.text for j in claim_jobs(svc, limit=2)] == ["question 0", "question 1"]
    finally:
        svc.engine.dispose()


def test_a_claim_that_waited_for_the_lock_stamps_its_lease_with_the_time_it_got_it(
        any_db: str, clock: ManualClock) -> None:
    """A claim that waited longer than a lease for a busy database must not hand out messages
    whose lease has already run out: the next claim (the other lane's) would send them again."""
    from sqlalchemy import event

    svc = tuned(build_services(Config().with_database(any_db), clock))
    other = tuned(build_services(Config().with_database(any_db), clock))
    try:
        queue(svc, "URGENT alert", address="+447700900001", purpose="alert")

        def lock_wait(_conn: object) -> None:  # getting the lock took longer than a lease
            clock.advance(seconds=LEASE + 1)

        event.listen(svc.engine, "begin", lock_wait, once=True)
        assert [j.text for j in claim_jobs(svc)] == ["URGENT alert"]
        assert claim_jobs(other, urgent_only=True) == []  # held, not taken again
        clock.advance(seconds=LEASE + 1)
        assert [j.text for j in claim_jobs(other, urgent_only=True)] == ["URGENT alert"]  # once it runs out
    finally:
        svc.engine.dispose()
        other.engine.dispose()


def test_a_lapsed_lease_never_lets_the_other_lane_of_the_same_process_send_a_message_again(
        new_services: ServicesFactory, clock: ManualClock) -> None:
    """A renewal held up on a busy machine lets a lease run out while its worker is alive and
    sending: another process may take the message back then, but the same process knows better."""
    svc = tuned(new_services(), send_lease_seconds=600.0)  # no renewal comes during the test
    queue(svc, "URGENT alert", address="+447700900001", purpose="alert")
    phone = GatedPhone(hold="URGENT alert")
    svc.channels = {"console": phone}

    async def scenario() -> int:
        ordinary = asyncio.create_task(send_pass(svc))  # the ordinary lane takes urgent rows too
        await eventually(lambda: phone.arrived == ["URGENT alert"])
        clock.advance(seconds=601)  # by the clock its lease has run out
        urgent = asyncio.create_task(send_pass(svc, urgent_only=True))
        await eventually(lambda: urgent.done() or len(phone.arrived) > 1)  # a pass, or a 2nd copy
        assert phone.release is not None
        phone.release.set()
        await ordinary
        return await urgent

    assert asyncio.run(scenario()) == 0
    assert [m.text for m in phone.sent] == ["URGENT alert"]
    assert status_of(svc) == {"URGENT alert": "delivered"}
