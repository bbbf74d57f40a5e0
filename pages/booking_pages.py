"""Booking pages screen: the team's webhook endpoint and each booking page's Salesforce settings."""

from __future__ import annotations

import pandas as pd
import requests
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.auth.accounts import list_members
from core.auth.permissions import Action, PermissionDenied
from core.booking_pages import (
    MAPPABLE_LEAD_FIELDS,
    SUBJECT_PLACEHOLDERS,
    BookingPageInvalid,
    BookingPageSettings,
    SalesforceUser,
    answer_mapping_from_rows,
    delete_booking_page,
    list_active_users,
    list_booking_pages,
    parse_host_emails,
    save_booking_page,
)
from core.connection_status import read_connection
from core.sample_booking import SampleGuest, send_test_booking
from core.salesforce.errors import SalesforceError
from core.store.models import BookingPage, CancellationAction, NameMode, OwnerRule, Role
from core.teams import TeamSettingError, TeamView, set_webhook_secret, webhook_url
from pages._field_errors import FieldErrors
from pages._ui import (
    choice_labels,
    current_actor,
    current_role,
    denied_text,
    language,
    now,
    permission,
    require_team,
    runtime,
    show_localized_error,
    show_read_only,
    t,
)

NEW_PAGE = 0
SELECTED_KEY = "bp_selected"
PENDING_SELECTION_KEY = "bp_pending_selection"
FLASH_KEY = "bp_flash"
ASSIGNMENT_RULE = "assignment_rule"
CHOSEN_USER = "chosen_user"
# The label of each setting a validation problem can name, in the order of the form, for the summary above it.
FIELD_LABEL_KEYS = {
    "name": "booking_pages.field.name",
    "event_type_uid": "booking_pages.field.event_type_uid",
    "public_url": "booking_pages.field.public_url",
    "host_emails": "booking_pages.field.host_emails",
    "owner_user_id": "auth.booking_pages.owner",
    "lead_owner_id": "booking_pages.field.lead_owner_user",
    "event_owner_rule": "booking_pages.field.event_owner_rule",
    "event_owner_id": "booking_pages.field.event_owner",
    "fallback_owner_id": "booking_pages.field.fallback_owner",
    "subject_template": "booking_pages.field.subject_template",
    "cancellation_action": "booking_pages.field.cancellation_action",
    "name_mode": "booking_pages.field.name_mode",
    "lead_source": "booking_pages.field.lead_source",
    "answer_mapping": "booking_pages.editor.answers",
}
# Active Users change rarely; a few minutes keeps the pickers fast without going stale for long.
USERS_CACHE_SECONDS = 300


@st.cache_data(ttl=USERS_CACHE_SECONDS, show_spinner=False)
def load_active_users(team_id: int, org_id: str) -> list[SalesforceUser]:
    """Return the org's active Users; org_id is part of the cache key so a new org refetches."""
    from core.salesforce.connection import open_client

    client = open_client(runtime().engine, runtime().box, team_id)
    return list_active_users(client)


def show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(t(flash))


def render_webhook(team: TeamView, disabled: bool) -> None:
    """Show the webhook URL to paste into the scheduler and the signing secret form."""
    st.subheader(t("booking_pages.webhook.title"))
    st.markdown(f"**{t('booking_pages.webhook.url')}**")
    st.code(webhook_url(runtime().settings.public_url, team.slug), language=None)
    st.caption(t("booking_pages.webhook.url_help"))

    if team.has_webhook_secret:
        st.success(t("booking_pages.webhook.secret_set"))
    else:
        st.warning(t("booking_pages.webhook.secret_missing"))

    with st.form("webhook_secret", clear_on_submit=True):
        secret = st.text_input(
            t("booking_pages.webhook.secret"), type="password", key="webhook_secret_value", disabled=disabled
        )
        action = "secret_replace" if team.has_webhook_secret else "secret_save"
        submitted = st.form_submit_button(t(f"booking_pages.webhook.{action}"), disabled=disabled)
    if submitted:
        try:
            set_webhook_secret(runtime().engine, runtime().box, team.id, secret, now(), actor=current_actor())
        except PermissionDenied as exc:
            st.error(denied_text(exc))
        except TeamSettingError as exc:
            show_localized_error(exc)
        else:
            st.session_state[FLASH_KEY] = "booking_pages.webhook.secret_saved"
            st.rerun()


