"""The sync worker: claims due outbox rows and applies them to Salesforce.

Rows are claimed with a compare-and-set UPDATE (and FOR UPDATE SKIP LOCKED on
PostgreSQL), so several workers can share one store without applying a row
twice. The exception is a row reclaimed from a worker that held it for more
than STUCK_AFTER, which another worker then applies again. Transient Salesforce errors are retried with
exponential backoff; a lost connection keeps events queued until a manager
connects the org again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from core.auth.audit import Actor, record_audit
from core.auth.permissions import Action, require
from core.runtime import Runtime
from core.salesforce.client import SalesforceClient
from core.salesforce.connection import open_client
from core.salesforce.errors import ReconnectRequired, SalesforceError
from core.secrets import SecretBox
from core.store.db import session_scope
from core.store.models import BookingPage, BookingRecord, OutboxEvent, OutboxStatus, SyncLog, SyncOutcome
from core.sync.executor import OrgCache, SyncExecutor, SyncResult
from core.sync.planner import Skip, plan_before_lookup
from core.webhooks.jicoo import BookingEvent, PayloadError, parse_payload

logger = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 2.0
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
RECONNECT_RETRY = timedelta(minutes=5)
# A row still "processing" after this long belongs to a worker that crashed.
STUCK_AFTER = timedelta(minutes=10)
# Rows looked at per claim attempt; older events of the same booking may block some of them.
CLAIM_BATCH = 50
MAX_ROWS_PER_PASS = 200

INTERNAL_ERROR_CODE = "internal_error"
INTERNAL_ERROR_NEXT_STEP = "sync.next.internal_error"

ClientFactory = Callable[..., SalesforceClient]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def backoff_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Return the wait before retry number attempts: 30 s doubling up to 1 h, with jitter.

    The jitter picks between half and all of the delay, so workers that failed
    together do not retry together.
    """
    ceiling = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)
    factor = (rng or random).uniform(0.5, 1.0)
    return ceiling * factor


@dataclass(frozen=True)
class _Claimed:
    outbox_id: int
    team_id: int
    attempts: int


