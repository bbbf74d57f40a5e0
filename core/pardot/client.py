"""The Account Engagement (Pardot) API v5 client: every call goes through PardotClient.request."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from core.pardot.errors import (
    INVALID_ACCESS_TOKEN,
    PardotError,
    pardot_error_from_response,
)
from core.salesforce.errors import TransportError
from core.secrets import Secret

logger = logging.getLogger(__name__)

API_PATH = "/api/v5/"
BUSINESS_UNIT_HEADER = "Pardot-Business-Unit-Id"
WARNING_HEADER = "Pardot-Warning"
# A query returns 200 records per page by default and at most 1,000 when limit is set.
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000

_COLLECTION = re.compile(r"[a-z][a-z-]*")
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
# "203;Record count for nextPageToken sequence has been exceeded. No page token returned."
_PAGE_TOKEN_LIMIT_WARNING = "203"


class PardotClient:
    """A v5 client for one business unit, authenticated with a Salesforce access token.

    The access token is sent only in the Authorization header and never appears
    in a repr, an error or a log line.
    """

    def __init__(
        self,
        base_url: str,
        business_unit_id: str,
        access_token: Secret | str,
        *,
        refresh: Callable[[], Secret] | None = None,
        http: requests.Session | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.business_unit_id = business_unit_id
        #: Requests sent in this client's life, refresh retries included.
        self.api_calls = 0
        self._access_token = access_token if isinstance(access_token, Secret) else Secret(access_token)
        self._refresh = refresh
        self._http = http or requests.Session()
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"PardotClient({self.base_url!r}, business_unit_id={self.business_unit_id!r})"

    @property
    def host(self) -> str:
        """The API host, such as pi.pardot.com, for messages."""
        return urlsplit(self.base_url).netloc

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one request and return its decoded JSON, or None for an empty body.

        path is relative to /api/v5/ ("objects/forms") or absolute on the host.
        When the token is rejected with code 184, the refresh callback is called
        once and the request is sent once more, because an expired Salesforce
        token gets the same code as a missing scope.

        Raises a PardotError subclass for an error response, TransportError when
        the request or its response did not get through, and whatever the
        refresh callback raises (ReconnectRequired).
        """
        body, _ = self._call(method, path, params=params, json=json)
        return body

    def query(
        self,
        collection: str,
        fields: Sequence[str],
        *,
        filters: dict[str, Any] | None = None,
        limit: int | None = None,
        order_by: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return every record of a collection query, following nextPageToken."""
        return list(self.iter_query(collection, fields, filters=filters, limit=limit, order_by=order_by))

    def iter_query(
        self,
        collection: str,
        fields: Sequence[str],
        *,
        filters: dict[str, Any] | None = None,
        limit: int | None = None,
        order_by: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the records of a collection query page by page.

        fields is required by v5. limit is the page size (1 to 1000). Filters are
        sent with the first page only: a page token carries the whole query, so
        following pages send only nextPageToken and fields.
        """
        path = f"objects/{_check_collection(collection)}"
        field_list = _join_fields(fields)
        params: dict[str, Any] = {"fields": field_list, **(filters or {})}
        if limit is not None:
            if not 1 <= limit <= MAX_PAGE_SIZE:
                raise ValueError(f"limit {limit} is out of range: give 1 to {MAX_PAGE_SIZE} records per page")
            params["limit"] = limit
        if order_by:
            params["orderBy"] = order_by

        while True:
            page, headers = self._call("GET", path, params=params)
            yield from page.get("values") or []

            token = page.get("nextPageToken")
            if not token:
                _warn_if_truncated(headers, path)
                return
            params = {"nextPageToken": token, "fields": field_list}

    def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> tuple[Any, CaseInsensitiveDict[str]]:
        method = method.upper()
        url = self._url(path)

        response = self._send(method, url, params=params, json=json)

        if self._refresh is not None and _error_code(response) == INVALID_ACCESS_TOKEN:
            logger.info("Account Engagement rejected the access token (184); refreshing it once")
            self._access_token = self._refresh()
            response = self._send(method, url, params=params, json=json)

        return self._decode(response, method=method, path=urlsplit(url).path), response.headers

    def _url(self, path: str) -> str:
        if path.startswith("/"):
            return self.base_url + path
        return self.base_url + API_PATH + path

    def _send(self, method: str, url: str, *, params: dict[str, Any] | None, json: Any) -> requests.Response:
        """Send the request once, count it and log one line without the query string."""
        path = urlsplit(url).path
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {self._access_token.reveal()}",
            BUSINESS_UNIT_HEADER: self.business_unit_id,
        }

        started = time.perf_counter()
        try:
            response = self._http.request(
                method, url, params=params, json=json, headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            logger.warning("Account Engagement %s %s failed before a response: %s", method, path, type(exc).__name__)
            raise TransportError(
                f"the request did not reach Account Engagement at {self.host} or its response was lost "
                f"({type(exc).__name__})",
                method=method,
                path=path,
                next_step_params=self._next_step_params(),
            ) from exc
        self.api_calls += 1

        logger.info(
            "Account Engagement %s %s -> %s in %d ms",
            method,
            path,
            response.status_code,
            round((time.perf_counter() - started) * 1000),
        )
        return response

    def _decode(self, response: requests.Response, *, method: str, path: str) -> Any:
        body = _json_or_none(response)
        if 200 <= response.status_code < 300:
            if response.status_code == 204 or not response.content:
                return None
            if body is None:
                raise PardotError(
                    f"Account Engagement returned HTTP {response.status_code} with a body that is not JSON",
                    status=response.status_code,
                    method=method,
                    path=path,
                    next_step_params=self._next_step_params(),
                )
            return body
        raise pardot_error_from_response(
            response.status_code, body, method=method, path=path, next_step_params=self._next_step_params()
        )

    def _next_step_params(self) -> dict[str, str]:
        return {"business_unit_id": self.business_unit_id, "host": self.host}


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _error_code(response: requests.Response) -> int | None:
    if response.status_code < 400:
        return None
    body = _json_or_none(response)
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None


def _warn_if_truncated(headers: CaseInsensitiveDict[str], path: str) -> None:
    # Past 100,000 records in one token sequence, v5 returns no token and sends this
    # warning instead. The caller must split the query (idGreaterThan) to get the rest.
    warning = headers.get(WARNING_HEADER, "")
    if warning.startswith(_PAGE_TOKEN_LIMIT_WARNING):
        logger.warning("Account Engagement GET %s stopped paging early: %s", path, warning)


def _check_collection(collection: str) -> str:
    if not _COLLECTION.fullmatch(collection):
        raise ValueError(f"{collection!r} is not a v5 collection name such as forms or form-fields")
    return collection


def _join_fields(fields: Sequence[str]) -> str:
    if isinstance(fields, str) or not fields:
        raise ValueError("fields must be a non-empty list of v5 field names such as ['id', 'name']")
    invalid = [name for name in fields if not _FIELD.fullmatch(name)]
    if invalid:
        raise ValueError(f"invalid v5 field names {invalid!r}: use names such as id, name, formId")
    return ",".join(fields)