def render_page_list(pages: list[BookingPage]) -> None:
    st.subheader(t("booking_pages.list.title"))
    if not pages:
        st.info(t("booking_pages.list.empty"))
        return

    table = pd.DataFrame(
        {
            "name": [page.name for page in pages],
            "event_type_uid": [page.event_type_uid for page in pages],
            "integration": [page.integration_enabled for page in pages],
            "public_url": [page.public_url or None for page in pages],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn(t("booking_pages.field.name")),
            "event_type_uid": st.column_config.TextColumn(t("booking_pages.field.event_type_uid")),
            "integration": st.column_config.CheckboxColumn(t("booking_pages.field.integration_enabled")),
            "public_url": st.column_config.LinkColumn(t("booking_pages.field.public_url")),
        },
    )


def choose_page(pages: list[BookingPage], can_create: bool) -> BookingPage | None:
    """Show the page selector; return the page to edit, or None for a new page."""
    pending = st.session_state.pop(PENDING_SELECTION_KEY, None)
    if pending is not None:
        st.session_state[SELECTED_KEY] = pending

    names = {NEW_PAGE: t("booking_pages.editor.new")} if can_create else {}
    names.update({page.id: page.name for page in pages})
    if not names:
        return None
    if st.session_state.get(SELECTED_KEY) not in names:
        st.session_state[SELECTED_KEY] = next(iter(names))
    selected = st.selectbox(
        t("booking_pages.editor.choose"), options=list(names), format_func=names.get, key=SELECTED_KEY
    )
    return next((page for page in pages if page.id == selected), None)


def user_picker(
    label: str, key: str, current: str | None, users: list[SalesforceUser] | None, disabled: bool
) -> str | None:
    """Show a User picker from the org's active Users, or a User Id box when they are unavailable."""
    if users is None:
        help_text = t("booking_pages.owner.user_id_help")
        value = st.text_input(
            label, value=current or "", key=key, placeholder="005...", help=help_text, disabled=disabled
        )
        return value.strip() or None

    labels = {user.id: f"{user.name} <{user.email}>" if user.email else user.name for user in users}
    if current and current not in labels:
        labels[current] = t("booking_pages.owner.inactive_user", id=current)
    options = [None, *labels]
    return st.selectbox(
        label,
        options=options,
        index=options.index(current) if current in options else 0,
        format_func={None: t("booking_pages.owner.none"), **labels}.__getitem__,
        key=key,
        disabled=disabled,
    )


def fetch_users(team: TeamView) -> list[SalesforceUser] | None:
    """Return the org's active Users, or None (with a note) when they cannot be read."""
    summary = read_connection(runtime().engine, team.id)
    if summary is None or not summary.is_connected:
        st.caption(t("booking_pages.owner.not_connected"))
        return None
    try:
        return load_active_users(team.id, summary.org_id or "")
    except SalesforceError as exc:
        st.caption(t("booking_pages.owner.lookup_failed", code=exc.error_code or type(exc).__name__))
        return None


def render_editor(team: TeamView, page: BookingPage | None, disabled: bool) -> None:
    """Show every setting of page (or of a new page) and save it when Save is clicked.

    A failed save reruns the script, so each problem shows under its field,
    with a summary above the form and a note under Save.
    """
    current = BookingPageSettings.from_page(page) if page else BookingPageSettings(name="", event_type_uid="")
    prefix = f"bp{page.id if page else NEW_PAGE}_"
    errors = FieldErrors.load(prefix)
    summary = st.empty()

    values = {
        **render_basics(current, prefix, disabled, errors),
        **render_page_owner(team, current, prefix, disabled, errors),
        **render_actions(current, prefix, disabled),
        **render_owners(team, current, prefix, disabled, errors),
        **render_record_options(current, prefix, disabled, errors),
    }
    rows = mapping_rows(render_answer_mapping(current, prefix, disabled, errors))
    errors.show_unplaced()
    render_problem_summary(summary, errors)

    if not st.button(t("common.save"), type="primary", key=prefix + "save", disabled=disabled):
        if errors.open_problems():
            st.warning(t("booking_pages.error.not_saved"))
        return
    try:
        settings = BookingPageSettings(**values, answer_mapping=answer_mapping_from_rows(rows))
        saved = save_booking_page(
            runtime().engine, team.id, settings, now(), actor=current_actor(), page_id=page.id if page else None
        )
    except PermissionDenied as exc:
        st.error(denied_text(exc))
        return
    except BookingPageInvalid as exc:
        errors.store(exc.problems, {**values, "answer_mapping": rows})
        st.rerun()

    errors.clear()
    st.session_state[PENDING_SELECTION_KEY] = saved.id
    st.session_state[FLASH_KEY] = "common.saved"
    st.rerun()


