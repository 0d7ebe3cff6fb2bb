"""`make test`: run pytest against real PostgreSQL and Redis.

Uses DATABASE_URL / REDIS_URL when set; otherwise starts the embedded servers, and
stops the ones it started when the run ends. Extra pytest arguments come from argv.
"""

from __future__ import annotations

import os
import sys

from config import embedded
from config.env import BASE_DIR, env_path


def main(argv: list[str]) -> int:
    var_dir = env_path("VAR_DIR", BASE_DIR / "var")
    started: list[str] = []
    if not os.environ.get("DATABASE_URL"):
        pid_file = var_dir / "pgdata" / "postmaster.pid"
        if not pid_file.exists():
            started.append("postgresql")
        print("[test] using the embedded PostgreSQL", flush=True)
        embedded.postgres_database(var_dir)
    if not os.environ.get("REDIS_URL"):
        if not embedded.redis_answers(embedded.redis_socket(var_dir)):
            started.append("redis")
        os.environ["REDIS_URL"] = embedded.redis_url(var_dir)
        print(f"[test] using the embedded Redis at {os.environ['REDIS_URL']}", flush=True)
    os.environ["DI_TESTING"] = "1"
    os.environ.setdefault("QUEUE_PREFIX", f"test{os.getpid()}-")

    import pytest

    try:
        code = int(pytest.main(["--create-db", *argv]))
    finally:
        if "redis" in started:
            embedded.stop_redis(var_dir)
        if "postgresql" in started:
            embedded.stop_postgres(var_dir)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("[test] pytest collected no tests; treating that as a failure.", flush=True)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
