"""Account Engagement screen: business unit and prerequisites, cached forms, and per-form routing rules.

Team owners on the Team plan or above edit everything here; everyone else sees
the settings and rules read-only, with the reason and whom to ask.

The rule editor keeps a draft RuleSet in session state. Structural edits (add,
delete, move, duplicate, a changed operator, Save, Discard) first copy the
widget values into the draft, apply the edit, then start a new editor revision:
every widget key carries the revision, so every widget starts again from the
draft. Deleting a widget's session state is not enough, because the browser
keeps showing, and sends back, the last value of a widget whose key is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from core.auth.permissions import Action, PermissionDenied
from core.booking_pages import list_booking_pages
from core.connection_status import start_connection
from core.pardot import (
    SCOPES_WITH_ACCOUNT_ENGAGEMENT,
    BusinessUnitIdError,
    BusinessUnitSettings,
    CachedForm,
    Environment,
    PrerequisiteReport,
    check_prerequisites,
    list_cached_forms,
    load_business_unit,
    refresh_forms,
    save_business_unit,
)
from core.routing import (
    Condition,
    InvalidRuleSetError,
    Join,
    Operator,
    Rule,
    RuleProblem,
    RuleSet,
    RuleStatus,
    StaleRulesError,
    evaluate,
    redirect_query_template,
)
from core.routing.redirect import MERGE_FIELD_NAME
from core.routing.rules import LIST_OPERATORS, VALUELESS_OPERATORS
from core.routing.store import (
    FormNotCachedError,
    FormRoutingView,
    get_form_routing,
    get_or_create_form_routing,
    list_form_routings,
    save_rules,
    set_enabled,
    set_verify_with_prospect,
)
from core.salesforce.errors import SalesforceError
from core.store.models import BookingPage
from core.teams import TeamView
from pages._ui import (
    current_actor,
    denied_text,
    display_zone_name,
    escape_markdown,
    format_time,
    localized_text,
    next_step,
    now,
    permission,
    require_team,
    runtime,
    same_tab_link,
    show_localized_error,
    show_read_only,
    show_salesforce_error,
    t,
)

FLASH_KEY = "ae_flash"
REPORT_KEY = "ae_report"
AUTHORIZE_URL_KEY = "ae_authorize_url"
FORM_KEY = "ae_form"
SWITCH_ERROR_KEY = "ae_switch_error"

MET_ICONS = {True: ":material/check_circle:", False: ":material/cancel:", None: ":material/help:"}
STATUS_ICONS = {RuleStatus.MATCHED: "✅", RuleStatus.NOT_MATCHED: "❌", RuleStatus.SKIPPED: "⏭️"}


# Session state of one form's editor


class EditorState:
    """The session-state keys of one form's rule editor and its draft."""

    def __init__(self, team_id: int, form_id: int) -> None:
        self.base = f"ae_{team_id}_{form_id}_"

    @property
    def revision_key(self) -> str:
        return self.base + "revision"

    @property
    def widget_prefix(self) -> str:
        return f"{self.base}w{st.session_state.get(self.revision_key, 0)}_"

    @property
    def draft_key(self) -> str:
        return self.base + "draft"

    @property
    def problems_key(self) -> str:
        return self.base + "problems"

    @property
    def message_key(self) -> str:
        return self.base + "message"

    def widget(self, *parts: object) -> str:
        return self.widget_prefix + "_".join(str(part) for part in parts)

    def draft(self) -> RuleSet | None:
        return st.session_state.get(self.draft_key)

    def set_draft(self, rule_set: RuleSet) -> None:
        st.session_state[self.draft_key] = rule_set

    def problems(self) -> list[RuleProblem]:
        return list(st.session_state.get(self.problems_key) or [])

    def set_problems(self, problems: list[RuleProblem]) -> None:
        st.session_state[self.problems_key] = problems

    def set_message(self, kind: str, text: str) -> None:
        st.session_state[self.message_key] = (kind, text)

    def pop_message(self) -> tuple[str, str] | None:
        return st.session_state.pop(self.message_key, None)

    def clear_widgets(self) -> None:
        """Drop the state of every editor widget and move to new widget keys, so the browser drops its values too."""
        old_widget = re.compile(re.escape(self.base) + r"w\d+_")
        for key in [key for key in st.session_state if old_widget.match(str(key))]:
            del st.session_state[key]
        st.session_state[self.revision_key] = st.session_state.get(self.revision_key, 0) + 1

    def reset(self, rule_set: RuleSet) -> None:
        """Replace the draft, forget problems and let every widget start from the new draft."""
        self.set_draft(rule_set)
        self.set_problems([])
        self.clear_widgets()