def render_problem_summary(slot: DeltaGenerator, errors: FieldErrors) -> None:
    """Fill slot, above the form, with the names of the settings that still have problems."""
    form_order = list(FIELD_LABEL_KEYS)
    fields = {problem.field for problem in errors.open_problems()}
    labels = [
        t(FIELD_LABEL_KEYS.get(name, "booking_pages.editor.title"))
        for name in sorted(fields, key=lambda name: form_order.index(name) if name in form_order else len(form_order))
    ]
    if labels:
        slot.error(t("booking_pages.error.summary", fields=t("booking_pages.error.field_separator").join(labels)))


def render_page_owner(
    team: TeamView, current: BookingPageSettings, prefix: str, disabled: bool, errors: FieldErrors
) -> dict[str, object]:
    """Show the team member the page belongs to, whose Member role sees the page and its sync log."""
    members = list_members(runtime().engine, team.id)
    names = {member.user_id: f"{member.display_name} <{member.email}>" for member in members}
    if current.owner_user_id is not None and current.owner_user_id not in names:
        names[current.owner_user_id] = str(current.owner_user_id)
    options = [None, *names]
    owner_user_id = st.selectbox(
        t("auth.booking_pages.owner"),
        options,
        index=options.index(current.owner_user_id) if current.owner_user_id in options else 0,
        format_func={None: t("auth.booking_pages.owner_none"), **names}.__getitem__,
        key=prefix + "page_owner",
        help=t("auth.booking_pages.owner_help"),
        disabled=disabled,
    )
    errors.show("owner_user_id", owner_user_id)
    return {"owner_user_id": owner_user_id}


def render_basics(
    current: BookingPageSettings, prefix: str, disabled: bool, errors: FieldErrors
) -> dict[str, object]:
    st.markdown(f"#### {t('booking_pages.editor.basics')}")
    name = st.text_input(t("booking_pages.field.name"), value=current.name, key=prefix + "name", disabled=disabled)
    errors.show("name", name)
    event_type_uid = st.text_input(
        t("booking_pages.field.event_type_uid"),
        value=current.event_type_uid,
        key=prefix + "event_type_uid",
        disabled=disabled,
        help=t("booking_pages.field.event_type_uid_help"),
    )
    errors.show("event_type_uid", event_type_uid)
    public_url = st.text_input(
        t("booking_pages.field.public_url"),
        value=current.public_url,
        key=prefix + "public_url",
        placeholder="https://",
        disabled=disabled,
    )
    errors.show("public_url", public_url)
    host_emails = parse_host_emails(
        st.text_area(
            t("booking_pages.field.host_emails"),
            value="\n".join(current.host_emails),
            key=prefix + "host_emails",
            disabled=disabled,
            help=t("booking_pages.field.host_emails_help"),
        )
    )
    errors.show("host_emails", host_emails)
    return {
        "name": name,
        "event_type_uid": event_type_uid,
        "public_url": public_url,
        "host_emails": host_emails,
    }


def render_actions(current: BookingPageSettings, prefix: str, disabled: bool) -> dict[str, object]:
    st.markdown(f"#### {t('booking_pages.editor.salesforce')}")
    return {
        "integration_enabled": st.toggle(
            t("booking_pages.field.integration_enabled"), value=current.integration_enabled, key=prefix + "integration",
            disabled=disabled,
        ),
        "create_lead_for_new": st.checkbox(
            t("booking_pages.field.create_lead_for_new"), value=current.create_lead_for_new, key=prefix + "create_lead",
            disabled=disabled,
        ),
        "create_event_for_existing": st.checkbox(
            t("booking_pages.field.create_event_for_existing"),
            value=current.create_event_for_existing,
            key=prefix + "event_existing",
            disabled=disabled,
        ),
        "create_event_on_new_lead": st.checkbox(
            t("booking_pages.field.create_event_on_new_lead"),
            value=current.create_event_on_new_lead,
            key=prefix + "event_new_lead",
            disabled=disabled,
        ),
    }


