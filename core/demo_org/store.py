"""The demo org's SQLite file: records, OAuth codes and tokens, the External Client App, counters.

One connection serves every request. An ``RLock`` serialises access, so a composite
request can hold one transaction across its sub-requests while other requests wait.
Tokens and codes are stored as SHA-256 hashes, so the file never contains a usable token.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    sobject TEXT NOT NULL,
    seq INTEGER NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_sobject ON records (sobject, seq);
CREATE TABLE IF NOT EXISTS apps (
    consumer_key TEXT PRIMARY KEY,
    consumer_secret TEXT NOT NULL,
    name TEXT NOT NULL,
    callback_urls TEXT NOT NULL,
    scopes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS consent_forms (
    token_hash TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS auth_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT,
    scope TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    refresh_hash TEXT,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    expires_at REAL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def hash_secret(value: str) -> str:
    """Return the SHA-256 hex digest under which a token or code is stored."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class StoredRecord:
    """One row of the records table with its fields decoded."""

    id: str
    sobject: str
    fields: dict[str, Any]
    is_deleted: bool


@dataclass(frozen=True)
class ClientApp:
    """The External Client App registered in the demo org."""

    consumer_key: str
    consumer_secret: str
    name: str
    callback_urls: tuple[str, ...]
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class TokenRow:
    """An issued access or refresh token, found by its hash."""

    kind: str
    refresh_hash: str | None
    client_id: str
    user_id: str
    scope: str
    expires_at: float | None
    revoked: bool


