"""Every message key core.auth returns exists and formats with the parameters it comes with."""

from __future__ import annotations

import pytest

from core.auth import errors
from core.auth.accounts import change_role, create_first_owner, create_user, invite_member, remove_member
from core.auth.members import parse_role
from core.auth.passwords import validate_new_password
from core.auth.sessions import LOCKED_KEY, TOO_SOON_KEY, WRONG_CREDENTIALS_KEY, redeem_ticket, sign_in
from core.auth.users import normalise_email
from core.i18n import LANGUAGES, load_catalog, translate
from core.store.models import Role
from tests.auth_fixtures import NOW, PASSWORD, role_team  # noqa: F401


def error_classes() -> list[type[errors.AuthError]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.AuthError)
    ]


@pytest.mark.parametrize("error_class", error_classes(), ids=lambda cls: cls.__name__)
def test_error_keys_exist(error_class):
    assert error_class.message_key in load_catalog()


def test_sign_in_keys_exist():
    catalog = load_catalog()

    assert [key for key in (WRONG_CREDENTIALS_KEY, TOO_SOON_KEY, LOCKED_KEY) if key not in catalog] == []


def raised_errors(role_team) -> list[errors.AuthError]:
    """Raise each user-facing error through the public functions and return them."""
    engine, team_id = role_team.engine, role_team.id
    owner = role_team.users[Role.OWNER]
    admin = role_team.actor(Role.ADMIN)
    attempts = [
        lambda: normalise_email("not an email"),
        lambda: validate_new_password("short"),
        lambda: create_user(engine, "x@example.com", " ", None, NOW),
        lambda: create_user(engine, owner.email, "Owner again", None, NOW),
        lambda: parse_role("boss"),
        lambda: create_first_owner(engine, "y@example.com", "Y", PASSWORD, "Team", "team-y", NOW),
        lambda: invite_member(engine, admin, team_id, role_team.users[Role.MEMBER].email, Role.MEMBER, NOW),
        lambda: remove_member(engine, role_team.actor(Role.OWNER), team_id, owner.id, NOW),
        lambda: change_role(engine, admin, team_id, 9999, Role.MEMBER, NOW),
        lambda: redeem_ticket(engine, "unknown", NOW),
    ]
    found = []
    for attempt in attempts:
        with pytest.raises(errors.AuthError) as raised:
            attempt()
        found.append(raised.value)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_raised_errors_format_in_each_language(role_team, language):
    for error in raised_errors(role_team):
        text = translate(error.message_key, language, **error.params)

        assert text != error.message_key
        assert "{" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_sign_in_results_format_in_each_language(role_team, language):
    engine = role_team.engine
    first = sign_in(engine, "owner@example.com", "wrong password!", NOW)
    results = [first, sign_in(engine, "owner@example.com", PASSWORD, NOW)]
    moment = first.retry_at
    for _ in range(4):
        results.append(sign_in(engine, "owner@example.com", "wrong password!", moment))
        moment = results[-1].retry_at
    results.append(sign_in(engine, "owner@example.com", PASSWORD, NOW))

    assert {result.error_key for result in results} == {WRONG_CREDENTIALS_KEY, TOO_SOON_KEY, LOCKED_KEY}
    for result in results:
        text = translate(result.error_key, language, **result.error_params)

        assert text != result.error_key
        assert "{" not in text