def render_owners(
    team: TeamView, current: BookingPageSettings, prefix: str, disabled: bool, errors: FieldErrors
) -> dict[str, object]:
    """Show the Lead owner, the Event owner rule and the fallback owner."""
    st.markdown(f"#### {t('booking_pages.editor.owners')}")
    users = fetch_users(team)

    lead_owner_modes = choice_labels("booking_pages.lead_owner", [ASSIGNMENT_RULE, CHOSEN_USER])
    lead_owner_mode = st.radio(
        t("booking_pages.field.lead_owner"),
        list(lead_owner_modes),
        index=1 if current.lead_owner_id else 0,
        format_func=lead_owner_modes.__getitem__,
        key=prefix + "lead_owner_mode",
        disabled=disabled,
        horizontal=True,
    )
    lead_owner_id = None
    if lead_owner_mode == CHOSEN_USER:
        label = t("booking_pages.field.lead_owner_user")
        lead_owner_id = user_picker(label, prefix + "lead_owner", current.lead_owner_id, users, disabled)
        errors.show("lead_owner_id", lead_owner_id)
    else:
        errors.hide("lead_owner_id")

    event_owner_rule = enum_radio(
        "booking_pages.field.event_owner_rule",
        "booking_pages.owner_rule",
        OwnerRule,
        current.event_owner_rule,
        prefix + "event_owner_rule",
        disabled,
    )
    errors.show("event_owner_rule", event_owner_rule)
    event_owner_id = None
    if event_owner_rule == OwnerRule.FIXED:
        label = t("booking_pages.field.event_owner")
        event_owner_id = user_picker(label, prefix + "event_owner", current.event_owner_id, users, disabled)
        errors.show("event_owner_id", event_owner_id)
    else:
        errors.hide("event_owner_id")

    label = t("booking_pages.field.fallback_owner")
    fallback_owner_id = user_picker(label, prefix + "fallback_owner", current.fallback_owner_id, users, disabled)
    errors.show("fallback_owner_id", fallback_owner_id)
    st.caption(t("booking_pages.field.fallback_owner_help"))

    return {
        "lead_owner_id": lead_owner_id,
        "event_owner_rule": event_owner_rule,
        "event_owner_id": event_owner_id,
        "fallback_owner_id": fallback_owner_id,
    }


def render_record_options(
    current: BookingPageSettings, prefix: str, disabled: bool, errors: FieldErrors
) -> dict[str, object]:
    """Show the Event subject, the cancellation action, the name handling and the Lead Source."""
    st.markdown(f"#### {t('booking_pages.editor.records')}")
    placeholders = ", ".join("{" + name + "}" for name in SUBJECT_PLACEHOLDERS)
    subject_template = st.text_input(
        t("booking_pages.field.subject_template"),
        value=current.subject_template,
        key=prefix + "subject",
        disabled=disabled,
        help=t("booking_pages.field.subject_template_help", placeholders=placeholders),
    )
    errors.show("subject_template", subject_template)
    cancellation_action = enum_radio(
        "booking_pages.field.cancellation_action",
        "booking_pages.cancellation",
        CancellationAction,
        current.cancellation_action,
        prefix + "cancel",
        disabled,
    )
    errors.show("cancellation_action", cancellation_action)
    name_mode = enum_radio(
        "booking_pages.field.name_mode",
        "booking_pages.name_mode",
        NameMode,
        current.name_mode,
        prefix + "name_mode",
        disabled,
    )
    errors.show("name_mode", name_mode)
    lead_source = st.text_input(
        t("booking_pages.field.lead_source"),
        value=current.lead_source or "",
        key=prefix + "lead_source",
        disabled=disabled,
        placeholder="Web",
    )
    errors.show("lead_source", lead_source)
    return {
        "subject_template": subject_template,
        "cancellation_action": cancellation_action,
        "name_mode": name_mode,
        "lead_source": lead_source,
    }


def render_answer_mapping(
    current: BookingPageSettings, prefix: str, disabled: bool, errors: FieldErrors
) -> pd.DataFrame:
    """Show the table that maps booking question labels to Lead fields; return it as edited."""
    st.markdown(f"#### {t('booking_pages.editor.answers')}")
    st.caption(t("booking_pages.field.answer_mapping_help"))
    table = pd.DataFrame(
        {"label": list(current.answer_mapping), "field": list(current.answer_mapping.values())},
        columns=["label", "field"],
        dtype="object",
    )
    edited = st.data_editor(
        table,
        num_rows="dynamic",
        hide_index=True,
        key=prefix + "answers",
        disabled=disabled,
        column_config={
            "label": st.column_config.TextColumn(t("booking_pages.field.answer_label")),
            "field": st.column_config.SelectboxColumn(
                t("booking_pages.field.lead_field"), options=list(MAPPABLE_LEAD_FIELDS)
            ),
        },
    )
    errors.show("answer_mapping", mapping_rows(edited))
    return edited


