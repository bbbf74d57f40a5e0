"""The demo booking page's HTML: the booking form, the confirmation and plain message pages.

Every text and value written into the HTML goes through html.escape, because
names, emails, answers and question labels come from visitors and managers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.demo_booking.booking import (
    ANSWER_FIELD_PREFIX,
    EMAIL_FIELD,
    MAX_ANSWER_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    NAME_FIELD,
    SLOT_FIELD,
    BookingForm,
    DemoPage,
    FieldProblem,
)
from core.demo_booking.slots import SLOT_ZONE, Slot
from core.i18n import translate

TOKEN_FIELD = "form_token"

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;padding:2rem 1.5rem;color:#1f2933;background:#f5f7fa}"
    "main{max-width:40rem;margin:auto;background:#fff;padding:1.5rem 2rem;border-radius:8px}"
    "h1{font-size:1.5rem}.notice{background:#fff8e1;border-left:4px solid #f0b400;padding:.6rem .9rem}"
    ".errors{background:#fdecea;border-left:4px solid #c62828;padding:.6rem .9rem}"
    "label{display:block;margin:.8rem 0 .2rem;font-weight:600}"
    "input[type=text],input[type=email]{width:100%;padding:.45rem;box-sizing:border-box}"
    "fieldset{border:1px solid #d5dbe1;margin:1rem 0;padding:.6rem 1rem}"
    ".slot{display:block;font-weight:400;margin:.35rem 0}.field-error{color:#c62828;margin:.2rem 0}"
    "button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}a{color:#0b5cad}dt{font-weight:600}"
)


@dataclass(frozen=True)
class FormView:
    """The booking form's content: the values, the offered slots, the token and any problems."""

    page: DemoPage
    form: BookingForm
    slots: Sequence[Slot]
    token: str
    problems: Sequence[FieldProblem] = ()
    # A message about the whole form, such as an expired token, by catalog key and parameters.
    form_error: tuple[str, dict] | None = None


@dataclass(frozen=True)
class Confirmation:
    """The confirmation's content after the console's webhook intake accepted a booking."""

    page: DemoPage
    form: BookingForm
    slot: Slot
    status: int
    booking_url: str
    sync_log_url: str
    notes: Sequence[str] = field(default_factory=tuple)


def slot_label(slot: Slot, language: str) -> str:
    """Return the slot as the visitor reads it, such as "Monday 2026-01-05, 10:00–10:30"."""
    start = slot.start.astimezone(SLOT_ZONE)
    end = slot.end.astimezone(SLOT_ZONE)
    return translate(
        "demo_booking.slot.label",
        language,
        weekday=translate(f"demo_booking.weekday.{start.weekday()}", language),
        year=start.year,
        month=start.month,
        day=start.day,
        start=f"{start:%H:%M}",
        end=f"{end:%H:%M}",
    )


def render_form(view: FormView, language: str) -> str:
    """Return the booking form page."""
    t = _translator(language)
    problems = {problem.field: problem for problem in view.problems}
    messages = [t(key, **params) for key, params in ([view.form_error] if view.form_error else [])]
    messages += [t(problem.message_key, **problem.params) for problem in view.problems]
    error_box = ""
    if messages:
        items = "".join(f"<li>{_text(message)}</li>" for message in messages)
        heading = _text(t("demo_booking.error.summary"))
        error_box = f'<div class="errors" role="alert"><p>{heading}</p><ul>{items}</ul></div>'

    body = (
        _notice(language)
        + f"<p>{_text(t('demo_booking.intro'))}</p>"
        + error_box
        + '<form method="post" accept-charset="utf-8">'
        + f'<input type="hidden" name="{TOKEN_FIELD}" value="{_attr(view.token)}">'
        + _slot_fieldset(view, problems.get(SLOT_FIELD), language)
        + _input(
            "field-name", NAME_FIELD, t("demo_booking.field.name"), view.form.name, "text", MAX_NAME_LENGTH,
            problems, language,
        )
        + _input(
            "field-email", EMAIL_FIELD, t("demo_booking.field.email"), view.form.email, "email", MAX_EMAIL_LENGTH,
            problems, language,
        )
        + _questions(view, problems, language)
        + f'<button type="submit">{_text(t("demo_booking.submit"))}</button>'
        + "</form>"
    )
    return _document(language, view.page.name, body)


