"""Users, team membership and org sharing: the account functions pages and the seeder call.

The functions live in smaller modules by concept; this module gathers them
under one import.
"""

from __future__ import annotations

from core.auth.demo_users import DEMO_USERS, demo_email, seed_demo_users
from core.auth.members import (
    FirstOwner,
    InviteResult,
    MemberView,
    add_member,
    change_role,
    create_first_owner,
    invite_member,
    list_members,
    parse_role,
    remove_member,
    set_team_plan,
    teams_for_user,
)
from core.auth.orgs import REFRESH_TOKENS_PER_USER_AND_APP, OrgSharing, org_sharing, teams_sharing_org
from core.auth.users import UserView, create_user, get_user, has_users, normalise_email

__all__ = [
    "DEMO_USERS",
    "REFRESH_TOKENS_PER_USER_AND_APP",
    "FirstOwner",
    "InviteResult",
    "MemberView",
    "OrgSharing",
    "UserView",
    "add_member",
    "change_role",
    "create_first_owner",
    "create_user",
    "demo_email",
    "get_user",
    "has_users",
    "invite_member",
    "list_members",
    "normalise_email",
    "org_sharing",
    "parse_role",
    "remove_member",
    "seed_demo_users",
    "set_team_plan",
    "teams_for_user",
    "teams_sharing_org",
]
