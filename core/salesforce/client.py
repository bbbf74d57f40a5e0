"""The Salesforce REST client: every call to an org goes through SalesforceClient.request."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from core.salesforce.errors import SalesforceError, TransportError, error_from_response
from core.secrets import Secret

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "66.0"

# "api-usage=18/15000" is requests used / allowed in the rolling 24 hours; the
# header may carry other parts such as per-app-api-usage, separated by commas.
_API_USAGE = re.compile(r"(?:^|[\s,;])api-usage=(\d+)/(\d+)")
_SOBJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RECORD_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


@dataclass(frozen=True)
class CompositeResult:
    """One subrequest's outcome in a composite response."""

    reference_id: str
    status: int
    body: Any
    ok: bool


class SalesforceClient:
    """A REST client for one connected org and user.

    The access token is sent only in the Authorization header and never appears
    in a repr or a log line.
    """

    def __init__(
        self,
        instance_url: str,
        access_token: Secret | str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        refresh: Callable[[], Secret] | None = None,
        on_usage: Callable[[int, int], None] | None = None,
        http: requests.Session | None = None,
        timeout: float = 30.0,
        user_id: str | None = None,
    ) -> None:
        self.instance_url = instance_url.rstrip("/")
        self.api_version = api_version
        self.user_id = user_id
        #: Requests sent under /services/data/vXX.X/ in this client's life.
        #: NOTE: identity URL calls are not counted, because no source says they use the daily limit.
        self.api_calls = 0
        self._access_token = _as_secret(access_token)
        self._refresh = refresh
        self._on_usage = on_usage
        self._http = http or requests.Session()
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"SalesforceClient({self.instance_url!r}, api_version={self.api_version!r})"

    @property
    def data_path(self) -> str:
        """The REST base path of this client's API version, such as /services/data/v66.0/."""
        return f"/services/data/v{self.api_version}/"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one REST request and return its decoded JSON, or None for an empty body.

        path is relative to the versioned REST base ("sobjects/Lead"), absolute on
        the instance ("/services/data/v66.0/query/01g..."), or a full URL (the
        identity URL). When the token is rejected with 401 INVALID_SESSION_ID,
        the refresh callback is called once and the request is sent once more.
        Nothing else is retried: the caller decides about retries.

        Raises a SalesforceError subclass for an error response, TransportError
        when the request or its response did not get through, and whatever the
        refresh callback raises (ReconnectRequired).
        """
        method = method.upper()
        url = self._url(path)

        response = self._send(method, url, params=params, json=json, headers=headers)

        if self._refresh is not None and _is_expired_session(response):
            logger.info("Salesforce session expired; refreshing the access token once")
            self._access_token = _as_secret(self._refresh())
            response = self._send(method, url, params=params, json=json, headers=headers)

        return _decode(response, method=method, path=urlsplit(url).path)

    def query(self, soql: str) -> list[dict[str, Any]]:
        """Run a SOQL query and return all records, following nextRecordsUrl.

        Build soql with core.salesforce.soql.format_soql so values are quoted.
        """
        page = self.request("GET", "query", params={"q": soql})
        records: list[dict[str, Any]] = list(page["records"])

        # Salesforce returns up to 2,000 records per batch (REST API guide, "Query").
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = self.request("GET", page["nextRecordsUrl"])
            records.extend(page["records"])
        return records

    def create(self, sobject: str, fields: dict[str, Any], *, headers: dict[str, str] | None = None) -> str:
        """Create one record and return its Id."""
        body = self.request("POST", f"sobjects/{_check_sobject(sobject)}", json=fields, headers=headers)
        return body["id"]

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """Update fields of one record."""
        self.request("PATCH", f"sobjects/{_check_sobject(sobject)}/{_check_id(record_id)}", json=fields)

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete one record."""
        self.request("DELETE", f"sobjects/{_check_sobject(sobject)}/{_check_id(record_id)}")

    def composite(self, subrequests: list[dict[str, Any]], *, all_or_none: bool = True) -> dict[str, CompositeResult]:
        """Send subrequests in one composite request and return the results by referenceId.

        A subrequest url may be relative ("sobjects/Lead"); it is then prefixed
        with this client's REST base path. The whole request counts as one API
        call; Salesforce allows up to 25 subrequests (REST API guide, "Composite").

        Raises the SalesforceError of the first failed subrequest whose errorCode is
        not PROCESSING_HALTED when all_or_none is true. With all_or_none false,
        failed subrequests are returned with ok=False.
        """
        prepared = [self._prepare_subrequest(sub) for sub in subrequests]
        body = self.request("POST", "composite", json={"allOrNone": all_or_none, "compositeRequest": prepared})

        results: dict[str, CompositeResult] = {}
        for item in body["compositeResponse"]:
            status = int(item["httpStatusCode"])
            reference_id = item["referenceId"]
            results[reference_id] = CompositeResult(reference_id, status, item.get("body"), 200 <= status < 300)

        if all_or_none:
            failure = _first_real_failure(results)
            if failure is not None:
                sub = next(s for s in prepared if s["referenceId"] == failure.reference_id)
                raise error_from_response(
                    failure.status, failure.body, method=sub["method"], path=urlsplit(sub["url"]).path
                )
        return results

    def limits(self) -> dict[str, Any]:
        """Return the org's limits, such as DailyApiRequests {"Max", "Remaining"}."""
        return self.request("GET", "limits")

    def record_url(self, sobject: str, record_id: str) -> str:
        """Return the Lightning page URL of a record."""
        return f"{self.instance_url}/lightning/r/{_check_sobject(sobject)}/{_check_id(record_id)}/view"

    def _url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            return path
        if path.startswith("/"):
            return self.instance_url + path
        return self.instance_url + self.data_path + path

    def _prepare_subrequest(self, sub: dict[str, Any]) -> dict[str, Any]:
        prepared = dict(sub)
        if not prepared["url"].startswith("/"):
            prepared["url"] = self.data_path + prepared["url"]
        return prepared

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        headers: dict[str, str] | None,
    ) -> requests.Response:
        """Send the request once, then count it, read the usage header and log one line."""
        path = urlsplit(url).path
        all_headers = {"Accept": "application/json", **(headers or {})}
        all_headers["Authorization"] = f"Bearer {self._access_token.reveal()}"

        started = time.perf_counter()
        try:
            response = self._http.request(
                method, url, params=params, json=json, headers=all_headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            logger.warning("Salesforce %s %s failed before a response: %s", method, path, type(exc).__name__)
            raise TransportError(
                f"the request did not reach Salesforce or its response was lost ({type(exc).__name__})",
                method=method,
                path=path,
            ) from exc
        duration_ms = round((time.perf_counter() - started) * 1000)

        # Only versioned REST calls count against the daily API limit. The instance
        # URL may carry a path of its own (the demo org is mounted at /demo-org).
        if url.startswith(self.instance_url + "/services/data/v"):
            self.api_calls += 1
        usage = _read_api_usage(response)
        if usage is not None and self._on_usage is not None:
            self._on_usage(*usage)

        logger.info(
            "Salesforce %s %s -> %s in %d ms, api usage %s",
            method,
            path,
            response.status_code,
            duration_ms,
            f"{usage[0]}/{usage[1]}" if usage else "unknown",
        )
        return response


def _as_secret(token: Secret | str) -> Secret:
    # Secret(secret) would copy the mask, because str() of a Secret is "********".
    return token if isinstance(token, Secret) else Secret(token)


def _read_api_usage(response: requests.Response) -> tuple[int, int] | None:
    match = _API_USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _is_expired_session(response: requests.Response) -> bool:
    if response.status_code != 401:
        return False
    body = _json_or_none(response)
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    return first.get("errorCode") == "INVALID_SESSION_ID"


def _decode(response: requests.Response, *, method: str, path: str) -> Any:
    if 200 <= response.status_code < 300:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise SalesforceError(
                f"Salesforce returned HTTP {response.status_code} with a body that is not JSON",
                status=response.status_code,
                method=method,
                path=path,
            ) from exc
    raise error_from_response(response.status_code, _json_or_none(response), method=method, path=path)


def _first_real_failure(results: dict[str, CompositeResult]) -> CompositeResult | None:
    """Return the failed subrequest that caused a rollback, skipping the PROCESSING_HALTED ones."""
    failures = [result for result in results.values() if not result.ok]
    for result in failures:
        body = result.body
        first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
        if first.get("errorCode") != "PROCESSING_HALTED":
            return result
    return failures[0] if failures else None


def _check_sobject(sobject: str) -> str:
    if not _SOBJECT_NAME.fullmatch(sobject):
        raise ValueError(f"{sobject!r} is not an sObject API name such as Lead or Custom__c")
    return sobject


def _check_id(record_id: str) -> str:
    if not _RECORD_ID.fullmatch(record_id):
        raise ValueError(f"{record_id!r} is not a Salesforce record Id: expected 15 or 18 letters and digits")
    return record_id
