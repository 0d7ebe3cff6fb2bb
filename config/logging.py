"""Structured logs: one JSON object per line in production, readable lines in development.

Both structlog loggers and plain `logging.getLogger(...)` loggers (ours, Django's, Celery's,
gunicorn's) go through the same structlog `ProcessorFormatter`, so every line carries
timestamp, level, logger and event, plus whatever is bound in structlog's contextvars
(`request_id` and `schema` from `config.request_context`, `schema` and `task_id` in Celery
tasks) and `user_id` once the request's user is known.

`DJANGO_ENV=production` or `LOG_FORMAT=json` selects JSON; `LOG_FORMAT=console` forces the
console renderer. Nothing here reads Django settings, so gunicorn's master process can use
it too (deploy/gunicorn.conf.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import structlog
from django.utils.functional import SimpleLazyObject, empty
from structlog.typing import EventDict, Processor, WrappedLogger

if TYPE_CHECKING:
    from django.http import HttpRequest

LOG_FORMATS = ("json", "console")

# The request being served on this thread, so log lines can name its user without
# forcing the (lazy) user to load. Set and reset by config.request_context.
current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def log_format(environ: Mapping[str, str] | None = None) -> str:
    """`json` or `console`, from LOG_FORMAT or else DJANGO_ENV."""
    environ = os.environ if environ is None else environ
    chosen = environ.get("LOG_FORMAT", "").strip().lower()
    if not chosen:
        return "json" if environ.get("DJANGO_ENV", "development") == "production" else "console"
    if chosen not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be 'json' or 'console', not {chosen!r}.")
    return chosen


def add_user_id(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Add `user_id` when the current request's user is already loaded and signed in."""
    request = current_request.get()
    if request is None or "user_id" in event_dict:
        return event_dict
    # AuthenticationMiddleware sets a lazy user; DRF replaces it with the authenticated one.
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is not None and getattr(user, "is_authenticated", False):
        event_dict["user_id"] = user.pk
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_user_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def build_formatter(*, json_logs: bool) -> structlog.stdlib.ProcessorFormatter:
    """The formatter every handler uses; `json_logs` picks the renderer."""
    renderer: Processor
    if json_logs:
        # Tracebacks as one string field (structlog's dict tracebacks would log locals).
        final: list[Processor] = [structlog.processors.format_exc_info]
        renderer = structlog.processors.JSONRenderer()
    else:
        final = []
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final, renderer],
    )


def logging_config(*, json_logs: bool, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict (Django's LOGGING, gunicorn's logconfig_dict)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": build_formatter, "json_logs": json_logs}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["console"], "level": level.upper()},
        "loggers": {
            # Django's default handlers (plain console, mail_admins) would print twice;
            # its loggers propagate to ours instead, and Sentry reports errors.
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "django.server": {"handlers": [], "propagate": True},
            "pgserver": {"level": "WARNING"},
            "faiss.loader": {"level": "WARNING"},
            # gunicorn's master and worker messages go through our formatter; its access
            # lines are replaced by config.request_context's `request_finished` events.
            "gunicorn.error": {"handlers": [], "propagate": True},
            "gunicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def configure_structlog() -> None:
    """Route structlog loggers into stdlib logging, rendered by `build_formatter`."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