def value_text(value: str | list[str] | None) -> str:
    """Return a condition value as the editor shows it: list items one per line."""
    if value is None:
        return ""
    return "\n".join(value) if isinstance(value, list) else value


def value_for(operator: Operator, text: str) -> str | list[str] | None:
    """Return the condition value the operator takes from the editor's text."""
    if operator in VALUELESS_OPERATORS:
        return None
    if operator in LIST_OPERATORS:
        return [line.strip() for line in text.splitlines() if line.strip()]
    return text


def collect_draft(state: EditorState, draft: RuleSet) -> RuleSet:
    """Return draft with the values the user typed into the editor's widgets."""
    values = st.session_state
    rules = []
    for rule in draft.rules:
        conditions = []
        for index, condition in enumerate(rule.conditions):
            operator = Operator(values.get(state.widget(rule.id, index, "operator"), condition.operator))
            # The value widget on screen belongs to the operator of the draft, not to a newly chosen one.
            text_key = state.widget(rule.id, index, "values" if condition.operator in LIST_OPERATORS else "value")
            text = values.get(text_key, value_text(condition.value))
            conditions.append(
                Condition(
                    field=values.get(state.widget(rule.id, index, "field"), condition.field) or "",
                    operator=operator,
                    value=value_for(operator, text),
                )
            )
        rules.append(
            rule.model_copy(
                update={
                    "name": values.get(state.widget(rule.id, "name"), rule.name),
                    "enabled": values.get(state.widget(rule.id, "enabled"), rule.enabled),
                    "join": Join(values.get(state.widget(rule.id, "join"), rule.join)),
                    "target_page_id": values.get(state.widget(rule.id, "target"), rule.target_page_id),
                    "conditions": conditions,
                }
            )
        )
    fallback = values.get(state.widget("fallback"), draft.fallback_page_id)
    return RuleSet(version=draft.version, rules=rules, fallback_page_id=fallback)


def apply_edit(state: EditorState, edit: str, rule_id: str | None = None, index: int | None = None,
               first_field: str = "") -> None:
    """Apply one structural edit to the draft (a button or operator callback)."""
    draft = state.draft()
    if draft is None:
        return
    draft = collect_draft(state, draft)

    if edit == "add_rule":
        number = len(draft.rules) + 1
        new_rule = Rule(
            name=t("account_engagement.rules.new_name", number=number),
            conditions=[Condition(field=first_field, operator=Operator.EQUALS, value="")],
        )
        draft = draft.add_rule(new_rule)
    elif edit == "up":
        draft = draft.move_up(rule_id)
    elif edit == "down":
        draft = draft.move_down(rule_id)
    elif edit == "duplicate":
        draft = draft.duplicate(rule_id, name_suffix=t("account_engagement.rules.copy_suffix"))
    elif edit == "delete":
        draft = draft.remove_rule(rule_id)
    elif edit == "add_condition":
        rule = draft.get_rule(rule_id)
        condition = Condition(field=first_field, operator=Operator.EQUALS, value="")
        draft = draft.replace_rule(rule.model_copy(update={"conditions": [*rule.conditions, condition]}))
    elif edit == "remove_condition":
        rule = draft.get_rule(rule_id)
        kept = [condition for position, condition in enumerate(rule.conditions) if position != index]
        draft = draft.replace_rule(rule.model_copy(update={"conditions": kept}))

    state.reset(draft)


