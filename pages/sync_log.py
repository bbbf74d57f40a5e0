"""Sync log screen: what happened to each booking event, with details, retry and CSV export."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from core.auth.permissions import Action, PermissionDenied
from core.booking_pages import list_booking_pages
from core.connection_status import ConnectionSummary, read_connection
from core.store.models import Role, SyncOutcome
from core.sync.log import (
    SyncLogEntry,
    SyncLogFilter,
    SyncLogPage,
    export_sync_log_csv,
    fetch_sync_log_page,
    get_sync_log_entry,
)
from core.teams import TeamView
from pages._ui import (
    choice_labels,
    current_actor,
    current_role,
    date_bounds,
    denied_text,
    escape_markdown,
    display_zone,
    display_zone_name,
    format_time,
    has_message,
    language,
    next_step,
    now,
    permission,
    require_team,
    runtime,
    show_read_only,
    t,
)

TABLE_KEY_PREFIX = "log_table_"
PAGE_KEY = "log_page"
FLASH_KEY = "log_flash"
PERSON_SOBJECTS = ("Lead", "Contact")
# How often the details of a queued row check whether the worker has synced it.
QUEUED_CHECK_SECONDS = 3


def render_filters(team: TeamView) -> SyncLogFilter:
    """Show the filter widgets and return the filter they describe."""
    pages = {None: t("sync_log.filter.all_pages")}
    visible = list_booking_pages(runtime().engine, team.id, owner_user_id=own_pages_of(team))
    pages.update({page.id: page.name for page in visible})
    first, second = st.columns(2)
    days = first.date_input(
        t("sync_log.filter.dates", zone=display_zone_name()), value=(), format="YYYY-MM-DD", key="log_dates"
    )
    outcome_labels = choice_labels("sync_log.outcome", [outcome.value for outcome in SyncOutcome])
    outcomes = second.multiselect(
        t("sync_log.filter.outcome"),
        list(outcome_labels),
        format_func=outcome_labels.__getitem__,
        key="log_outcomes",
        placeholder=t("sync_log.filter.outcome_placeholder"),
    )
    third, fourth = st.columns(2)
    page_id = third.selectbox(
        t("sync_log.filter.booking_page"),
        list(pages),
        format_func=pages.__getitem__,
        key="log_booking_page",
    )
    guest_email = fourth.text_input(t("sync_log.filter.guest_email"), key="log_guest_email")

    start, end = date_bounds(days)
    return SyncLogFilter(
        start=start,
        end=end,
        outcomes=tuple(outcomes),
        booking_page_id=page_id,
        guest_email=guest_email,
        zone=display_zone(),
    )


def own_pages_of(team: TeamView) -> int | None:
    """Return the user id whose pages a member is limited to, or None for managers and above."""
    return current_actor().user_id if current_role(team) == Role.MEMBER else None


def record_link(summary: ConnectionSummary | None, record: dict[str, str]) -> str | None:
    if summary is None:
        return None
    return summary.record_url(record["sobject"], record["id"])


def first_record(entry: SyncLogEntry, sobjects: tuple[str, ...]) -> dict[str, str] | None:
    return next((record for record in entry.records if record.get("sobject") in sobjects), None)


def table_key(page: SyncLogPage) -> str:
    """Return the table's widget key, which changes whenever the rows shown change.

    Streamlit stores a table selection as row positions. A new key starts with
    no selection, so a position never points at a row other than the one chosen.
    """
    row_ids = ",".join(str(entry.id) for entry in page.entries)
    return TABLE_KEY_PREFIX + hashlib.sha256(row_ids.encode("ascii")).hexdigest()[:16]


def render_table(page: SyncLogPage, summary: ConnectionSummary | None) -> SyncLogEntry | None:
    """Show one page of rows; return the row the user selected."""
    def link(entry: SyncLogEntry, sobjects: tuple[str, ...]) -> str | None:
        record = first_record(entry, sobjects)
        return record_link(summary, record) if record else None

    entries = page.entries
    table = pd.DataFrame(
        {
            "id": [entry.id for entry in entries],
            "time": [format_time(entry.created_at) for entry in entries],
            "booking_page": [entry.booking_page_name or "" for entry in entries],
            "guest": [entry.guest_name or entry.guest_email for entry in entries],
            "outcome": [t(f"sync_log.outcome.{entry.outcome}") for entry in entries],
            "person": [link(entry, PERSON_SOBJECTS) for entry in entries],
            "event": [link(entry, ("Event",)) for entry in entries],
            "api_calls": [entry.api_calls for entry in entries],
            "duration_ms": [entry.duration_ms for entry in entries],
        }
    )
    # The link text is the record Id taken from the URL .../lightning/r/<sobject>/<Id>/view.
    id_from_url = r"/lightning/r/\w+/(\w+)/view"
    # Pixel widths keep every column in view in the centered layout, and the details show the rest.
    selection = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=table_key(page),
        column_order=[name for name in table.columns if name != "id"],
        column_config={
            "time": st.column_config.TextColumn(t("sync_log.col.time", zone=display_zone_name()), width=140),
            "booking_page": st.column_config.TextColumn(t("sync_log.col.booking_page"), width=100),
            "guest": st.column_config.TextColumn(t("sync_log.col.guest"), width=140),
            "outcome": st.column_config.TextColumn(t("sync_log.col.outcome"), width=110),
            "person": st.column_config.LinkColumn(t("sync_log.col.person"), display_text=id_from_url, width=140),
            "event": st.column_config.LinkColumn(t("sync_log.col.event"), display_text=id_from_url, width=140),
            "api_calls": st.column_config.NumberColumn(t("sync_log.col.api_calls"), width=70),
            "duration_ms": st.column_config.NumberColumn(t("sync_log.col.duration"), format="%d ms", width=75),
        },
    )
    rows = list(selection.selection.rows)
    if not rows or rows[0] >= len(table):
        return None
    selected_id = int(table["id"].iloc[rows[0]])
    return next((entry for entry in entries if entry.id == selected_id), None)


def render_details(team: TeamView, entry: SyncLogEntry, summary: ConnectionSummary | None) -> None:
    """Show the selected row's outcome, records, error and next step, and Retry for failed rows."""
    # Guest names and Salesforce messages arrive from outside, and these elements render Markdown.
    st.subheader(t("sync_log.details.title", guest=escape_markdown(entry.guest_name or entry.guest_email)))
    facts = [
        t("sync_log.details.outcome", outcome=t(f"sync_log.outcome.{entry.outcome}")),
        t("sync_log.details.event_type", event_type=escape_markdown(entry.event_type)),
        t("sync_log.details.guest_email", email=escape_markdown(entry.guest_email)),
        t("sync_log.details.booking_uid", booking_uid=escape_markdown(entry.booking_uid)),
        t("sync_log.details.attempts", attempts=entry.attempts),
        t("sync_log.details.usage", api_calls=entry.api_calls, duration_ms=entry.duration_ms),
        t("sync_log.details.updated", time=format_time(entry.updated_at), zone=display_zone_name()),
    ]
    st.markdown("\n".join(f"- {fact}" for fact in facts))

    links = []
    for record in entry.records:
        url = record_link(summary, record)
        text = f"{record['sobject']} {record['id']}"
        links.append(f"- [{text}]({url})" if url else f"- {text}")
    if links:
        st.markdown("\n".join(links))

    if entry.detail_key:
        detail = next_step(entry.detail_key, escaped(entry.detail_params))
        st.info(detail if has_message(entry.detail_key) else entry.detail_key)
    if entry.outcome == SyncOutcome.QUEUED:
        rerun_when_synced(team.id, entry.id)

    if entry.error_code or entry.error_message:
        code = escape_markdown(entry.error_code or "-")
        st.error(t("sync_log.details.error", code=code, message=escape_markdown(entry.error_message or "")))
    if entry.next_step_key:
        step = next_step(entry.next_step_key, escaped(entry.next_step_params))
        st.info(t("sync_log.details.next_step", step=step))

    if not entry.can_retry:
        return
    decision = permission(team, Action.RETRY_SYNC)
    show_read_only(team, decision)
    if st.button(t("sync_log.retry"), type="primary", key=f"retry_{entry.id}", disabled=not decision.allowed):
        retry(entry)


