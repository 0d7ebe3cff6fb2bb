"""One place that reads the process environment (django-environ), with typed helpers."""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# A `.env` file at the repository root is optional and never overrides the real environment.
_dotenv = BASE_DIR / ".env"
if _dotenv.is_file():
    environ.Env.read_env(str(_dotenv), overwrite=False)


def env_path(name: str, default: Path) -> Path:
    """A filesystem path from the environment, made absolute against the repository root."""
    raw = env.str(name, default="")
    path = Path(raw) if raw else default
    return path if path.is_absolute() else (BASE_DIR / path)


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list from the environment, with blanks dropped."""
    raw = env.str(name, default="")
    if not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]
