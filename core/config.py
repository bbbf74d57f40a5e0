"""Settings read from the environment once per process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Demo mode only: the signing secret of the demo team's webhook endpoint when
# DEMO_WEBHOOK_SECRET is not set. It is public by design, so demo mode must
# never be used with real customer data.
DEFAULT_DEMO_WEBHOOK_SECRET = "demo-webhook-secret"


@dataclass(frozen=True)
class Settings:
    """Process configuration; see the README's Configuration table."""

    data_dir: Path
    database_url: str
    encryption_keys: tuple[str, ...]
    public_url: str
    demo: bool
    demo_webhook_secret: str

    @property
    def callback_url(self) -> str:
        """Return the OAuth callback URL to register in the External Client App."""
        return f"{self.public_url}/oauth/salesforce/callback"

    @property
    def demo_org_url(self) -> str:
        """Return the base URL of the built-in demo org served by this app."""
        return f"{self.public_url}/demo-org"

    @property
    def demo_org_database(self) -> Path:
        return self.data_dir / "demo_org.db"


def _parse_flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={raw!r} is invalid: use 1 to turn it on or 0 to turn it off")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from environment variables, applying the documented defaults.

    Raises ValueError naming the variable when a value is invalid.
    """
    env = os.environ if environ is None else environ

    data_dir = Path(env.get("APP_DATA_DIR") or PROJECT_ROOT / "data")
    if not data_dir.is_absolute():
        data_dir = PROJECT_ROOT / data_dir
    database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'app.db'}"

    keys = tuple(k.strip() for k in env.get("APP_ENCRYPTION_KEYS", "").split(",") if k.strip())

    public_url = (env.get("APP_PUBLIC_URL") or "http://localhost:8501").rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        raise ValueError(
            f"APP_PUBLIC_URL={public_url!r} is invalid: give the URL users open, "
            "such as https://console.example.com"
        )

    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        encryption_keys=keys,
        public_url=public_url,
        demo=_parse_flag("APP_DEMO", env.get("APP_DEMO", "1")),
        demo_webhook_secret=env.get("DEMO_WEBHOOK_SECRET") or DEFAULT_DEMO_WEBHOOK_SECRET,
    )