def save_draft(state: EditorState, team_id: int, form_id: int) -> None:
    """Save the draft (the Save button's callback); problems and errors go to session state for the next run."""
    draft = state.draft()
    if draft is None:
        return
    draft = collect_draft(state, draft)
    state.set_draft(draft)
    try:
        saved = save_rules(runtime().engine, current_actor(), team_id, form_id, draft, draft.version, now())
    except InvalidRuleSetError as exc:
        state.set_problems(exc.problems)
        state.set_message("error", localized_text(exc))
        return
    except StaleRulesError as exc:
        state.set_message("stale", localized_text(exc))
        return
    except PermissionDenied as exc:
        state.set_message("error", denied_text(exc))
        return
    except FormNotCachedError as exc:
        state.set_message("error", localized_text(exc))
        return

    state.reset(saved.rule_set)
    state.set_message("success", t("account_engagement.rules.saved", version=saved.version))


def reload_draft(state: EditorState, team_id: int, form_id: int) -> None:
    """Discard the draft and load the stored rules (the Reload button's callback)."""
    routing = get_form_routing(runtime().engine, team_id, form_id)
    if routing is not None:
        state.reset(routing.rule_set)
    st.session_state.pop(state.message_key, None)


# Business unit and prerequisites


def show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)


def render_business_unit(team: TeamView, can_edit: bool) -> None:
    """Show the business unit, its prerequisites (owners only) and the form to change it."""
    st.subheader(t("account_engagement.setup.title"))
    settings = load_business_unit(runtime().engine, team.id)

    if not can_edit:
        if settings is None:
            st.info(t("account_engagement.setup.none"))
        else:
            st.markdown(
                t(
                    "account_engagement.setup.summary",
                    business_unit_id=settings.business_unit_id,
                    environment=t(f"pardot.environment.{settings.environment}"),
                )
            )
        return

    render_prerequisites(team)
    render_business_unit_form(team, settings)


def render_prerequisites(team: TeamView) -> None:
    """Show each prerequisite with whether it is met and how to fix it, checked once per visit or on request."""
    reports: dict[int, PrerequisiteReport] = st.session_state.setdefault(REPORT_KEY, {})
    if st.button(t("account_engagement.setup.check_again"), key="ae_check"):
        reports.pop(team.id, None)
    report = reports.get(team.id)
    if report is None:
        report = check_prerequisites(runtime().engine, runtime().box, team.id, now())
        reports[team.id] = report

    st.markdown(f"**{t('account_engagement.setup.prerequisites')}**")
    for item in report.items:
        state = {True: "met", False: "not_met", None: "unknown"}[item.met]
        st.markdown(f"{MET_ICONS[item.met]} {t(item.label_key)} — {t(f'account_engagement.setup.{state}')}")
        if item.met is not True and item.next_step_key:
            st.caption(next_step(item.next_step_key, item.next_step_params))
    st.caption(
        t("account_engagement.setup.checked_at", time=format_time(report.checked_at), zone=display_zone_name())
    )
    if report.error is not None:
        st.caption(t("account_engagement.setup.error_code", code=report.error.error_code or type(report.error).__name__))

    # Without any connection the Connection page comes first; the scope and the user can be fixed from here.
    if report.scope.met is False or report.user_access.met is False:
        render_reconnect(team)


def render_reconnect(team: TeamView) -> None:
    """Offer to reconnect Salesforce with the pardot_api scope added to the requested scopes."""
    if st.button(t("account_engagement.setup.reconnect"), key="ae_reconnect"):
        try:
            url = start_connection(
                runtime().engine,
                runtime().box,
                team.id,
                runtime().settings.callback_url,
                now(),
                actor=current_actor(),
                scopes=SCOPES_WITH_ACCOUNT_ENGAGEMENT,
            )
        except PermissionDenied as exc:
            st.error(denied_text(exc))
        except SalesforceError as exc:
            show_salesforce_error(exc, callback_url=runtime().settings.callback_url)
        else:
            st.session_state[AUTHORIZE_URL_KEY] = url
    url = st.session_state.get(AUTHORIZE_URL_KEY)
    if url:
        st.markdown(same_tab_link(url, t("account_engagement.setup.continue")), unsafe_allow_html=True)
        st.caption(t("account_engagement.setup.reconnect_help"))