class SyncWorker:
    """A daemon thread that applies queued booking events, every few seconds or when woken.

    process_due() does one pass synchronously, for tests and for callers that
    bring their own clock.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        clock: Clock = utc_now,
        client_factory: ClientFactory = open_client,
        poll_interval: float = POLL_INTERVAL_SECONDS,
        rng: random.Random | None = None,
    ) -> None:
        self.engine: Engine = runtime.engine
        self.box: SecretBox = runtime.box
        self.executor = SyncExecutor(OrgCache())
        self._clock = clock
        self._client_factory = client_factory
        self._poll_interval = poll_interval
        self._rng = rng or random.Random()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- thread ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the polling thread; a second call while it runs does nothing."""
        if self.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sync-worker", daemon=True)
        self._thread.start()
        logger.info("sync worker started (poll every %.1f s)", self._poll_interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its current row and wait up to timeout seconds for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("sync worker did not stop within %.0f s", timeout)
            else:
                logger.info("sync worker stopped")

    def wake(self) -> None:
        """Make the thread look for due rows now instead of at the next poll."""
        self._wake.set()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.process_due(self._clock())
            except Exception:
                logger.exception("sync worker pass failed; trying again in %.1f s", self._poll_interval)
            self._wake.wait(self._poll_interval)
            self._wake.clear()

    # --- one pass ----------------------------------------------------------------------

    def process_due(self, now: datetime) -> int:
        """Apply every outbox row due at now and return how many were processed."""
        reclaim_stuck(self.engine, now)
        processed = 0
        while processed < MAX_ROWS_PER_PASS and not self._stop.is_set():
            claimed = claim_next(self.engine, now)
            if claimed is None:
                break
            self._process(claimed, now)
            processed += 1
        return processed

    def _process(self, claimed: _Claimed, now: datetime) -> None:
        started = time.perf_counter()
        client: SalesforceClient | None = None
        calls_before = 0

        try:
            event, page, record = _load(self.engine, claimed)
            plan = plan_before_lookup(event, page, record)
            if not isinstance(plan, Skip):
                client = self._client_factory(self.engine, self.box, claimed.team_id)
                calls_before = client.api_calls
                if plan is None:
                    plan = self.executor.plan_with_lookup(client, claimed.team_id, event, page, now)
            result = self.executor.apply(client, claimed.team_id, plan, now)
        except ReconnectRequired as exc:
            self._keep_for_reconnect(claimed, exc, now, _Usage.of(client, calls_before, started))
        except SalesforceError as exc:
            usage = _Usage.of(client, calls_before, started)
            if exc.transient:
                self._retry_later(claimed, exc, now, usage)
            else:
                self._fail(claimed, exc, now, usage)
        except Exception as exc:
            logger.exception("sync of outbox %s failed unexpectedly", claimed.outbox_id)
            self._fail_unexpected(claimed, exc, now, _Usage.of(client, calls_before, started))
        else:
            _finish(self.engine, claimed, event, page, result, now, _Usage.of(client, calls_before, started))

    def _retry_later(self, claimed: _Claimed, exc: SalesforceError, now: datetime, usage: _Usage) -> None:
        attempts = claimed.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            logger.error(
                "outbox %s failed %d times with %s; giving up", claimed.outbox_id, attempts, _code(exc)
            )
            self._fail(claimed, exc, now, usage, attempts=attempts)
            return

        next_attempt = now + backoff_delay(attempts, self._rng)
        logger.warning(
            "outbox %s: %s on attempt %d; retrying at %s", claimed.outbox_id, _code(exc), attempts, next_attempt
        )
        _requeue(
            self.engine,
            claimed,
            now,
            next_attempt=next_attempt,
            attempts=attempts,
            usage=usage,
            error=exc,
            detail_key="sync.detail.retry_scheduled",
            detail_params={"attempt": attempts, "max_attempts": MAX_ATTEMPTS, "next_attempt_at": next_attempt.isoformat()},
        )

    def _keep_for_reconnect(self, claimed: _Claimed, exc: ReconnectRequired, now: datetime, usage: _Usage) -> None:
        # Not counted as an attempt: nothing reached Salesforce, and the wait is for a person.
        next_attempt = now + RECONNECT_RETRY
        logger.warning("outbox %s waits for the team's Salesforce connection to be renewed", claimed.outbox_id)
        _requeue(
            self.engine,
            claimed,
            now,
            next_attempt=next_attempt,
            attempts=claimed.attempts,
            usage=usage,
            error=exc,
            detail_key="sync.detail.waiting_for_reconnect",
            detail_params={"next_attempt_at": next_attempt.isoformat()},
        )

    def _fail(
        self, claimed: _Claimed, exc: SalesforceError, now: datetime, usage: _Usage, *, attempts: int | None = None
    ) -> None:
        logger.error("outbox %s failed: %s", claimed.outbox_id, _code(exc))
        _mark_failed(
            self.engine,
            claimed,
            now,
            attempts=claimed.attempts + 1 if attempts is None else attempts,
            usage=usage,
            error_code=_code(exc),
            error_message=exc.message,
            next_step_key=exc.next_step_key,
            next_step_params=exc.next_step_params,
        )

    def _fail_unexpected(self, claimed: _Claimed, exc: Exception, now: datetime, usage: _Usage) -> None:
        _mark_failed(
            self.engine,
            claimed,
            now,
            attempts=claimed.attempts + 1,
            usage=usage,
            error_code=INTERNAL_ERROR_CODE,
            error_message=f"{type(exc).__name__} while applying outbox {claimed.outbox_id}",
            next_step_key=INTERNAL_ERROR_NEXT_STEP,
            next_step_params={"outbox_id": claimed.outbox_id},
        )


# --- claiming ----------------------------------------------------------------------------


def reclaim_stuck(engine: Engine, now: datetime) -> int:
    """Put rows left in processing for more than STUCK_AFTER back in the queue; return how many."""
    with session_scope(engine) as session:
        result = session.exec(
            update(OutboxEvent)
            .where(OutboxEvent.status == OutboxStatus.PROCESSING, OutboxEvent.claimed_at < now - STUCK_AFTER)
            .values(status=OutboxStatus.QUEUED, claimed_at=None, next_attempt_at=now, attempts=OutboxEvent.attempts + 1)
        )
    if result.rowcount:
        logger.warning("re-queued %d outbox rows left in processing by a stopped worker", result.rowcount)
    return result.rowcount


def claim_next(engine: Engine, now: datetime) -> _Claimed | None:
    """Mark the oldest due, unblocked queued row as processing and return it, or None."""
    with session_scope(engine) as session:
        statement = (
            select(OutboxEvent)
            .where(OutboxEvent.status == OutboxStatus.QUEUED, OutboxEvent.next_attempt_at <= now)
            .order_by(OutboxEvent.received_at, OutboxEvent.id)
            .limit(CLAIM_BATCH)
        )
        if engine.dialect.name == "postgresql":
            # NOTE: the tests run on SQLite only, so this locking path has not been run.
            statement = statement.with_for_update(skip_locked=True)

        for row in session.exec(statement).all():
            if _older_event_pending(session, row):
                continue
            result = session.exec(
                update(OutboxEvent)
                .where(OutboxEvent.id == row.id, OutboxEvent.status == OutboxStatus.QUEUED)
                .values(status=OutboxStatus.PROCESSING, claimed_at=now)
            )
            if result.rowcount == 1:
                return _Claimed(outbox_id=row.id, team_id=row.team_id, attempts=row.attempts)
    return None


def _event_order(row: OutboxEvent) -> tuple[datetime, datetime, int]:
    return (row.object_updated_at or row.received_at, row.received_at, row.id)


def _older_event_pending(session: Session, row: OutboxEvent) -> bool:
    """Return whether an older event of the same booking is still queued or processing."""
    siblings = session.exec(
        select(OutboxEvent).where(
            OutboxEvent.team_id == row.team_id,
            OutboxEvent.booking_uid == row.booking_uid,
            OutboxEvent.id != row.id,
            OutboxEvent.status.in_([OutboxStatus.QUEUED, OutboxStatus.PROCESSING]),
        )
    ).all()
    return any(_event_order(sibling) < _event_order(row) for sibling in siblings)


# --- loading and writing -----------------------------------------------------------------


def _load(engine: Engine, claimed: _Claimed) -> tuple[BookingEvent, BookingPage | None, BookingRecord | None]:
    with Session(engine, expire_on_commit=False) as session:
        outbox = session.get(OutboxEvent, claimed.outbox_id)
        event = parse_payload(outbox.payload)
        page = session.exec(
            select(BookingPage).where(
                BookingPage.team_id == claimed.team_id, BookingPage.event_type_uid == event.event_type_uid
            )
        ).first()
        record = session.exec(
            select(BookingRecord).where(
                BookingRecord.team_id == claimed.team_id, BookingRecord.booking_uid == event.booking_uid
            )
        ).first()
        return event, page, record


@dataclass(frozen=True)
class _Usage:
    api_calls: int
    duration_ms: int

    @classmethod
    def of(cls, client: SalesforceClient | None, calls_before: int, started: float) -> _Usage:
        calls = client.api_calls - calls_before if client is not None else 0
        return cls(api_calls=calls, duration_ms=round((time.perf_counter() - started) * 1000))


def _finish(
    engine: Engine,
    claimed: _Claimed,
    event: BookingEvent,
    page: BookingPage | None,
    result: SyncResult,
    now: datetime,
    usage: _Usage,
) -> None:
    with session_scope(engine) as session:
        outbox = session.get(OutboxEvent, claimed.outbox_id)
        outbox.status = OutboxStatus.DONE
        outbox.attempts = claimed.attempts + 1
        outbox.claimed_at = None
        session.add(outbox)

        _save_booking_record(session, claimed.team_id, event, result)

        log = _sync_log(session, claimed.outbox_id)
        log.booking_page_id = page.id if page is not None else log.booking_page_id
        log.outcome = result.outcome
        log.records = result.records
        log.detail_key = result.detail_key
        log.detail_params = result.detail_params
        _clear_error(log)
        _record_usage(log, usage, claimed, outbox.attempts, now)
        session.add(log)

    logger.info(
        "outbox %s: %s, %d API calls, %d ms", claimed.outbox_id, result.outcome, usage.api_calls, usage.duration_ms
    )


def _save_booking_record(session: Session, team_id: int, event: BookingEvent, result: SyncResult) -> None:
    record = session.exec(
        select(BookingRecord).where(BookingRecord.team_id == team_id, BookingRecord.booking_uid == event.booking_uid)
    ).first()
    created_something = result.who_id is not None or result.event_id is not None
    if record is None:
        if not created_something:
            return
        record = BookingRecord(team_id=team_id, booking_uid=event.booking_uid)

    if result.who_id:
        record.who_id = result.who_id
    if result.lead_id:
        record.lead_id = result.lead_id
    if result.event_id:
        record.event_id = result.event_id
    if result.event_gone:
        record.event_id = None
    if result.outcome in (SyncOutcome.CREATED_LEAD, SyncOutcome.CREATED_EVENT):
        record.cancelled = False
    if result.cancelled:
        record.cancelled = True
    if result.applied and event.updated_at is not None:
        if record.applied_updated_at is None or event.updated_at > record.applied_updated_at:
            record.applied_updated_at = event.updated_at
    session.add(record)


def _requeue(
    engine: Engine,
    claimed: _Claimed,
    now: datetime,
    *,
    next_attempt: datetime,
    attempts: int,
    usage: _Usage,
    error: SalesforceError,
    detail_key: str,
    detail_params: dict[str, Any],
) -> None:
    with session_scope(engine) as session:
        outbox = session.get(OutboxEvent, claimed.outbox_id)
        outbox.status = OutboxStatus.QUEUED
        outbox.attempts = attempts
        outbox.next_attempt_at = next_attempt
        outbox.claimed_at = None
        session.add(outbox)

        log = _sync_log(session, claimed.outbox_id)
        log.outcome = SyncOutcome.QUEUED
        log.detail_key = detail_key
        log.detail_params = detail_params
        log.error_code = _code(error)
        log.error_message = error.message
        log.next_step_key = error.next_step_key
        log.next_step_params = error.next_step_params
        _record_usage(log, usage, claimed, attempts, now)
        session.add(log)


def _mark_failed(
    engine: Engine,
    claimed: _Claimed,
    now: datetime,
    *,
    attempts: int,
    usage: _Usage,
    error_code: str,
    error_message: str,
    next_step_key: str,
    next_step_params: dict[str, Any],
) -> None:
    with session_scope(engine) as session:
        outbox = session.get(OutboxEvent, claimed.outbox_id)
        outbox.status = OutboxStatus.FAILED
        outbox.attempts = attempts
        outbox.claimed_at = None
        session.add(outbox)

        log = _sync_log(session, claimed.outbox_id)
        log.outcome = SyncOutcome.FAILED
        log.records = []
        log.detail_key = None
        log.detail_params = {}
        log.error_code = error_code
        log.error_message = error_message
        log.next_step_key = next_step_key
        log.next_step_params = next_step_params
        _record_usage(log, usage, claimed, attempts, now)
        session.add(log)


def _sync_log(session: Session, outbox_id: int) -> SyncLog:
    log = session.exec(select(SyncLog).where(SyncLog.outbox_id == outbox_id)).first()
    if log is None:
        raise LookupError(f"outbox {outbox_id} has no sync log row")
    return log


def _clear_error(log: SyncLog) -> None:
    log.error_code = None
    log.error_message = None
    log.next_step_key = None
    log.next_step_params = {}


def _record_usage(log: SyncLog, usage: _Usage, claimed: _Claimed, attempts: int, now: datetime) -> None:
    # Calls, time and attempts add up over retries, so the row shows what the event cost in total.
    # The outbox count restarts at a manual retry, so the row adds this run's attempts to its own count.
    log.api_calls += usage.api_calls
    log.duration_ms += usage.duration_ms
    log.attempts = max(log.attempts + attempts - claimed.attempts, attempts)
    log.updated_at = now


def _code(exc: SalesforceError) -> str:
    return exc.error_code or type(exc).__name__


# --- manual retry ------------------------------------------------------------------------


def retry_failed(engine: Engine, sync_log_id: int, now: datetime, *, actor: Actor) -> None:
    """Queue the failed event behind sync log row sync_log_id again, with a fresh automatic retry budget.

    The outbox attempt count restarts at 0; the sync log row keeps counting every attempt.

    Raises LookupError when the row does not exist, PermissionDenied when actor
    may not retry syncs in the row's team, and ValueError when it has not failed.
    """
    with session_scope(engine) as session:
        log = session.get(SyncLog, sync_log_id)
        if log is None:
            raise LookupError(f"sync log row {sync_log_id} not found")
        team_id = log.team_id
    require(engine, actor, team_id, Action.RETRY_SYNC, now, target=f"sync log row {sync_log_id}")

    with session_scope(engine) as session:
        log = session.get(SyncLog, sync_log_id)
        outbox = session.get(OutboxEvent, log.outbox_id)
        if log.outcome != SyncOutcome.FAILED or outbox is None or outbox.status != OutboxStatus.FAILED:
            raise ValueError(f"sync log row {sync_log_id} has outcome {log.outcome}; only failed rows can be retried")

        outbox.status = OutboxStatus.QUEUED
        outbox.attempts = 0
        outbox.next_attempt_at = now
        outbox.claimed_at = None
        session.add(outbox)

        record_audit(
            session,
            actor=actor,
            action="sync.retried",
            now=now,
            team_id=team_id,
            target=f"sync log row {sync_log_id}",
            before={"outcome": log.outcome, "error_code": log.error_code},
            after={"outcome": SyncOutcome.QUEUED.value},
        )
        log.outcome = SyncOutcome.QUEUED
        log.detail_key = "sync.detail.retry_requested"
        log.detail_params = {}
        _clear_error(log)
        log.updated_at = now
        session.add(log)
    logger.info("sync log row %s (outbox %s) queued again by a manual retry", sync_log_id, log.outbox_id)