def enum_radio(label_key: str, option_prefix: str, enum: type, current: str, key: str, disabled: bool) -> str:
    labels = choice_labels(option_prefix, [member.value for member in enum])
    options = list(labels)
    return st.radio(
        t(label_key),
        options,
        index=options.index(current) if current in options else 0,
        format_func=labels.__getitem__,
        key=key,
        disabled=disabled,
    )


def mapping_rows(edited: pd.DataFrame) -> list[tuple[str | None, str | None]]:
    """Return the editor's rows as (label, field) pairs, with empty cells as None."""
    rows = []
    for label, lead_field in edited[["label", "field"]].itertuples(index=False):
        rows.append((label if isinstance(label, str) else None, lead_field if isinstance(lead_field, str) else None))
    return rows


def render_delete(team: TeamView, page: BookingPage, disabled: bool) -> None:
    with st.expander(t("booking_pages.delete.title")):
        st.caption(t("booking_pages.delete.help"))
        confirmed = st.checkbox(
            t("booking_pages.delete.confirm", name=page.name), key=f"bp{page.id}_delete_confirm", disabled=disabled
        )
        if st.button(t("booking_pages.delete.button"), disabled=disabled or not confirmed, key=f"bp{page.id}_delete"):
            try:
                delete_booking_page(runtime().engine, team.id, page.id, now(), actor=current_actor())
            except PermissionDenied as exc:
                st.error(denied_text(exc))
                return
            except LookupError:
                st.error(t("booking_pages.delete.missing"))
                return
            st.session_state[PENDING_SELECTION_KEY] = NEW_PAGE
            st.session_state[FLASH_KEY] = "booking_pages.delete.done"
            st.rerun()


def render_test_booking(team: TeamView, pages: list[BookingPage]) -> None:
    """Demo mode: send a signed sample booking to this app's own webhook endpoint."""
    st.subheader(t("booking_pages.test.title"))
    st.caption(t("booking_pages.test.help"))
    if not pages:
        st.info(t("booking_pages.test.no_pages"))
        return

    names = {page.id: page.name for page in pages}
    page_id = st.selectbox(t("booking_pages.test.page"), options=list(names), format_func=names.get, key="test_page")
    guests = choice_labels("booking_pages.test.guest", [guest.value for guest in SampleGuest])
    guest = st.radio(
        t("booking_pages.test.guest_label"),
        list(guests),
        format_func=guests.__getitem__,
        key="test_guest",
        horizontal=True,
    )
    decision = permission(team, Action.SEND_TEST_BOOKING)
    show_read_only(team, decision)
    if not st.button(t("booking_pages.test.send"), key="test_send", disabled=not decision.allowed):
        return

    rt = runtime()
    try:
        result = send_test_booking(
            rt.engine,
            rt.box,
            rt.settings,
            team.id,
            page_id,
            SampleGuest(guest),
            now(),
            actor=current_actor(),
            language=language(),
        )
    except PermissionDenied as exc:
        st.error(denied_text(exc))
        return
    except ValueError:
        st.error(t("booking_pages.test.no_secret"))
        return
    except requests.RequestException as exc:
        st.error(t("booking_pages.test.unreachable", error=type(exc).__name__))
        return

    if 200 <= result.status < 300:
        st.success(t("booking_pages.test.sent", status=result.status, uid=result.booking_uid))
    else:
        st.error(t("booking_pages.test.rejected", status=result.status))
        # The endpoint's JSON reason names what was wrong with the booking.
        st.json(result.body)
    st.page_link("pages/sync_log.py", label=t("booking_pages.test.open_log"), icon=":material/history:")


def main() -> None:
    team = require_team()
    st.title(t("booking_pages.title"))
    show_flash()

    decision = permission(team, Action.EDIT_BOOKING_PAGE)
    show_read_only(team, decision)
    disabled = not decision.allowed
    owner_user_id = current_actor().user_id if current_role(team) == Role.MEMBER else None
    if owner_user_id is not None:
        st.caption(t("auth.booking_pages.own_pages_only"))

    pages = list_booking_pages(runtime().engine, team.id, owner_user_id=owner_user_id)
    render_page_list(pages)

    st.divider()
    st.subheader(t("booking_pages.editor.title"))
    page = choose_page(pages, can_create=not disabled)
    if page is not None or not disabled:
        render_editor(team, page, disabled)
    if page is not None:
        render_delete(team, page, disabled)

    st.divider()
    render_webhook(team, disabled)
    if runtime().settings.demo:
        st.divider()
        render_test_booking(team, pages)


main()
