"""Logs, Sentry and the release."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from config.env import env
from config.logging import configure_structlog, log_format, logging_config
from config.settings.base import DJANGO_ENV

# --- observability --------------------------------------------------------------------

SENTRY_DSN = env.str("SENTRY_DSN", default="")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# JSON lines in production (or LOG_FORMAT=json), readable console lines in development.
try:
    LOG_FORMAT = log_format()
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from exc
LOGGING = logging_config(json_logs=LOG_FORMAT == "json", level=LOG_LEVEL)
configure_structlog()
# The deployed commit (the image build sets it), reported to Sentry as the release.
GIT_SHA = env.str("GIT_SHA", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=DJANGO_ENV,
        release=GIT_SHA or None,
        send_default_pii=False,
    )
