"""Approve the demo org's authorize page over HTTP, the way a browser does when the user presses Allow."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import requests

_FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')
_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
_ERROR = re.compile(r'<code id="error">([^<]*)</code>')


def approve_authorization(http: requests.Session, authorize_url: str, *, decision: str = "allow", timeout: float = 30.0) -> str:
    """Open `authorize_url`, submit `decision` (allow or deny) and return the redirect's Location.

    Only the demo org's own consent page can be approved this way. Raises RuntimeError with the
    OAuth error when the org shows its error page instead of the consent page.
    """
    page = http.get(authorize_url, timeout=timeout)
    action = _FORM_ACTION.search(page.text)
    form_token = _FORM_TOKEN.search(page.text)
    if page.status_code != 200 or action is None or form_token is None:
        error = _ERROR.search(page.text)
        reason = unescape(error[1]) if error else f"HTTP {page.status_code}"
        raise RuntimeError(f"the demo org did not show its consent page ({reason}); check the consumer key and callback URL")

    response = http.post(
        urljoin(page.url, unescape(action[1])),
        data={"form_token": unescape(form_token[1]), "decision": decision},
        allow_redirects=False,
        timeout=timeout,
    )
    if response.status_code != 302:
        raise RuntimeError(f"the demo org rejected the decision with HTTP {response.status_code}; open the authorize URL again")
    return response.headers["Location"]
