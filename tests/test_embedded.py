"""The embedded-services helper starts and stops PostgreSQL and Redis on a data folder."""

from __future__ import annotations

import psycopg
import pytest
import redis

from config import embedded


@pytest.mark.slow
def test_embedded_postgres_and_redis_start_answer_and_stop(tmp_path):
    var_dir = tmp_path / "var"
    try:
        db = embedded.postgres_database(var_dir)
        url = embedded.redis_url(var_dir)

        with psycopg.connect(
            dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"]
        ) as conn:
            assert conn.execute("SELECT 41 + 1").fetchone() == (42,)
        client = redis.Redis.from_url(url)
        assert client.ping()

        # Idempotent: a second call reuses the running servers.
        assert embedded.postgres_database(var_dir)["HOST"] == db["HOST"]
        assert embedded.redis_url(var_dir) == url
    finally:
        stopped = embedded.stop_all(var_dir)
    assert sorted(stopped) == ["postgresql", "redis"]
    assert not embedded.redis_answers(embedded.redis_socket(var_dir))
    assert not (var_dir / "pgdata" / "postmaster.pid").exists()
