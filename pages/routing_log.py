"""Routing log screen: which booking page each Account Engagement form visitor was sent to, and why."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core.auth.permissions import Action, Decision
from core.pardot import list_cached_forms
from core.routing.log import (
    RoutingLogEntry,
    RoutingLogFilter,
    RoutingLogPage,
    RoutingOutcome,
    fetch_routing_log_page,
    get_routing_log_entry,
)
from core.routing.store import list_form_routings
from core.store.models import Role
from core.teams import TeamView
from pages._ui import (
    choice_labels,
    contacts,
    display_zone,
    display_zone_name,
    escape_markdown,
    format_time,
    permission,
    reason_params,
    require_team,
    runtime,
    t,
)

TABLE_KEY = "routing_log_table"
PAGE_KEY = "routing_log_page"
# Rows of unknown form keys belong to no team, so a team's log never shows that outcome.
TEAM_OUTCOMES = [outcome.value for outcome in RoutingOutcome if outcome is not RoutingOutcome.UNKNOWN_FORM]


def denied_text(team: TeamView, decision: Decision) -> str:
    """Return why the user cannot view the routing log, and whom to ask."""
    params = reason_params(decision.reason_params)
    if decision.reason_key == "auth.denied.plan":
        return t("routing_log.denied.plan", team=team.name, contacts=contacts(team, Role.OWNER),
                 plan=params.get("plan", team.plan), required_plan=params.get("required_plan", ""))
    if decision.reason_key == "auth.denied.role":
        return t("routing_log.denied.role", contacts=contacts(team, Role.ADMIN),
                 role=params.get("role", ""), required_role=params.get("required_role", ""))
    return t("routing_log.denied.not_member", team=team.name)


def form_names(team: TeamView) -> dict[int, str]:
    """Return the label of each of the team's form routings, by routing id."""
    engine = runtime().engine
    names = {form.form_id: form.name for form in list_cached_forms(engine, team.id)}
    return {
        routing.id: names.get(routing.form_id) or t("routing_log.form_unknown", form_id=routing.form_id)
        for routing in list_form_routings(engine, team.id)
    }


def render_filters(team: TeamView) -> RoutingLogFilter:
    """Show the date, form and outcome filters and return the filter they describe."""
    forms: dict[int | None, str] = {None: t("routing_log.filter.all_forms")}
    forms.update(form_names(team))
    first, second, third = st.columns(3)
    days = first.date_input(
        t("routing_log.filter.dates", zone=display_zone_name()), value=(), format="YYYY-MM-DD", key="routing_log_dates"
    )
    form_routing_id = second.selectbox(
        t("routing_log.filter.form"), list(forms), format_func=forms.__getitem__, key="routing_log_form"
    )
    outcome_labels = choice_labels("routing_log.outcome", TEAM_OUTCOMES)
    outcomes = third.multiselect(
        t("routing_log.filter.outcome"),
        list(outcome_labels),
        format_func=outcome_labels.__getitem__,
        key="routing_log_outcomes",
    )

    start, end = date_bounds(days)
    return RoutingLogFilter(
        start=start, end=end, form_routing_id=form_routing_id, outcomes=tuple(outcomes), zone=display_zone()
    )


def date_bounds(days: object) -> tuple[date | None, date | None]:
    """Return (start, end) from the date input, which gives one or two days while a range is picked."""
    chosen = [days] if isinstance(days, date) else list(days or ())
    if not chosen:
        return None, None
    return chosen[0], chosen[-1]


def answers_text(answers: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {', '.join(values)}" for name, values in answers.items())


def form_label(entry: RoutingLogEntry) -> str:
    if entry.form_name:
        return entry.form_name
    return t("routing_log.form_unknown", form_id=entry.form_id) if entry.form_id is not None else "-"


def page_label(entry: RoutingLogEntry) -> str:
    if entry.booking_page_name:
        return entry.booking_page_name
    if entry.outcome == RoutingOutcome.NO_MATCH:
        return t("routing_log.page_chosen_by_visitor")
    return "-"


def render_table(page: RoutingLogPage) -> RoutingLogEntry | None:
    """Show one page of rows with email addresses masked; return the row the user selected."""
    entries = page.entries
    table = pd.DataFrame(
        {
            "time": [format_time(entry.created_at) for entry in entries],
            "form": [form_label(entry) for entry in entries],
            "outcome": [t(f"routing_log.outcome.{entry.outcome}") for entry in entries],
            "rule": [entry.matched_rule_name or "-" for entry in entries],
            "booking_page": [page_label(entry) for entry in entries],
            "email": [entry.email for entry in entries],
            "answers": [answers_text(entry.answers) for entry in entries],
        }
    )
    selection = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=TABLE_KEY,
        column_config={
            "time": st.column_config.TextColumn(t("routing_log.col.time", zone=display_zone_name())),
            "form": st.column_config.TextColumn(t("routing_log.col.form")),
            "outcome": st.column_config.TextColumn(t("routing_log.col.outcome")),
            "rule": st.column_config.TextColumn(t("routing_log.col.rule")),
            "booking_page": st.column_config.TextColumn(t("routing_log.col.booking_page")),
            "email": st.column_config.TextColumn(t("routing_log.col.email")),
            "answers": st.column_config.TextColumn(t("routing_log.col.answers")),
        },
    )
    rows = list(selection.selection.rows)
    if rows and rows[0] < len(entries):
        return entries[rows[0]]
    return None


def render_details(team: TeamView, selected: RoutingLogEntry) -> None:
    """Show the selected row's outcome and the answers the rules used, email addresses unmasked."""
    entry = get_routing_log_entry(runtime().engine, team.id, selected.id, masked=False)
    if entry is None:
        return
    st.subheader(t("routing_log.details.title", time=format_time(entry.created_at), zone=display_zone_name()))
    st.markdown(
        t(
            "routing_log.details.summary",
            outcome=t(f"routing_log.outcome.{entry.outcome}"),
            rule=escape_markdown(entry.matched_rule_name or "-"),
            page=escape_markdown(page_label(entry)),
        )
    )
    if not entry.answers:
        st.caption(t("routing_log.details.no_answers"))
        return
    st.dataframe(
        pd.DataFrame(
            {
                t("routing_log.details.field"): list(entry.answers),
                t("routing_log.details.value"): [", ".join(values) for values in entry.answers.values()],
            }
        ),
        hide_index=True,
    )


def main() -> None:
    team = require_team()
    st.title(t("routing_log.title"))
    decision = permission(team, Action.VIEW_ROUTING_LOG)
    if not decision.allowed:
        st.info(denied_text(team, decision), icon=":material/lock:")
        return

    st.caption(t("routing_log.intro"))
    filters = render_filters(team)
    requested = int(st.session_state.get(PAGE_KEY, 1))
    page = fetch_routing_log_page(runtime().engine, team.id, filters, requested)
    # Narrower filters can leave fewer pages than the one chosen; the query clamped it.
    st.session_state[PAGE_KEY] = page.page
    if page.total == 0:
        st.info(t("routing_log.empty"))
        return

    st.caption(t("routing_log.count", total=page.total, page=page.page, pages=page.page_count))
    selected = render_table(page)
    if page.page_count > 1:
        st.number_input(t("routing_log.page"), min_value=1, max_value=page.page_count, step=1, key=PAGE_KEY)

    if selected is None:
        st.caption(t("routing_log.select_hint"))
    else:
        render_details(team, selected)


main()