def render_business_unit_form(team: TeamView, settings: BusinessUnitSettings | None) -> None:
    environments = [environment.value for environment in Environment]
    labels = {environment: t(f"pardot.environment.{environment}") for environment in environments}
    stored_environment = settings.environment if settings else Environment.PRODUCTION.value
    with st.form("ae_business_unit"):
        business_unit_id = st.text_input(
            t("account_engagement.setup.business_unit_id"),
            value=settings.business_unit_id if settings else "",
            placeholder="0Uv000000000000AAA",
            help=t("account_engagement.setup.business_unit_help"),
        )
        environment = st.radio(
            t("account_engagement.setup.environment"),
            environments,
            index=environments.index(stored_environment) if stored_environment in environments else 0,
            format_func=labels.__getitem__,
        )
        submitted = st.form_submit_button(t("common.save"))
    if not submitted:
        return

    try:
        save_business_unit(runtime().engine, team.id, business_unit_id, environment, now(), actor=current_actor())
    except BusinessUnitIdError as exc:
        show_localized_error(exc)
        return
    except PermissionDenied as exc:
        st.error(denied_text(exc))
        return
    st.session_state.get(REPORT_KEY, {}).pop(team.id, None)
    st.session_state[FLASH_KEY] = t("account_engagement.setup.saved")
    st.rerun()


# Forms


def render_forms(team: TeamView, forms: list[CachedForm], can_edit: bool) -> None:
    """Show the cached forms (name, id, fields) and, for owners, the refresh button."""
    st.subheader(t("account_engagement.forms.title"))
    settings = load_business_unit(runtime().engine, team.id)
    if settings is not None and settings.forms_fetched_at is not None:
        fetched_at = format_time(settings.forms_fetched_at)
        st.caption(t("account_engagement.forms.fetched_at", time=fetched_at, zone=display_zone_name()))

    if can_edit and st.button(t("account_engagement.forms.refresh"), key="ae_refresh"):
        try:
            fetched = refresh_forms(runtime().engine, runtime().box, team.id, now())
        except SalesforceError as exc:
            show_salesforce_error(exc)
        else:
            st.session_state[FLASH_KEY] = t("account_engagement.forms.refreshed", count=len(fetched))
            st.rerun()

    if not forms:
        st.info(t("account_engagement.forms.empty"))
        return
    table = pd.DataFrame(
        {
            "name": [form.name for form in forms],
            "id": [form.form_id for form in forms],
            "fields": [", ".join(form.fields) for form in forms],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn(t("account_engagement.forms.col.name")),
            "id": st.column_config.NumberColumn(t("account_engagement.forms.col.id"), format="%d"),
            "fields": st.column_config.TextColumn(t("account_engagement.forms.col.fields")),
        },
    )


def choose_form(team: TeamView, forms: list[CachedForm]) -> CachedForm | None:
    """Show the form picker, first on a form that has routing rules, else a form with routing, else the first."""
    if not forms:
        return None
    by_id = {form.form_id: form for form in forms}
    labels = {form.form_id: f"{form.name} ({form.form_id})" for form in forms}
    options = list(by_id)
    chosen = st.selectbox(
        t("account_engagement.rules.form"),
        options,
        index=options.index(first_routed_form(team, options)),
        format_func=labels.__getitem__,
        key=FORM_KEY,
    )
    return by_id.get(chosen)


