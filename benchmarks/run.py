"""Measure webhook intake, sync throughput, API calls per booking, memory and sync log queries.

Run with ``python -m benchmarks.run``; results go to BENCHMARKS.md. Everything
runs in this process on loopback: the demo org and the webhook routes are
served by uvicorn threads, so the figures include HTTP and SQLite but share one
interpreter (and its GIL) with the load they measure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import insert
from sqlmodel import select
from starlette.applications import Starlette

from core.config import load_settings
from core.demo_org import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, approve_authorization, create_demo_org_app
from core.runtime import Runtime, build_runtime
from core.salesforce import oauth
from core.sample_booking import SampleGuest, build_sample_booking
from core.store.db import session_scope
from core.store.models import BookingPage, OutboxEvent, SyncLog, SyncOutcome, Team
from core.sync.log import SyncLogFilter, count_sync_log, export_sync_log_csv, fetch_sync_log_page
from core.sync.worker import SyncWorker
from core.web.hooks import hook_routes
from core.webhooks.jicoo import SIGNATURE_HEADER, sign
from tests.servers import free_port, serve

SECRET = "benchmark-signing-secret"
OUTPUT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    unit: str
    limit: float
    lower_is_better: bool = True

    @property
    def met(self) -> bool:
        return self.value <= self.limit if self.lower_is_better else self.value >= self.limit


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def connect_team(runtime: Runtime, team_id: int, org_url: str) -> None:
    """Connect the team to the demo org through its authorize page and token endpoint."""
    now = datetime.now(UTC)
    oauth.save_credentials(runtime.engine, runtime.box, team_id, org_url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET)
    authorize_url = oauth.start_authorization(runtime.engine, runtime.box, team_id, runtime.settings.callback_url, now)
    with requests.Session() as http:
        location = approve_authorization(http, authorize_url)
    query = parse_qs(urlsplit(location).query)
    oauth.complete_authorization(runtime.engine, runtime.box, query["state"][0], query["code"][0], now)


def create_team(runtime: Runtime) -> tuple[int, BookingPage]:
    now = datetime.now(UTC)
    with session_scope(runtime.engine) as session:
        team = Team(slug="bench", name="Benchmark", webhook_secret_enc=runtime.box.encrypt(SECRET), created_at=now)
        session.add(team)
        session.flush()
        page = BookingPage(
            team_id=team.id,
            name="Intro call",
            event_type_uid="ETBENCH",
            integration_enabled=True,
            answer_mapping={"Company": "Company", "Phone": "Phone"},
            updated_at=now,
        )
        session.add(page)
        session.flush()
        return team.id, page


def post_bookings(base_url: str, page: BookingPage, count: int, guest: SampleGuest) -> list[float]:
    """POST count signed bookings and return each request's latency in ms."""
    latencies = []
    with requests.Session() as http:
        for _ in range(count):
            body = build_sample_booking(page, guest, datetime.now(UTC))
            raw = json.dumps(body).encode()
            headers = {
                SIGNATURE_HEADER: sign(raw, SECRET, int(time.time())),
                "content-type": "application/json",
            }
            started = time.perf_counter()
            response = http.post(f"{base_url}/hooks/jicoo/bench", data=raw, headers=headers, timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 202:
                raise RuntimeError(f"the webhook endpoint returned {response.status_code}: {response.text}")
    return latencies


def sync_all(runtime: Runtime) -> tuple[int, float, int]:
    """Process every queued event; return the count, the seconds taken and tracemalloc's peak in bytes."""
    worker = SyncWorker(runtime)
    tracemalloc.start()
    started = time.perf_counter()
    processed = 0
    while (batch := worker.process_due(datetime.now(UTC))) > 0:
        processed += batch
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return processed, seconds, peak


def sync_figures(runtime: Runtime, team_id: int) -> dict[str, list[SyncLog]]:
    with session_scope(runtime.engine) as session:
        rows = session.exec(select(SyncLog).where(SyncLog.team_id == team_id)).all()
    by_outcome: dict[str, list[SyncLog]] = {}
    for row in rows:
        by_outcome.setdefault(row.outcome, []).append(row)
    return by_outcome


def fill_sync_log(runtime: Runtime, team_id: int, page_id: int, rows: int) -> None:
    """Insert the given number of synthetic sync log rows, with their outbox rows, in bulk."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    outcomes = [SyncOutcome.CREATED_LEAD, SyncOutcome.CREATED_EVENT, SyncOutcome.FAILED, SyncOutcome.SKIPPED]
    batch = 5000
    with runtime.engine.begin() as connection:
        for offset in range(0, rows, batch):
            outbox, logs = [], []
            for number in range(offset, min(rows, offset + batch)):
                moment = start + timedelta(minutes=number)
                uid = f"BKFILL{number:08d}"
                outbox.append(
                    {
                        "team_id": team_id, "dedupe_key": f"fill:{uid}", "event_type": "guest_booked",
                        "booking_uid": uid, "event_type_uid": "ETBENCH", "payload": {}, "received_at": moment,
                        "status": "done", "attempts": 1, "next_attempt_at": moment,
                    }
                )
            result_ids = connection.execute(insert(OutboxEvent).returning(OutboxEvent.id), outbox).scalars().all()
            for number, outbox_id in zip(range(offset, min(rows, offset + batch)), result_ids, strict=True):
                moment = start + timedelta(minutes=number)
                logs.append(
                    {
                        "team_id": team_id, "outbox_id": outbox_id, "booking_page_id": page_id,
                        "booking_uid": f"BKFILL{number:08d}", "event_type": "guest_booked",
                        "guest_email": f"guest{number}@example.com", "guest_name": f"Guest {number}",
                        "outcome": outcomes[number % len(outcomes)], "records": [], "api_calls": 2,
                        "duration_ms": 40, "detail_params": {}, "next_step_params": {}, "attempts": 1,
                        "created_at": moment, "updated_at": moment,
                    }
                )
            connection.execute(insert(SyncLog), logs)


def time_call(function, repeat: int = 20) -> list[float]:
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=200, help="new-customer bookings to post and sync")
    parser.add_argument("--existing", type=int, default=100, help="existing-contact bookings to post and sync")
    parser.add_argument("--log-rows", type=int, default=100_000, help="sync log rows for the query figures")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="Markdown file the results are written to")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        hooks_port = free_port()
        public_url = f"http://127.0.0.1:{hooks_port}"
        runtime = build_runtime(load_settings({"APP_DATA_DIR": folder, "APP_PUBLIC_URL": public_url}))
        org_app = create_demo_org_app(Path(folder) / "demo_org.db", callback_urls=[runtime.settings.callback_url])
        with serve(org_app) as org_url, serve(Starlette(routes=hook_routes(runtime)), port=hooks_port) as hooks_url:
            team_id, page = create_team(runtime)
            connect_team(runtime, team_id, org_url)

            intake = post_bookings(hooks_url, page, args.bookings, SampleGuest.NEW_CUSTOMER)
            intake += post_bookings(hooks_url, page, args.existing, SampleGuest.EXISTING_CONTACT)
            processed, sync_seconds, traced_peak = sync_all(runtime)

        by_outcome = sync_figures(runtime, team_id)
        fill_sync_log(runtime, team_id, page.id, args.log_rows)
        filters = SyncLogFilter(outcomes=(SyncOutcome.FAILED.value,), guest_email="guest12")
        page_ms = time_call(lambda: fetch_sync_log_page(runtime.engine, team_id, filters, page=3, viewer=None))
        count_ms = time_call(lambda: count_sync_log(runtime.engine, team_id, filters, viewer=None))
        export_started = time.perf_counter()
        csv_text = export_sync_log_csv(
            runtime.engine, team_id, SyncLogFilter(outcomes=(SyncOutcome.CREATED_LEAD.value,)),
            language="en", record_url=lambda sobject, record_id: None, viewer=None,
        )
        export_seconds = time.perf_counter() - export_started
        runtime.engine.dispose()

    new_leads = by_outcome.get(SyncOutcome.CREATED_LEAD, [])
    contact_events = by_outcome.get(SyncOutcome.CREATED_EVENT, [])
    failed = by_outcome.get(SyncOutcome.FAILED, [])
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    durations = [row.duration_ms for rows in by_outcome.values() for row in rows]
    exported_rows = csv_text.count(b"\n") - 1

    targets = [
        Target("webhook intake p95", percentile(intake, 0.95), "ms", 50),
        Target("sync throughput", processed / sync_seconds, "bookings/s", 10, lower_is_better=False),
        Target("sync duration p95 (one booking)", percentile(durations, 0.95), "ms", 250),
        Target("API calls, new customer (Lead + Event)", max(row.api_calls for row in new_leads), "calls", 2),
        Target("API calls, existing Contact (Event)", max(row.api_calls for row in contact_events), "calls", 2),
        Target("failed syncs", len(failed), "rows", 0),
        Target(f"sync log page at {args.log_rows:,} rows, p95", percentile(page_ms, 0.95), "ms", 200),
        Target(f"sync log count at {args.log_rows:,} rows, p95", percentile(count_ms, 0.95), "ms", 200),
        Target(f"CSV export of {exported_rows:,} rows", export_seconds, "s", 10),
        Target("peak traced Python memory during sync", traced_peak / 2**20, "MiB", 100),
        Target("peak resident memory of the process", rss_mib, "MiB", 400),
    ]
    write_report(args, targets, intake, processed)
    for target in targets:
        print(f"{'ok  ' if target.met else 'MISS'} {target.name}: {target.value:,.1f} {target.unit} (target {target.limit:,})")
    print(f"results written to {args.output}")


def write_report(args: argparse.Namespace, targets: list[Target], intake: list[float], processed: int) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m benchmarks.run`; rerun it to refresh this page.",
        "",
        f"- Run at: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {platform.machine()}, {platform.processor() or 'unknown CPU'}, Python {platform.python_version()},"
        f" {os.cpu_count()} cores",
        f"- Load: {args.bookings} new-customer and {args.existing} existing-contact bookings posted one after another "
        f"({len(intake)} webhooks, {processed} synced), then {args.log_rows:,} synthetic sync log rows",
        "- Setup: the demo org and the webhook routes served by uvicorn on loopback in the benchmark's own process,"
        " SQLite store in a temporary folder",
        "",
        "| measure | result | target | met |",
        "|---|---|---|---|",
    ]
    for target in targets:
        comparison = "≤" if target.lower_is_better else "≥"
        lines.append(
            f"| {target.name} | {target.value:,.1f} {target.unit} | {comparison} {target.limit:,} {target.unit} |"
            f" {'yes' if target.met else 'no'} |"
        )
    lines += [
        "",
        f"Webhook intake latency: p50 {statistics.median(intake):.1f} ms, p95 {percentile(intake, 0.95):.1f} ms,"
        f" max {max(intake):.1f} ms.",
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