@st.fragment(run_every=QUEUED_CHECK_SECONDS)
def rerun_when_synced(team_id: int, entry_id: int) -> None:
    """Rerun the whole page once the worker has handled the queued row, so the table and details show the result."""
    try:
        entry = get_sync_log_entry(runtime().engine, team_id, entry_id, viewer=current_actor())
    except PermissionDenied:
        entry = None
    if entry is None or entry.outcome != SyncOutcome.QUEUED:
        st.rerun()


def escaped(params: dict[str, object]) -> dict[str, object]:
    return {name: escape_markdown(value) if isinstance(value, str) else value for name, value in params.items()}


def retry(entry: SyncLogEntry) -> None:
    from core.sync.worker import retry_failed

    try:
        retry_failed(runtime().engine, entry.id, now(), actor=current_actor())
    except PermissionDenied as exc:
        st.error(denied_text(exc))
        return
    except (LookupError, ValueError):
        st.error(t("sync_log.retry_unavailable"))
        return
    worker = runtime().worker
    if worker is not None and hasattr(worker, "wake"):
        worker.wake()
    st.session_state[FLASH_KEY] = "sync_log.retry_queued"
    st.rerun()


def render_export(team: TeamView, filters: SyncLogFilter, summary: ConnectionSummary | None, total: int) -> None:
    """Show the CSV download of every filtered row; the file is built only when clicked."""
    engine = runtime().engine
    chosen_language = language()
    # Streamlit builds the file outside this script run, where the signed-in user is not readable.
    viewer = current_actor()

    def build_csv() -> bytes:
        return export_sync_log_csv(
            engine,
            team.id,
            filters,
            language=chosen_language,
            record_url=lambda sobject, record_id: summary.record_url(sobject, record_id) if summary else None,
            viewer=viewer,
        )

    st.download_button(
        counted("sync_log.export", total),
        data=build_csv,
        file_name=f"sync-log-{team.slug}-{now().astimezone(display_zone()):%Y%m%d-%H%M}.csv",
        mime="text/csv",
        on_click="ignore",
        key="log_export",
    )


