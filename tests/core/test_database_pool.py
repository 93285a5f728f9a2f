"""Connection pooling from the environment (README, "Scaling"): Django's psycopg pool with
``DB_POOL_MAX_SIZE``, or PgBouncer in transaction mode with ``DB_PGBOUNCER``; a
contradictory configuration stops the process with a message naming the variables."""

import json
import subprocess

import pytest
from django.conf import settings

from tests import settings_probe

PG_URL = "postgres://postgres@127.0.0.1:5432/keystore_pool_settings"

READ_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings; "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({'conn_max_age': db['CONN_MAX_AGE'], 'pool': db.get('OPTIONS', {}).get('pool'), "
    "'no_server_cursors': db.get('DISABLE_SERVER_SIDE_CURSORS', False)}))"
)


def settings_run(*, code: str = READ_SETTINGS, **overrides: str) -> subprocess.CompletedProcess:
    return settings_probe.settings_run(code=code, **{"DATABASE_URL": PG_URL, **overrides})


def test_pool_size_turns_on_djangos_pool_without_persistent_connections():
    done = settings_run(DB_POOL_MAX_SIZE="8", DB_POOL_MIN_SIZE="2")

    assert done.returncode == 0, done.stderr
    database = json.loads(done.stdout)
    assert database["pool"] == {"min_size": 2, "max_size": 8, "timeout": 10}
    assert database["conn_max_age"] == 0


def test_no_pool_by_default():
    done = settings_run()

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"conn_max_age": 0, "pool": None, "no_server_cursors": False}


def test_pool_with_persistent_connections_refuses_to_start_and_says_why():
    done = settings_run(DB_POOL_MAX_SIZE="8", DB_CONN_MAX_AGE="60")

    assert done.returncode != 0
    assert "DB_POOL_MAX_SIZE and DB_CONN_MAX_AGE exclude each other" in done.stderr


def test_pgbouncer_turns_off_server_side_cursors():
    done = settings_run(DB_PGBOUNCER="true")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["no_server_cursors"] is True


def test_pgbouncer_and_pool_together_refuse_to_start():
    done = settings_run(DB_PGBOUNCER="true", DB_POOL_MAX_SIZE="4")

    assert done.returncode != 0
    assert "Use DB_PGBOUNCER or DB_POOL_MAX_SIZE, not both" in done.stderr


SERVE_FROM_POOL = """
import json, threading, django
django.setup()
from django.db import connection
pids, errors = [], []
def request():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), pg_sleep(0.05)")
            pids.append(cursor.fetchone()[0])
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()  # what the end of a request does: back to the pool
threads = [threading.Thread(target=request) for _ in range(12)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps({"served": len(pids), "backends": len(set(pids)), "errors": errors}))
"""


@pytest.mark.postgres
def test_twelve_concurrent_requests_share_a_pool_of_two_postgresql_connections():
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    # the server's own "postgres" database: always there, nothing to migrate
    database_url = f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/postgres"

    done = settings_run(
        code=SERVE_FROM_POOL,
        DATABASE_URL=database_url,
        DB_POOL_MAX_SIZE="2",
        DB_POOL_MIN_SIZE="1",
    )

    assert done.returncode == 0, done.stderr
    served = json.loads(done.stdout)
    assert served["errors"] == []
    assert served["served"] == 12
    assert 1 <= served["backends"] <= 2  # twelve requests, never more than two connections
