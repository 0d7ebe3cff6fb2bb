"""A platform of a bench's own: a database, folders, cache keys and queue names that no other
run shares, created for the run and removed after it.

    name, work = scratch.names("bench_answers")
    os.environ.update(scratch.environment(name, work))   # before django.setup()
    ...
    scratch.create_database(name)                         # after it: created and migrated
    ...
    scratch.remove(name, work)                            # database, Redis keys, folders
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
from pathlib import Path


def names(prefix: str) -> tuple[str, Path]:
    """A fresh scratch name and the temporary folder its files go in."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    return name, Path(tempfile.gettempdir()) / name


def environment(name: str, work: Path) -> dict[str, str]:
    """What the settings (and manage.py processes the bench starts) read to use the scratch
    platform instead of the caller's."""
    return {
        "DATABASE_NAME": name,
        "MEDIA_ROOT": str(work / "media"),
        "INDEX_ROOT": str(work / "indexes"),
        "CACHE_KEY_PREFIX": name,
        "QUEUE_PREFIX": f"{name}-",
    }


def create_database(name: str) -> None:
    """Create the scratch database and migrate it; refuses to touch any other database."""
    from django.core.management import call_command
    from django.db import connection

    from operators.backups.create import connect

    if connection.settings_dict["NAME"] != name:  # drop no database but our own
        raise SystemExit(f"refusing to run against {connection.settings_dict['NAME']}")
    with connect(database="postgres") as admin:  # the maintenance database, to create one
        admin.autocommit = True
        admin.execute(f'CREATE DATABASE "{name}"')
    print(f"migrating the scratch database {name}", file=sys.stderr, flush=True)
    call_command("migrate_schemas", interactive=False, verbosity=0)


def remove(name: str, work: Path) -> None:
    """Drop the scratch database, its cache and broker keys in Redis, and its folder."""
    from django.db import connections
    from django_redis import get_redis_connection

    from operators.backups.create import connect

    connections.close_all()
    with connect(database="postgres") as admin:
        admin.autocommit = True
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    redis = get_redis_connection("default")
    doomed = list(redis.scan_iter(f"*{name}*"))
    if doomed:
        redis.delete(*doomed)
    shutil.rmtree(work, ignore_errors=True)
