"""Sessions: read from the shared Redis cache and written through to the database
(``cached_db``) when ``REDIS_URL`` is set, in the database alone without it (a per-process
cache would serve a session another process changed). Signing out ends the session in
both places: the old cookie no longer opens My Account."""

import json

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.factories import UserFactory
from tests.settings_probe import settings_run

READ_ENGINE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps(settings.SESSION_ENGINE))"
)


def session_engine_with(**environ: str) -> str:
    done = settings_run(code=READ_ENGINE, **environ)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_sessions_are_read_from_the_shared_cache_when_redis_is_configured():
    assert session_engine_with(REDIS_URL="redis://127.0.0.1:6379/15") == (
        "django.contrib.sessions.backends.cached_db"
    )


def test_sessions_stay_in_the_database_without_a_shared_cache():
    assert session_engine_with() == "django.contrib.sessions.backends.db"


@pytest.mark.django_db
def test_signing_out_ends_the_session_wherever_it_was_kept(client):
    user = UserFactory(email="buyer@example.com")
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(reverse("accounts:dashboard")).status_code == 200

    client.post(reverse("account_logout"))

    assert not Session.objects.filter(session_key=cookie).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie  # the old cookie, replayed
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]
