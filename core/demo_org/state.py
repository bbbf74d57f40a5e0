"""The state one demo org app shares between its routes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request

from core.demo_org.faults import Faults
from core.demo_org.query import QueryCursors
from core.demo_org.store import Store

# NOTE: Salesforce sets the access token lifetime from the app's session timeout policy;
# two hours is the commonly seen default, not a documented one.
ACCESS_TOKEN_SECONDS = 2 * 60 * 60


@dataclass
class DemoOrgState:
    """Store, fault switches, open query cursors and the clock of one demo org."""

    store: Store
    clock: Callable[[], datetime]
    faults: Faults = field(default_factory=Faults)
    cursors: QueryCursors = field(default_factory=QueryCursors)


def base_url(request: Request) -> str:
    """Return the org's base URL as the client reached it, including the mount prefix (``root_path``)."""
    root_path = request.scope.get("root_path", "").rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{root_path}"