def first_routed_form(team: TeamView, form_ids: list[int]) -> int:
    """Return the first of form_ids whose routing has rules, else the first with routing, else the first."""
    routings = {routing.form_id: routing for routing in list_form_routings(runtime().engine, team.id)}
    with_rules = [form_id for form_id in form_ids if form_id in routings and routings[form_id].rule_set.rules]
    with_routing = [form_id for form_id in form_ids if form_id in routings]
    return (with_rules or with_routing or form_ids)[0]


# Routing of one form


def render_routing(team: TeamView, form: CachedForm, can_edit: bool) -> None:
    """Show the routing of form: switches, redirect URL, rule editor and test panel (read-only for others)."""
    st.subheader(t("account_engagement.rules.title", form=form.name))
    engine = runtime().engine
    routing = get_form_routing(engine, team.id, form.form_id)
    pages = list_booking_pages(engine, team.id)

    if routing is None:
        st.info(t("account_engagement.rules.none"))
        if can_edit and st.button(t("account_engagement.rules.create"), type="primary", key="ae_create"):
            try:
                get_or_create_form_routing(engine, current_actor(), team.id, form.form_id, now())
            except PermissionDenied as exc:
                st.error(denied_text(exc))
            except FormNotCachedError as exc:
                show_localized_error(exc)
            else:
                st.rerun()
        return

    if not can_edit:
        render_rules_read_only(routing, pages)
        return

    render_switches(team, form, routing)
    render_redirect_url(form, routing)

    state = EditorState(team.id, form.form_id)
    if state.draft() is None:
        state.reset(routing.rule_set)
    render_editor(state, team, form, routing, pages)
    render_test_panel(state, team, form, pages)


def render_switches(team: TeamView, form: CachedForm, routing: FormRoutingView) -> None:
    """Show the routing on/off and prospect verification toggles, which save as soon as they change."""
    switches = (
        ("enabled", routing.enabled, "account_engagement.rules.enabled"),
        ("verify_with_prospect", routing.verify_with_prospect, "account_engagement.rules.verify"),
    )
    for column, (name, stored, label) in zip(st.columns(2), switches):
        key = f"ae_{team.id}_{form.form_id}_{name}"
        # The toggle always starts from the stored value, so a change by another owner shows on the next run.
        st.session_state.pop(key, None)
        column.toggle(
            t(label),
            value=stored,
            key=key,
            help=t(label + "_help"),
            on_change=save_switch,
            args=(team.id, form.form_id, name, key),
        )

    error = st.session_state.pop(SWITCH_ERROR_KEY, None)
    if error:
        st.error(error)
    if not routing.enabled:
        st.warning(t("account_engagement.rules.disabled_notice"))


def save_switch(team_id: int, form_id: int, name: str, key: str) -> None:
    """Store the new value of a routing toggle (its on_change callback)."""
    setter = set_enabled if name == "enabled" else set_verify_with_prospect
    try:
        setter(runtime().engine, current_actor(), team_id, form_id, bool(st.session_state.get(key)), now())
    except PermissionDenied as exc:
        st.session_state[SWITCH_ERROR_KEY] = denied_text(exc)


def render_redirect_url(form: CachedForm, routing: FormRoutingView) -> None:
    """Show the URL to paste into the form's thank-you redirect, with the form's fields as merge tags."""
    usable = [name for name in form.fields if MERGE_FIELD_NAME.fullmatch(name)]
    skipped = [name for name in form.fields if not MERGE_FIELD_NAME.fullmatch(name)]
    url = f"{runtime().settings.public_url}/route/{routing.form_key}?{redirect_query_template(usable)}"

    st.markdown(f"**{t('account_engagement.redirect.title')}**")
    st.code(url, language=None, wrap_lines=True)
    st.caption(t("account_engagement.redirect.help"))
    if skipped:
        st.warning(t("account_engagement.redirect.skipped", fields=escape_markdown(", ".join(skipped))))


def page_labels(pages: list[BookingPage]) -> dict[int, str]:
    labels = {}
    for page in pages:
        suffix = "" if page.public_url else " " + t("account_engagement.rules.page_without_url")
        labels[page.id] = page.name + suffix
    return labels


