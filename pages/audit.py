"""Audit trail screen: who changed which setting from what to what, and when, for admins and owners."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core.auth.audit_log import AuditEntry, AuditFilter, audit_action_key, audit_choices, fetch_audit_page
from core.auth.permissions import Action, PermissionDenied
from core.teams import TeamView
from pages._ui import (
    current_actor,
    date_bounds,
    denied_text,
    display_zone,
    display_zone_name,
    format_time,
    guard_page,
    has_message,
    now,
    plan_label,
    reason_params,
    require_team,
    role_label,
    runtime,
    t,
)

PAGE_KEY = "audit_page"
ALL_USERS = ""


PATH = "/audit"
# A refusal's parameters that its reason message states; the others are listed after it.
REASON_PARAMS = ("reason", "role", "required_role", "plan", "required_plan")


def action_label(action: str) -> str:
    """Return the audit action's name in the chosen language, or the stored action for unknown ones."""
    for key in (audit_action_key(action), f"auth.action.{action}", f"audit.action.{action}"):
        if key is not None and has_message(key):
            return t(key)
    return action


def outcome_label(outcome: str) -> str:
    key = f"auth.audit.outcome.{outcome}"
    return t(key) if has_message(key) else outcome


def reason_text(reason: str, params: dict[str, Any], target: str) -> str:
    """Return a refusal's or failure's stored reason in the chosen language, or the stored reason when unknown.

    A reason is a permission refusal (auth.denied.role), a catalog message of
    core (auth_core.error.last_owner, whose email is the event's target) or a
    plain word (wrong_password) named under audit.reason.
    """
    if reason.startswith("auth.denied."):
        key = "audit.reason." + reason.removeprefix("auth.denied.")
    elif has_message(reason):
        key = reason
    else:
        key = f"audit.reason.{reason}"
    if not has_message(key):
        return reason
    try:
        return t(key, **{"email": target, **reason_params(params)})
    except (KeyError, IndexError):
        return reason


def attempt_text(entry: AuditEntry) -> str:
    """Return what a refused or failed event tried and why it did not happen, one line each."""
    after = entry.after or {}
    lines = []
    # The action column already names a refused sign-in, so only other refusals show what was tried.
    if entry.outcome == "refused" and not entry.action.startswith("auth."):
        lines.append(t("audit.change.attempted", attempted=action_label(entry.action), target=entry.target or "-"))
    lines.append(t("audit.change.reason", reason=reason_text(str(after["reason"]), after, entry.target)))
    lines += [f"{name}: {compact(name, value)}" for name, value in after.items() if name not in REASON_PARAMS]
    return "\n".join(lines)


def change_text(entry: AuditEntry) -> str:
    """Return 'field: before → after' lines for the values an event recorded.

    A refused or failed event with a stored reason gets what was tried and
    the reason in the chosen language instead.
    """
    before = entry.before or {}
    after = entry.after or {}
    if entry.outcome != "done" and after.get("reason"):
        return attempt_text(entry)
    lines = []
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if name in before and name in after:
            lines.append(f"{name}: {compact(name, old)} → {compact(name, new)}")
        elif name in after:
            lines.append(f"{name}: {compact(name, new)}")
        else:
            lines.append(f"{name}: {compact(name, old)} → -")
    return "\n".join(lines)


def compact(name: str, value: Any) -> str:
    """Return a recorded value as a reader would write it: plan and role names translated, lists joined."""
    if name == "plan" and isinstance(value, str):
        return plan_label(value)
    if name == "role" and isinstance(value, str):
        return role_label(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(compact(name, item) for item in value) or "-"
    if isinstance(value, bool):
        return t("audit.value.yes") if value else t("audit.value.no")
    return json.dumps(value, ensure_ascii=False, default=str)


def render_filters(team: TeamView) -> AuditFilter:
    actions, emails = audit_choices(runtime().engine, current_actor(), team.id, now())
    first, second, third = st.columns(3)
    days = first.date_input(
        t("auth.audit.filter.dates", zone=display_zone_name()), value=(), format="YYYY-MM-DD", key="audit_dates"
    )
    action_names = {action: action_label(action) for action in actions}
    chosen = second.multiselect(
        t("auth.audit.filter.actions"), actions, format_func=action_names.__getitem__, key="audit_actions"
    )
    users = {ALL_USERS: t("auth.audit.filter.all_users"), **{email: email for email in emails}}
    email = third.selectbox(t("auth.audit.filter.user"), list(users), format_func=users.__getitem__, key="audit_user")

    start, end = date_bounds(days)
    return AuditFilter(start=start, end=end, actions=tuple(chosen), actor_email=email, zone=display_zone())


def render_table(entries: list[AuditEntry]) -> None:
    table = pd.DataFrame(
        {
            "time": [format_time(entry.created_at) for entry in entries],
            "user": [entry.actor_email for entry in entries],
            "action": [action_label(entry.action) for entry in entries],
            "target": [entry.target for entry in entries],
            "change": [change_text(entry) for entry in entries],
            "outcome": [outcome_label(entry.outcome) for entry in entries],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "time": st.column_config.TextColumn(t("auth.audit.col.time", zone=display_zone_name())),
            "user": st.column_config.TextColumn(t("auth.audit.col.user")),
            "action": st.column_config.TextColumn(t("auth.audit.col.action")),
            "target": st.column_config.TextColumn(t("auth.audit.col.target")),
            "change": st.column_config.TextColumn(t("auth.audit.col.change"), width="large"),
            "outcome": st.column_config.TextColumn(t("auth.audit.col.outcome")),
        },
    )


def main() -> None:
    team = require_team()
    st.title(t("auth.audit.title"))
    st.caption(t("auth.audit.intro", team=team.name))

    if not guard_page(team, Action.VIEW_AUDIT, PATH):
        return

    try:
        filters = render_filters(team)
        requested = int(st.session_state.get(PAGE_KEY, 1))
        page = fetch_audit_page(runtime().engine, current_actor(), team.id, filters, now(), requested)
    except PermissionDenied as exc:
        st.error(denied_text(exc))
        return

    # Narrower filters can leave fewer pages than the one chosen; the query clamped it.
    st.session_state[PAGE_KEY] = page.page
    if page.total == 0:
        st.info(t("auth.audit.empty"))
        return
    st.caption(t("auth.audit.count", total=page.total, page=page.page, pages=page.page_count))
    render_table(page.entries)
    if page.page_count > 1:
        st.number_input(t("auth.audit.page"), min_value=1, max_value=page.page_count, step=1, key=PAGE_KEY)


main()
