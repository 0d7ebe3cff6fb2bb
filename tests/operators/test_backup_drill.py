"""The drill: a whole platform backed up, lost (database dropped, files deleted) and restored.

Runs the commands as an operator does, in subprocesses against a scratch database of its
own, so dropping that database leaves this test run's database alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import libpq_params, worker_environment

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ("drill_a", "drill_b")
SETUP = """
import json
from tenants.services import provision_tenant
from tests.operators import backup_helpers as h
keys = {}
for schema in %r:
    provision_tenant(
        schema_name=schema, name=schema.title(), domain=schema.replace("_", "-") + ".localhost",
        admin_email="owner@" + schema.replace("_", "-") + ".test", admin_password=h.PASSWORD,
    )
    keys[schema] = h.populate(schema)
print(json.dumps(keys))
"""
# What a user sees; the sign-in (whose search adds a query-log row) is checked around the
# observation, before it when backing up and after it once restored, so the counts compare.
OBSERVE = """
import json
from tests.operators import backup_helpers as h
keys, signin_first = json.loads(%r)
seen = {}
for s, k in keys.items():
    signin = h.can_sign_in(s, k) if signin_first else None
    seen[s] = h.observed(s)
    seen[s]["signin"] = signin or h.can_sign_in(s, k)
print(json.dumps(seen))
"""


def _admin() -> psycopg.Connection[Any]:
    return psycopg.connect(**{**libpq_params(), "dbname": "postgres"}, autocommit=True)


@pytest.fixture
def scratch(committed_db: None, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a platform on a database of its own, with its own file folders."""
    name = f"test_drill_{uuid.uuid4().hex[:8]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = worker_environment()
    env.update(
        DATABASE_NAME=name,
        MEDIA_ROOT=str(tmp_path / "media"),
        INDEX_ROOT=str(tmp_path / "indexes"),
        CACHE_KEY_PREFIX=name,
    )
    try:
        yield env
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _json(output: str) -> Any:
    return json.loads(output.strip().splitlines()[-1])


def test_the_whole_platform_comes_back_after_the_database_and_files_are_lost(
    scratch: dict[str, str], tmp_path: Path
) -> None:
    manage(scratch, "migrate_schemas", "--noinput", "-v", "0")
    keys = _json(manage(scratch, "shell", "-c", SETUP % (SCHEMAS,)))
    before = _json(manage(scratch, "shell", "-c", OBSERVE % json.dumps([keys, True])))
    assert all(seen["signin"] == {"token": 200, "search": 200} for seen in before.values())
    assert all(seen["counts"]["documents_document"] == 3 for seen in before.values())

    summary = manage(scratch, "backup", "--to", str(tmp_path / "backups"))
    where = summary.strip().rsplit(" to ", 1)[-1]
    assert Path(where, "manifest.json").is_file()

    # The disaster: the database and every stored file are gone.
    with _admin() as conn:
        conn.execute(f'DROP DATABASE "{scratch["DATABASE_NAME"]}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{scratch["DATABASE_NAME"]}"')
    shutil.rmtree(scratch["MEDIA_ROOT"])
    shutil.rmtree(scratch["INDEX_ROOT"], ignore_errors=True)

    restored = manage(scratch, "restore", "--from", where, "--noinput")
    assert "Restored drill_a, drill_b in" in restored
    assert "(the recovery time)" in restored

    after = _json(manage(scratch, "shell", "-c", OBSERVE % json.dumps([keys, False])))
    assert after == before  # row counts, search results, stored files, sign-in and API keys


def test_on_a_database_never_migrated_the_commands_say_what_to_run(
    scratch: dict[str, str], tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "backup", "--to", str(tmp_path)],
        cwd=ROOT, env=scratch, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "run `python manage.py migrate_schemas`" in done.stderr
    assert "Traceback" not in done.stderr
    backup = str(tmp_path / "platform-20261207T000000Z")
    done = subprocess.run(
        [sys.executable, "manage.py", "restore", "--from", backup, "--tenant", "acme", "--noinput"],
        cwd=ROOT, env=scratch, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "has no platform in it yet" in done.stderr
    assert "Traceback" not in done.stderr