def render_rules_read_only(routing: FormRoutingView, pages: list[BookingPage]) -> None:
    """List the rules as text, for users who may not edit them."""
    labels = page_labels(pages)
    state = t("account_engagement.rules.on") if routing.enabled else t("account_engagement.rules.off")
    st.markdown(t("account_engagement.rules.read_only_state", state=state, version=routing.version))
    if not routing.rule_set.rules:
        st.caption(t("account_engagement.rules.empty"))
    for position, rule in enumerate(routing.rule_set.rules, start=1):
        target = labels.get(rule.target_page_id, "-") if rule.target_page_id is not None else "-"
        off = "" if rule.enabled else " " + t("account_engagement.rules.rule_off")
        st.markdown(f"**{position}. {escape_markdown(rule.name or '-')}**{off} → {escape_markdown(target)}")
        joiner = t(f"account_engagement.rules.join_word.{rule.join.value}")
        parts = [
            t(
                f"account_engagement.summary.{condition.operator.value}",
                field=escape_markdown(condition.field),
                value=escape_markdown(value_text(condition.value).replace("\n", ", ")),
            )
            for condition in rule.conditions
        ]
        st.markdown(f" {joiner} ".join(parts) or "-")
    fallback = routing.rule_set.fallback_page_id
    st.markdown(t("account_engagement.rules.fallback_summary",
                  page=escape_markdown(labels.get(fallback, "-") if fallback is not None else "-")))


def operator_labels() -> dict[str, str]:
    return {operator.value: t(f"account_engagement.operator.{operator.value}") for operator in Operator}


def render_editor(
    state: EditorState, team: TeamView, form: CachedForm, routing: FormRoutingView, pages: list[BookingPage]
) -> None:
    """Show the draft rules as editable expanders, the fallback page, and Save."""
    draft = state.draft()
    if draft is None:
        return
    problems = state.problems()
    labels = page_labels(pages)
    first_field = form.fields[0] if form.fields else ""

    st.markdown(f"**{t('account_engagement.rules.editor')}**")
    st.caption(t("account_engagement.rules.editor_help", version=draft.version))
    if routing.version != draft.version:
        st.warning(t("account_engagement.rules.newer_saved", version=routing.version))

    for position, rule in enumerate(draft.rules):
        render_rule(state, form, rule, position, len(draft.rules), labels, problems)

    st.button(
        t("account_engagement.rules.add_rule"),
        key=state.widget("add_rule"),
        on_click=apply_edit,
        args=(state, "add_rule"),
        kwargs={"first_field": first_field},
    )

    options = target_options(draft.fallback_page_id, labels)
    st.selectbox(
        t("account_engagement.rules.fallback"),
        list(options),
        index=list(options).index(draft.fallback_page_id),
        format_func=options.__getitem__,
        key=state.widget("fallback"),
        help=t("account_engagement.rules.fallback_help"),
    )
    show_problems([problem for problem in problems if problem.rule_id is None])

    save, reload = st.columns(2)
    save.button(
        t("account_engagement.rules.save"),
        type="primary",
        key=state.widget("save"),
        on_click=save_draft,
        args=(state, team.id, form.form_id),
    )
    reload.button(
        t("account_engagement.rules.reload"),
        key=state.widget("reload"),
        on_click=reload_draft,
        args=(state, team.id, form.form_id),
    )
    show_editor_message(state)


def target_options(current: int | None, labels: dict[int, str]) -> dict[int | None, str]:
    """Return the choices of a page selectbox with their labels: none, the team's pages, and a missing current page.

    Labels are looked up before the widget is drawn because Streamlit may call
    format_func outside the script run, where the chosen language is unknown.
    """
    options: dict[int | None, str] = {None: target_label(None, labels)}
    options.update(labels)
    if current is not None and current not in options:
        options[current] = target_label(current, labels)
    return options


