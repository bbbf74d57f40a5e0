"""The demo booking page refuses the same slot booked twice by the same email, as after Back and resend."""

from __future__ import annotations

from tests.test_demo_booking import (  # noqa: F401 (fixtures)
    EXPECTED_SLOTS,
    JAPANESE,
    PAGE_PATH,
    booking_fields,
    client,
    clock,
    demo_page,
    form_token,
    open_form,
    outbox_rows,
)
from tests.sync_fixtures import store_runtime, webhook_team  # noqa: F401 (fixtures)

ALREADY_BOOKED = "You have already booked this time with this email address."
ALREADY_BOOKED_JA = "このメールアドレスでこの日時はすでに予約されています。"


def test_back_and_resend_books_once(client, store_runtime):
    first = client.post(PAGE_PATH, data=booking_fields(form_token(open_form(client))))
    # Back reloads the page (it is never cached), so the second post carries a fresh token.
    second = client.post(PAGE_PATH, data=booking_fields(form_token(open_form(client)), email="Taro.Yamada@example.jp"))

    assert first.status_code == 200
    assert second.status_code == 409
    assert ALREADY_BOOKED in second.text
    assert len(outbox_rows(store_runtime)) == 1


def test_already_booked_in_japanese(client, store_runtime):
    client.post(PAGE_PATH, data=booking_fields(form_token(open_form(client))))

    again = client.post(PAGE_PATH, data=booking_fields(form_token(open_form(client))), headers=JAPANESE)

    assert again.status_code == 409
    assert ALREADY_BOOKED_JA in again.text


def test_other_guest_or_slot_books_again(client, store_runtime):
    client.post(PAGE_PATH, data=booking_fields(form_token(open_form(client))))

    other_guest = client.post(PAGE_PATH, data=booking_fields(form_token(open_form(client)), email="hanako@example.jp"))
    other_slot = client.post(PAGE_PATH, data=booking_fields(form_token(open_form(client)), slot=EXPECTED_SLOTS[3]))

    assert other_guest.status_code == 200
    assert other_slot.status_code == 200
    rows = outbox_rows(store_runtime)
    assert len(rows) == 3
    assert len({row.booking_uid for row in rows}) == 3