def counted(key: str, count: int, **params: object) -> str:
    """Return the message under key for count, from its .one or .other form."""
    return t(f"{key}.{'one' if count == 1 else 'other'}", count=count, **params)


def main() -> None:
    team = require_team()
    st.title(t("sync_log.title"))
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(t(flash))

    if own_pages_of(team) is not None:
        st.caption(t("auth.sync_log.own_pages_only"))
    filters = render_filters(team)
    summary = read_connection(runtime().engine, team.id)

    requested = int(st.session_state.get(PAGE_KEY, 1))
    try:
        page = fetch_sync_log_page(runtime().engine, team.id, filters, requested, viewer=current_actor())
    except PermissionDenied as exc:
        st.error(denied_text(exc))
        return
    # Narrower filters can leave fewer pages than the one chosen; the query clamped it.
    st.session_state[PAGE_KEY] = page.page
    if page.total == 0:
        st.info(t("sync_log.empty"))
        return

    st.caption(counted("sync_log.count", page.total, page=page.page, pages=page.page_count))
    selected = render_table(page, summary)
    if page.page_count > 1:
        st.number_input(t("sync_log.page"), min_value=1, max_value=page.page_count, step=1, key=PAGE_KEY)
    render_export(team, filters, summary, page.total)

    if selected is None:
        st.caption(t("sync_log.select_hint"))
    else:
        render_details(team, selected, summary)


main()