def target_label(page_id: int | None, labels: dict[int, str]) -> str:
    if page_id is None:
        return t("account_engagement.rules.no_page")
    return labels.get(page_id, t("account_engagement.rules.missing_page", page_id=page_id))


def show_editor_message(state: EditorState) -> None:
    message = state.pop_message()
    if message is None:
        return
    kind, text = message
    if kind == "success":
        st.success(text)
    else:
        st.error(text)


def show_problems(problems: list[RuleProblem]) -> None:
    for problem in problems:
        st.error(t(problem.message_key, **problem.params), icon=":material/error:")


def render_rule(
    state: EditorState,
    form: CachedForm,
    rule: Rule,
    position: int,
    count: int,
    labels: dict[int, str],
    problems: list[RuleProblem],
) -> None:
    """Show one rule: name, on/off, AND/OR, conditions, target page and the move, copy and delete buttons."""
    own = [problem for problem in problems if problem.rule_id == rule.id]
    title = f"{position + 1}. {rule.name or t('account_engagement.rules.untitled')}"
    if not rule.enabled:
        title += " " + t("account_engagement.rules.rule_off")
    if own:
        title += " ⚠️"

    with st.expander(title, expanded=True):
        left, right = st.columns([3, 1])
        left.text_input(t("account_engagement.rules.name"), value=rule.name, key=state.widget(rule.id, "name"))
        right.toggle(t("account_engagement.rules.rule_enabled"), value=rule.enabled,
                     key=state.widget(rule.id, "enabled"))
        join_labels = {join.value: t(f"account_engagement.rules.join.{join.value}") for join in Join}
        st.radio(
            t("account_engagement.rules.join_label"),
            list(join_labels),
            index=list(join_labels).index(rule.join.value),
            format_func=join_labels.__getitem__,
            horizontal=True,
            key=state.widget(rule.id, "join"),
        )

        for index, condition in enumerate(rule.conditions):
            render_condition(state, form, rule, index, condition)
            show_problems([problem for problem in own if problem.condition_index == index])
        show_problems([problem for problem in own if problem.field == "conditions"])
        st.button(
            t("account_engagement.rules.add_condition"),
            key=state.widget(rule.id, "add_condition"),
            on_click=apply_edit,
            args=(state, "add_condition", rule.id),
            kwargs={"first_field": form.fields[0] if form.fields else ""},
        )

        options = target_options(rule.target_page_id, labels)
        st.selectbox(
            t("account_engagement.rules.target"),
            list(options),
            index=list(options).index(rule.target_page_id),
            format_func=options.__getitem__,
            key=state.widget(rule.id, "target"),
        )
        show_problems([problem for problem in own if problem.field == "target"])

        up, down, copy, delete = st.columns(4)
        up.button(t("account_engagement.rules.up"), key=state.widget(rule.id, "up"), disabled=position == 0,
                  on_click=apply_edit, args=(state, "up", rule.id))
        down.button(t("account_engagement.rules.down"), key=state.widget(rule.id, "down"),
                    disabled=position == count - 1, on_click=apply_edit, args=(state, "down", rule.id))
        copy.button(t("account_engagement.rules.duplicate"), key=state.widget(rule.id, "duplicate"),
                    on_click=apply_edit, args=(state, "duplicate", rule.id))
        delete.button(t("account_engagement.rules.delete"), key=state.widget(rule.id, "delete"),
                      on_click=apply_edit, args=(state, "delete", rule.id))