def _slot_fieldset(view: FormView, problem: FieldProblem | None, language: str) -> str:
    options = []
    for index, slot in enumerate(view.slots):
        checked = " checked" if slot.value == view.form.slot else ""
        options.append(
            f'<label class="slot"><input type="radio" name="{SLOT_FIELD}" value="{_attr(slot.value)}"'
            f' id="slot-{index}" required{checked}> {_text(slot_label(slot, language))}</label>'
        )
    legend = _text(translate("demo_booking.field.slot", language))
    return f"<fieldset><legend>{legend}</legend>{_field_error(problem, language)}{''.join(options)}</fieldset>"


def _questions(view: FormView, problems: dict[str, FieldProblem], language: str) -> str:
    if not view.page.questions:
        return ""
    inputs = "".join(
        _input(
            f"question-{index}",
            ANSWER_FIELD_PREFIX + question,
            question,
            view.form.answers.get(question, ""),
            "text",
            MAX_ANSWER_LENGTH,
            problems,
            language,
            required=False,
        )
        for index, question in enumerate(view.page.questions)
    )
    legend = _text(translate("demo_booking.field.questions", language))
    return f"<fieldset><legend>{legend}</legend>{inputs}</fieldset>"


def _input(
    field_id: str,
    name: str,
    label: str,
    value: str,
    kind: str,
    max_length: int,
    problems: dict[str, FieldProblem],
    language: str,
    *,
    required: bool = True,
) -> str:
    problem = problems.get(name)
    invalid = ' aria-invalid="true"' if problem else ""
    return (
        f'<label for="{field_id}">{_text(label)}</label>{_field_error(problem, language)}'
        f'<input type="{kind}" id="{field_id}" name="{_attr(name)}" value="{_attr(value)}"'
        f' maxlength="{max_length}"{" required" if required else ""}{invalid}>'
    )


def _field_error(problem: FieldProblem | None, language: str) -> str:
    if problem is None:
        return ""
    return f'<p class="field-error">{_text(translate(problem.message_key, language, **problem.params))}</p>'


def render_confirmation(confirmation: Confirmation, language: str) -> str:
    """Return the confirmation page with the booking's details and a link to the sync log."""
    t = _translator(language)
    details = (
        f"<dl><dt>{_text(t('demo_booking.field.slot'))}</dt><dd>{_text(slot_label(confirmation.slot, language))}</dd>"
        f"<dt>{_text(t('demo_booking.field.name'))}</dt><dd>{_text(confirmation.form.name)}</dd>"
        f"<dt>{_text(t('demo_booking.field.email'))}</dt><dd>{_text(confirmation.form.email)}</dd></dl>"
    )
    notes = "".join(f"<p>{_text(note)}</p>" for note in confirmation.notes)
    body = (
        _notice(language)
        + f"<h2>{_text(t('demo_booking.done.title'))}</h2>"
        + f"<p>{_text(t('demo_booking.done.message', status=confirmation.status))}</p>"
        + details
        + notes
        + f'<p><a href="{_attr(confirmation.sync_log_url)}" id="open-sync-log">'
        + f"{_text(t('demo_booking.done.open_log'))}</a></p>"
        + f'<p><a href="{_attr(confirmation.booking_url)}">{_text(t("demo_booking.done.book_another"))}</a></p>'
    )
    return _document(language, confirmation.page.name, body)


def render_message(title: str, message: str, language: str) -> str:
    """Return a plain page with a title and one message, for a missing page or a rejected request."""
    return _document(language, title, f"{_notice(language)}<p>{_text(message)}</p>")


def _notice(language: str) -> str:
    return f'<p class="notice">{_text(translate("demo_booking.notice", language))}</p>'


def _document(language: str, title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        f'<html lang="{_attr(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{_text(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{_text(title)}</h1>{body}</main></body></html>\n"
    )


def _translator(language: str):
    return lambda key, **params: translate(key, language, **params)


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)
