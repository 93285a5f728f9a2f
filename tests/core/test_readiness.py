"""/readyz: 200 only when the database, the migrations, the cache and the broker are in
order; 503 otherwise. /healthz stays the liveness probe."""

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def readyz_get(client):
    """GET /readyz from a thread of its own. The view is async, so the test client runs it
    through async_to_sync, which refuses a thread where an event loop is running: the main
    thread is one while the suite's shared Playwright browser is open (pytest-xdist may
    have run a browser journey earlier in this process)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(client.get, "/readyz").result()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ready_when_database_migrations_and_cache_are_in_order(client):
    response = readyz_get(client)
    assert response.status_code == 200, response.content
    body = response.content.decode()
    assert "Database" in body and "Migrations" in body and "Cache" in body


def test_not_ready_while_a_migration_is_unapplied(client):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, app, name, applied FROM django_migrations WHERE app = %s ORDER BY id DESC",
            ["core"],
        )
        row = cursor.fetchone()
        cursor.execute("DELETE FROM django_migrations WHERE id = %s", [row[0]])
    try:
        response = readyz_get(client)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (id, app, name, applied) VALUES (%s, %s, %s, %s)",
                list(row),
            )
    assert response.status_code == 503
    assert "1 migration(s) not applied" in response.content.decode()
    assert readyz_get(client).status_code == 200


def test_not_ready_when_the_cache_is_unreachable(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }
    response = readyz_get(client)
    assert response.status_code == 503
    assert "Cache" in response.content.decode()


def test_not_ready_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = readyz_get(client)
    assert response.status_code == 503
    assert "Broker" in response.content.decode()


def test_liveness_stays_up_when_readiness_fails(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }
    assert client.get("/healthz").status_code == 200