def render_condition(state: EditorState, form: CachedForm, rule: Rule, index: int, condition: Condition) -> None:
    """Show one condition row: form field, operator, value and a remove button."""
    # A field the form no longer has stays selectable, so the problem can be shown and fixed.
    fields = {name: name for name in form.fields}
    fields.setdefault(condition.field, condition.field or t("account_engagement.rules.choose_field"))
    operators = operator_labels()
    collapsed = "visible" if index == 0 else "collapsed"

    field_column, operator_column, value_column, remove_column = st.columns([3, 2, 3, 1], vertical_alignment="bottom")
    field_column.selectbox(
        t("account_engagement.rules.field"),
        list(fields),
        index=list(fields).index(condition.field),
        format_func=fields.__getitem__,
        key=state.widget(rule.id, index, "field"),
        label_visibility=collapsed,
    )
    operator_column.selectbox(
        t("account_engagement.rules.operator"),
        list(operators),
        index=list(operators).index(condition.operator.value),
        format_func=operators.__getitem__,
        key=state.widget(rule.id, index, "operator"),
        label_visibility=collapsed,
        on_change=apply_edit,
        args=(state, "operator_changed"),
    )
    if condition.operator in LIST_OPERATORS:
        value_column.text_area(
            t("account_engagement.rules.values"),
            value=value_text(condition.value),
            key=state.widget(rule.id, index, "values"),
            help=t("account_engagement.rules.values_help"),
            height=90,
        )
    elif condition.operator not in VALUELESS_OPERATORS:
        value_column.text_input(
            t("account_engagement.rules.value"),
            value=value_text(condition.value),
            key=state.widget(rule.id, index, "value"),
            label_visibility=collapsed,
        )
    remove_column.button(
        t("account_engagement.rules.remove_condition"),
        key=state.widget(rule.id, index, "remove"),
        on_click=apply_edit,
        args=(state, "remove_condition", rule.id, index),
    )


# Test panel


def render_test_panel(state: EditorState, team: TeamView, form: CachedForm, pages: list[BookingPage]) -> None:
    """Evaluate the edited rules against sample answers and explain every condition; nobody is redirected."""
    st.markdown(f"**{t('account_engagement.test.title')}**")
    st.caption(t("account_engagement.test.help"))
    prefix = f"ae_test_{team.id}_{form.form_id}_"
    columns = st.columns(2)
    answers: dict[str, str] = {}
    for position, name in enumerate(form.fields):
        answers[name] = columns[position % 2].text_input(name, key=prefix + name)

    if not st.button(t("account_engagement.test.run"), key=prefix + "run"):
        return
    draft = state.draft()
    if draft is None:
        return
    show_decision(collect_draft(state, draft), answers, page_labels(pages))


def show_decision(rule_set: RuleSet, answers: dict[str, Any], labels: dict[int, str]) -> None:
    decision = evaluate(rule_set, answers)
    names = {rule.id: rule.name or t("account_engagement.rules.untitled") for rule in rule_set.rules}
    if decision.matched_rule_id is not None:
        st.success(
            t(
                "account_engagement.test.matched",
                rule=escape_markdown(names[decision.matched_rule_id]),
                page=escape_markdown(target_label(decision.target_page_id, labels)),
            )
        )
    elif decision.used_fallback:
        st.info(t("account_engagement.test.fallback", page=escape_markdown(target_label(decision.target_page_id, labels))))
    else:
        st.warning(t("account_engagement.test.no_page"))

    for explanation in decision.explanations:
        status = t(f"account_engagement.test.status.{explanation.status.value}")
        st.markdown(f"{STATUS_ICONS[explanation.status]} **{escape_markdown(names[explanation.rule_id])}**: {status}")
        if explanation.skip_message_key:
            st.caption(t(explanation.skip_message_key))
        for result in explanation.conditions:
            params = {name: escape_markdown(value) for name, value in result.params.items()}
            mark = "✅" if result.matched else "❌"
            st.markdown(f"- {mark} {next_step(result.message_key, params)}")


# Page


def main() -> None:
    team = require_team()
    st.title(t("account_engagement.title"))
    decision = permission(team, Action.MANAGE_ACCOUNT_ENGAGEMENT)
    can_edit = decision.allowed
    if not can_edit:
        show_read_only(team, decision)
        st.caption(t("account_engagement.who_can"))
    show_flash()

    render_business_unit(team, can_edit)
    forms = list_cached_forms(runtime().engine, team.id)
    render_forms(team, forms, can_edit)
    form = choose_form(team, forms)
    if form is not None:
        render_routing(team, form, can_edit)


main()
