"""HTML pages of the demo org: the OAuth consent and error pages, the index, record lists and record pages.

The pages imitate Salesforce, so their text is English only.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from core.demo_org.constants import DEMO_ORG_NAME
from core.demo_org.ids import normalize_id
from core.demo_org.schema import OBJECTS, find_object, object_for_id
from core.demo_org.state import DemoOrgState

# The objects the index page lists; Profile, RecordType and AssignmentRule are setup data.
LISTED_OBJECTS = ("Lead", "Contact", "Account", "Event", "User", "Group")

_SCOPE_LABELS = {
    "api": "Manage user data via APIs (api)",
    "refresh_token": "Perform requests at any time (refresh_token, offline_access)",
    "offline_access": "Perform requests at any time (refresh_token, offline_access)",
    "id": "Access the identity URL service (id, profile, email, address, phone)",
    "openid": "Access unique user identifiers (openid)",
    "profile": "Access the identity URL service (id, profile, email, address, phone)",
    "email": "Access the identity URL service (id, profile, email, address, phone)",
    "web": "Access the Salesforce API platform via the web (web)",
    "pardot_api": "Access Pardot services (pardot_api)",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f3f3f3; color: #181818; }
header { background: #0176d3; color: white; padding: 12px 24px; font-weight: 600; }
main { max-width: 880px; margin: 24px auto; background: white; padding: 24px; border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
th { width: 30%; color: #444; font-weight: 500; }
button { font-size: 1rem; padding: 8px 20px; border-radius: 4px; border: 1px solid #0176d3; cursor: pointer; }
button.allow { background: #0176d3; color: white; }
button.deny { background: white; color: #0176d3; }
.error { color: #ba0517; }
"""


def layout(title: str, body: str) -> str:
    """Wrap page content in the demo org's HTML frame."""
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><header>{escape(DEMO_ORG_NAME)} (demo Salesforce org)</header><main>{body}</main></body></html>"
    )


def consent_page(app_name: str, scopes: list[str], user_name: str, username: str, action: str, form_token: str) -> str:
    """Render the "Allow access?" page with Allow and Deny buttons that post back to `action`."""
    labels = list(dict.fromkeys(_SCOPE_LABELS.get(scope, scope) for scope in scopes))
    items = "".join(f"<li>{escape(label)}</li>" for label in labels)
    body = (
        "<h1>Allow access?</h1>"
        f"<p><strong>{escape(app_name)}</strong> is asking to:</p><ul>{items}</ul>"
        f"<p>You are logged in as {escape(user_name)} ({escape(username)}).</p>"
        f"<form method=\"post\" action=\"{escape(action)}\">"
        f"<input type=\"hidden\" name=\"form_token\" value=\"{escape(form_token)}\">"
        "<button class=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button> "
        "<button class=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>"
        "</form>"
    )
    return layout("Allow access?", body)


def oauth_error_page(error: str, description: str) -> str:
    """Render the page Salesforce shows instead of redirecting when an authorize request is invalid."""
    body = (
        "<h1>OAuth error</h1>"
        "<p>We can't authorize you because of an OAuth error. Check the app's settings and try again.</p>"
        f"<p class=\"error\">error=<code id=\"error\">{escape(error)}</code></p>"
        f"<p class=\"error\">error_description=<code id=\"error_description\">{escape(description)}</code></p>"
    )
    return layout("OAuth error", body)


def page_routes(state: DemoOrgState) -> list[Route]:
    """Build the routes of the index, record list and record pages (no sign-in needed in the demo org)."""

    async def index(request: Request) -> Response:
        prefix = _prefix(request)
        items = "".join(
            f"<li><a href=\"{prefix}/lightning/o/{name}/list\">{escape(OBJECTS[name].label_plural)}</a></li>"
            for name in LISTED_OBJECTS
        )
        return HTMLResponse(layout(DEMO_ORG_NAME, f"<h1>{escape(DEMO_ORG_NAME)}</h1><ul>{items}</ul>"))

    async def record_list(request: Request) -> Response:
        spec = find_object(request.path_params["sobject"])
        if spec is None:
            return _not_found_page("No such object: " + request.path_params["sobject"])
        prefix = _prefix(request)
        rows = "".join(
            f"<tr><td><a href=\"{prefix}/lightning/r/{spec.name}/{record['Id']}/view\">{escape(_title(record))}</a></td>"
            f"<td>{escape(str(record.get('Email') or record.get('PersonEmail') or ''))}</td></tr>"
            for record in state.store.list_records(spec.name)
        )
        body = f"<h1>{escape(spec.label_plural)}</h1><p><a href=\"{prefix}/\">Home</a></p><table>{rows}</table>"
        return HTMLResponse(layout(spec.label_plural, body))

    async def record_view(request: Request) -> Response:
        spec = find_object(request.path_params["sobject"])
        record_id = normalize_id(request.path_params["record_id"])
        stored = state.store.get_record(record_id) if spec and record_id else None
        if spec is None or stored is None or stored.sobject != spec.name or stored.is_deleted:
            return _not_found_page("This record was deleted or does not exist.")

        prefix = _prefix(request)
        rows = "".join(
            f"<tr><th>{escape(field.label)} <small>({field.name})</small></th>"
            f"<td>{_field_value(prefix, field.type, stored.fields.get(field.name))}</td></tr>"
            for field in spec.fields.values()
        )
        body = (
            f"<p><a href=\"{prefix}/lightning/o/{spec.name}/list\">{escape(spec.label_plural)}</a></p>"
            f"<h1>{escape(spec.label)}: {escape(_title(stored.fields))}</h1><table>{rows}</table>"
        )
        return HTMLResponse(layout(_title(stored.fields), body))

    return [
        Route("/", index),
        Route("/lightning/o/{sobject}/list", record_list),
        Route("/lightning/r/{sobject}/{record_id}/view", record_view),
    ]


def _prefix(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _title(record: dict[str, Any]) -> str:
    return str(record.get("Name") or record.get("Subject") or record.get("Id"))


def _field_value(prefix: str, field_type: str, value: Any) -> str:
    if value is None:
        return ""
    if field_type == "reference":
        target = object_for_id(str(value))
        if target is not None:
            return f"<a href=\"{prefix}/lightning/r/{target.name}/{escape(str(value))}/view\">{escape(str(value))}</a>"
    if isinstance(value, bool):
        return "&#10003;" if value else "&#9744;"
    return escape(str(value))


def _not_found_page(message: str) -> Response:
    body = f"<h1>Page not found</h1><p>{escape(message)}</p>"
    return HTMLResponse(layout("Page not found", body), status_code=404)
