"""Form tokens that tie a booking form submission to the browser that rendered the form.

The page sets a random browser id in a SameSite=Strict cookie, and each render
puts a token in a hidden field: the issue time, a random nonce and an
HMAC-SHA256 over the browser id, the page slug, the issue time and the nonce.
A cross-site form cannot read the cookie or forge the HMAC, and each token is
accepted once, so a reloaded POST does not book twice.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

BROWSER_COOKIE = "demo_booking_browser"
# A form left open longer than this has to be reloaded.
TOKEN_LIFETIME = timedelta(hours=1)
# Issue times this far ahead of the clock are accepted, for a clock stepped back between render and submit.
CLOCK_SKEW = timedelta(minutes=1)
BROWSER_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")
NONCE_BYTES = 12


class TokenError(Exception):
    """The form token is missing, forged, expired or already used; ``reason`` names which."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the booking form token is {reason}")
        self.reason = reason


@dataclass(frozen=True)
class FormToken:
    """A verified token: when its form was rendered and its single-use nonce."""

    issued_at: datetime
    nonce: str


def new_browser_id() -> str:
    """Return a random browser id for the cookie."""
    return secrets.token_urlsafe(24)


def is_browser_id(value: str | None) -> bool:
    """Return whether value has the form of a browser id this module made."""
    return bool(value) and BROWSER_ID_PATTERN.fullmatch(value) is not None


class FormTokens:
    """Issues and verifies form tokens with a per-process key, and remembers used nonces.

    A restart makes a new key, so forms rendered before it have to be reloaded.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)
        self._used: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def issue(self, browser_id: str, page_slug: str, now: datetime) -> str:
        """Return a new token for one render of page_slug's form in the browser with browser_id."""
        issued = int(now.timestamp())
        nonce = secrets.token_hex(NONCE_BYTES)
        return f"{issued}.{nonce}.{self._mac(browser_id, page_slug, issued, nonce)}"

    def verify(self, token: str, browser_id: str | None, page_slug: str, now: datetime) -> FormToken:
        """Check token against the browser id and page, without using it up.

        Raises TokenError with reason "missing" (no browser cookie), "invalid"
        or "expired".
        """
        if not is_browser_id(browser_id):
            raise TokenError("missing")
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            raise TokenError("invalid")
        issued_text, nonce, mac = parts
        expected = self._mac(browser_id, page_slug, int(issued_text), nonce)
        if not hmac.compare_digest(mac, expected):
            raise TokenError("invalid")

        issued_at = datetime.fromtimestamp(int(issued_text), tz=now.tzinfo)
        if issued_at > now + CLOCK_SKEW or now - issued_at > TOKEN_LIFETIME:
            raise TokenError("expired")
        return FormToken(issued_at=issued_at, nonce=nonce)

    def use(self, token: FormToken, now: datetime) -> None:
        """Mark token as used; raise TokenError("used") when it was used before."""
        with self._lock:
            self._forget_expired(now)
            if token.nonce in self._used:
                raise TokenError("used")
            self._used[token.nonce] = token.issued_at

    def _forget_expired(self, now: datetime) -> None:
        # Expired tokens fail verify() anyway, so their nonces need not be kept.
        cutoff = now - TOKEN_LIFETIME - CLOCK_SKEW
        for nonce in [nonce for nonce, issued_at in self._used.items() if issued_at < cutoff]:
            del self._used[nonce]

    def _mac(self, browser_id: str, page_slug: str, issued: int, nonce: str) -> str:
        message = f"{browser_id}|{page_slug}|{issued}|{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
