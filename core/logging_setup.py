"""Logging configuration for the app process."""

from __future__ import annotations

import logging
import os

# These libraries log request bodies and tokens at DEBUG.
_QUIET_LOGGERS = ("requests_oauthlib", "oauthlib", "urllib3")


def configure_logging() -> None:
    """Send INFO and above to stderr; LOG_LEVEL overrides the level of the app's own loggers."""
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    for name in ("core", "app"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