class Store:
    """Access to the demo org's SQLite file; every method is safe to call from any thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        with self._lock:
            self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in a transaction, or in a savepoint when one is already open.

        An exception rolls back the block's writes and propagates unchanged.
        """
        with self._lock:
            level = self._depth
            savepoint = f"level_{level}"
            self._connection.execute("BEGIN IMMEDIATE" if level == 0 else f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield
            except BaseException:
                if level == 0:
                    self._connection.execute("ROLLBACK")
                else:
                    self._connection.execute(f"ROLLBACK TO {savepoint}")
                    self._connection.execute(f"RELEASE {savepoint}")
                raise
            else:
                self._connection.execute("COMMIT" if level == 0 else f"RELEASE {savepoint}")
            finally:
                self._depth -= 1

    def _execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> int:
        """Run one statement and return the number of rows it changed."""
        with self._lock:
            return self._connection.execute(sql, parameters).rowcount

    def _fetch_one(self, sql: str, parameters: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchone()

    def _fetch_all(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()

    def wipe_records(self) -> None:
        """Delete every record and counter; the app registration and issued tokens stay valid."""
        with self.transaction():
            self._execute("DELETE FROM records")
            self._execute("DELETE FROM meta")

    def has_records(self) -> bool:
        return self._fetch_one("SELECT 1 FROM records LIMIT 1") is not None

    # Records

    def insert_record(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        with self.transaction():
            sequence = self._fetch_one("SELECT COALESCE(MAX(seq), 0) + 1 FROM records")[0]
            self._execute(
                "INSERT INTO records (id, sobject, seq, fields) VALUES (?, ?, ?, ?)",
                (record_id, sobject, sequence, json.dumps(fields, ensure_ascii=False)),
            )

    def get_record(self, record_id: str) -> StoredRecord | None:
        row = self._fetch_one("SELECT * FROM records WHERE id = ?", (record_id,))
        if row is None:
            return None
        return StoredRecord(row["id"], row["sobject"], json.loads(row["fields"]), bool(row["is_deleted"]))

    def replace_fields(self, record_id: str, fields: dict[str, Any]) -> None:
        self._execute(
            "UPDATE records SET fields = ? WHERE id = ?", (json.dumps(fields, ensure_ascii=False), record_id)
        )

    def mark_deleted(self, record_id: str) -> None:
        self._execute("UPDATE records SET is_deleted = 1 WHERE id = ?", (record_id,))

    def list_records(self, sobject: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Return the fields of every record of `sobject`, in insertion order."""
        sql = "SELECT fields FROM records WHERE sobject = ?"
        if not include_deleted:
            sql += " AND is_deleted = 0"
        rows = self._fetch_all(sql + " ORDER BY seq", (sobject,))
        return [json.loads(row["fields"]) for row in rows]

    def next_number(self) -> int:
        """Return the next record number for new ids; seeded records use numbers below 1000."""
        with self.transaction():
            current = int(self.get_meta("next_record_number", "1000"))
            self.set_meta("next_record_number", str(current + 1))
        return current

    # Counters and settings

    def get_meta(self, key: str, default: str) -> str:
        row = self._fetch_one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self._execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?", (key, value, value))

    def add_api_usage(self) -> int:
        """Count one API request and return the number used so far."""
        with self.transaction():
            used = int(self.get_meta("api_usage", "0")) + 1
            self.set_meta("api_usage", str(used))
        return used

    def api_usage(self) -> int:
        return int(self.get_meta("api_usage", "0"))

    # External Client App

    def save_app(self, app: ClientApp) -> None:
        self._execute(
            "INSERT OR REPLACE INTO apps VALUES (?, ?, ?, ?, ?)",
            (app.consumer_key, app.consumer_secret, app.name, json.dumps(list(app.callback_urls)), " ".join(app.scopes)),
        )

    def get_app(self, consumer_key: str) -> ClientApp | None:
        row = self._fetch_one("SELECT * FROM apps WHERE consumer_key = ?", (consumer_key,))
        if row is None:
            return None
        return ClientApp(
            row["consumer_key"], row["consumer_secret"], row["name"],
            tuple(json.loads(row["callback_urls"])), tuple(row["scopes"].split()),
        )

    def set_callback_urls(self, consumer_key: str, urls: list[str]) -> None:
        self._execute("UPDATE apps SET callback_urls = ? WHERE consumer_key = ?", (json.dumps(urls), consumer_key))

    # OAuth: consent forms, authorization codes, tokens

    def save_consent(self, token: str, request: dict[str, str], expires_at: float) -> None:
        self._execute("INSERT INTO consent_forms VALUES (?, ?, ?)", (hash_secret(token), json.dumps(request), expires_at))

    def take_consent(self, token: str, now: float) -> dict[str, str] | None:
        """Return the authorize request behind a consent form token and delete it; None if unknown or expired."""
        with self.transaction():
            token_hash = hash_secret(token)
            row = self._fetch_one("SELECT * FROM consent_forms WHERE token_hash = ?", (token_hash,))
            self._execute("DELETE FROM consent_forms WHERE token_hash = ? OR expires_at < ?", (token_hash, now))
        if row is None or row["expires_at"] < now:
            return None
        return json.loads(row["request"])

    def save_code(self, code: str, *, client_id: str, redirect_uri: str, code_challenge: str | None,
                  scope: str, user_id: str, expires_at: float) -> None:
        self._execute(
            "INSERT INTO auth_codes (code_hash, client_id, redirect_uri, code_challenge, scope, user_id, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (hash_secret(code), client_id, redirect_uri, code_challenge, scope, user_id, expires_at),
        )

    def take_code(self, code: str) -> sqlite3.Row | None:
        """Return an authorization code row and mark it used, so a second exchange fails."""
        with self.transaction():
            code_hash = hash_secret(code)
            row = self._fetch_one("SELECT * FROM auth_codes WHERE code_hash = ?", (code_hash,))
            self._execute("UPDATE auth_codes SET used = 1 WHERE code_hash = ?", (code_hash,))
        return row

    def save_token(self, token: str, *, kind: str, client_id: str, user_id: str, scope: str,
                   expires_at: float | None, refresh_token: str | None = None) -> None:
        refresh_hash = hash_secret(refresh_token) if refresh_token else None
        self._execute(
            "INSERT INTO tokens (token_hash, kind, refresh_hash, client_id, user_id, scope, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (hash_secret(token), kind, refresh_hash, client_id, user_id, scope, expires_at),
        )

    def get_token(self, token: str) -> TokenRow | None:
        row = self._fetch_one("SELECT * FROM tokens WHERE token_hash = ?", (hash_secret(token),))
        if row is None:
            return None
        return TokenRow(row["kind"], row["refresh_hash"], row["client_id"], row["user_id"], row["scope"],
                        row["expires_at"], bool(row["revoked"]))

    def revoke_token(self, token: str) -> bool:
        """Revoke a token and, for a refresh token, every access token issued from it; False if unknown."""
        with self.transaction():
            token_hash = hash_secret(token)
            changed = self._execute("UPDATE tokens SET revoked = 1 WHERE token_hash = ?", (token_hash,))
            self._execute("UPDATE tokens SET revoked = 1 WHERE refresh_hash = ?", (token_hash,))
        return changed > 0

    def expire_access_tokens(self, now: float) -> int:
        """Expire every access token still valid at `now`; return how many."""
        return self._execute(
            "UPDATE tokens SET expires_at = ? WHERE kind = 'access' AND revoked = 0 AND (expires_at IS NULL OR expires_at > ?)",
            (now, now),
        )
