"""Members screen: who belongs to the team with which role; admins and owners invite, remove and change roles.

Owners also choose the team's plan here; everyone else who opens the screen sees it read-only.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.auth.accounts import MemberView, change_role, invite_member, list_members, remove_member, set_team_plan
from core.auth.errors import AuthError
from core.auth.permissions import Action, PermissionDenied
from core.store.models import Plan, Role
from core.teams import TeamView
from pages._ui import (
    current_actor,
    denied_text,
    format_time,
    display_zone_name,
    now,
    permission,
    plan_label,
    record_refused_visit,
    require_team,
    role_label,
    runtime,
    show_localized_error,
    show_read_only,
    t,
)

FLASH_KEY = "members_flash"
# The temporary password of the last invitation, shown once and dropped on the next run.
INVITED_KEY = "members_invited"
ROLES = [Role.MEMBER.value, Role.MANAGER.value, Role.ADMIN.value, Role.OWNER.value]
PLANS = [Plan.FREE.value, Plan.PRO.value, Plan.TEAM.value, Plan.ENTERPRISE.value]


def show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        key, params = flash
        st.success(t(key, **params))


def show_invited() -> None:
    invited = st.session_state.pop(INVITED_KEY, None)
    if invited is None:
        return
    email, password = invited
    st.success(t("auth.members.invite.created", email=email))
    st.code(password, language=None)
    st.warning(t("auth.members.invite.password_once"))


def show_change_error(exc: Exception) -> None:
    if isinstance(exc, PermissionDenied):
        st.error(denied_text(exc))
    elif isinstance(exc, AuthError):
        show_localized_error(exc)


def render_list(members: list[MemberView]) -> None:
    table = pd.DataFrame(
        {
            "name": [member.display_name for member in members],
            "email": [member.email for member in members],
            "role": [role_label(member.role) for member in members],
            "joined": [format_time(member.joined_at) for member in members],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn(t("auth.members.col.name")),
            "email": st.column_config.TextColumn(t("auth.members.col.email")),
            "role": st.column_config.TextColumn(t("auth.members.col.role")),
            "joined": st.column_config.TextColumn(t("auth.members.col.joined", zone=display_zone_name())),
        },
    )


def role_labels() -> dict[str, str]:
    return {role: role_label(role) for role in ROLES}


def render_invite(team: TeamView, disabled: bool) -> None:
    st.subheader(t("auth.members.invite.title"))
    st.caption(t("auth.members.invite.help"))
    labels = role_labels()
    with st.form("invite", clear_on_submit=True):
        email = st.text_input(t("auth.members.invite.email"), key="invite_email", disabled=disabled)
        role = st.selectbox(
            t("auth.members.invite.role"), ROLES, format_func=labels.__getitem__, key="invite_role", disabled=disabled
        )
        submitted = st.form_submit_button(t("auth.members.invite.submit"), type="primary", disabled=disabled)
    if not submitted:
        return
    try:
        result = invite_member(runtime().engine, current_actor(), team.id, email, role, now())
    except (PermissionDenied, AuthError) as exc:
        show_change_error(exc)
        return
    if result.temporary_password is not None:
        st.session_state[INVITED_KEY] = (result.member.email, result.temporary_password.reveal())
    else:
        st.session_state[FLASH_KEY] = ("auth.members.invite.added", {"email": result.member.email})
    st.rerun()


def member_labels(members: list[MemberView]) -> dict[int, str]:
    return {
        member.user_id: f"{member.display_name} <{member.email}> ({role_label(member.role)})" for member in members
    }


def render_change_role(team: TeamView, members: list[MemberView], disabled: bool) -> None:
    st.subheader(t("auth.members.change.title"))
    labels = member_labels(members)
    roles = role_labels()
    first, second = st.columns(2)
    user_id = first.selectbox(
        t("auth.members.change.member"), list(labels), format_func=labels.__getitem__, key="change_member",
        disabled=disabled,
    )
    current = next((member.role.value for member in members if member.user_id == user_id), Role.MEMBER.value)
    role = second.selectbox(
        t("auth.members.change.role"), ROLES, index=ROLES.index(current), format_func=roles.__getitem__,
        key=f"change_role_{user_id}", disabled=disabled,
    )
    if not st.button(t("auth.members.change.submit"), key="change_submit", disabled=disabled):
        return
    try:
        changed = change_role(runtime().engine, current_actor(), team.id, user_id, role, now())
    except (PermissionDenied, AuthError) as exc:
        show_change_error(exc)
        return
    st.session_state[FLASH_KEY] = (
        "auth.members.change.done",
        {"email": changed.email, "role": role_label(changed.role)},
    )
    st.rerun()


def render_remove(team: TeamView, members: list[MemberView], disabled: bool) -> None:
    st.subheader(t("auth.members.remove.title"))
    st.caption(t("auth.members.remove.help"))
    labels = member_labels(members)
    user_id = st.selectbox(
        t("auth.members.remove.member"), list(labels), format_func=labels.__getitem__, key="remove_member",
        disabled=disabled,
    )
    confirmed = st.checkbox(t("auth.members.remove.confirm"), key=f"remove_confirm_{user_id}", disabled=disabled)
    if not st.button(t("auth.members.remove.submit"), key="remove_submit", disabled=disabled or not confirmed):
        return
    email = next((member.email for member in members if member.user_id == user_id), "")
    try:
        remove_member(runtime().engine, current_actor(), team.id, user_id, now())
    except (PermissionDenied, AuthError) as exc:
        show_change_error(exc)
        return
    st.session_state[FLASH_KEY] = ("auth.members.remove.done", {"email": email})
    st.rerun()


def render_plan(team: TeamView) -> None:
    """Let an owner choose the team's plan; show it read-only to everyone else."""
    st.subheader(t("auth.members.plan.title"))
    st.caption(t("auth.members.plan.help"))
    decision = permission(team, Action.MANAGE_PLAN)
    show_read_only(team, decision)
    disabled = not decision.allowed

    # NOTE: billing happens outside this console. Saving changes only the plan
    # stored for the team, which decides the features the console offers.
    labels = {plan: plan_label(plan) for plan in PLANS}
    current = team.plan if team.plan in PLANS else Plan.FREE.value
    with st.form("team_plan"):
        plan = st.selectbox(
            t("auth.members.plan.label"),
            PLANS,
            index=PLANS.index(current),
            format_func=labels.__getitem__,
            key=f"team_plan_{team.id}",
            disabled=disabled,
        )
        submitted = st.form_submit_button(t("auth.members.plan.submit"), disabled=disabled)
    if not submitted:
        return
    try:
        changed = set_team_plan(runtime().engine, current_actor(), team.id, plan, now())
    except (PermissionDenied, AuthError) as exc:
        show_change_error(exc)
        return
    st.session_state[FLASH_KEY] = ("auth.members.plan.done", {"team": changed.name, "plan": plan_label(changed.plan)})
    st.rerun()


def main() -> None:
    team = require_team()
    st.title(t("auth.members.title"))
    st.caption(t("auth.members.intro", team=team.name))
    show_flash()
    show_invited()

    decision = permission(team, Action.MANAGE_MEMBERS)
    show_read_only(team, decision)
    if not decision.allowed:
        record_refused_visit(team, Action.MANAGE_MEMBERS, "/members")
    disabled = not decision.allowed

    members = list_members(runtime().engine, team.id)
    render_list(members)
    st.divider()
    render_invite(team, disabled)
    st.divider()
    render_change_role(team, members, disabled)
    st.divider()
    render_remove(team, members, disabled)
    st.divider()
    render_plan(team)


main()
