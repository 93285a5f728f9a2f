"""API keys: shown once, stored hashed, found by prefix, revocable, use recorded sparingly."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from api import services
from api.models import ApiKey, Scope

from .conftest import api_key_new, auth

pytestmark = pytest.mark.django_db


def test_only_the_sha256_of_the_key_is_stored():
    api_key, raw = api_key_new(Scope.CATALOG_READ)
    api_key.refresh_from_db()
    assert raw.startswith(f"ks_{api_key.prefix}_")
    assert api_key.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    secret = raw.split("_", 2)[2]
    assert len(secret) >= 43  # 32 random bytes
    row = ApiKey.objects.filter(pk=api_key.pk).values().get()
    assert not any(secret in str(value) for value in row.values())


def test_the_right_prefix_with_a_wrong_secret_is_refused(client):
    api_key, raw = api_key_new(Scope.CATALOG_READ)
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert services.api_key_authenticate(raw=forged) is None
    response = client.get("/api/v1/products/", **auth(forged))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert client.get("/api/v1/products/", **auth(raw)).status_code == 200


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer a b", "Basic Zm9vOmJhcg=="])
def test_a_malformed_authorization_header_is_401(client, header):
    response = client.get("/api/v1/products/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_a_revoked_key_stops_working_at_once(client, staff_user):
    api_key, raw = api_key_new(Scope.CATALOG_READ)
    assert client.get("/api/v1/products/", **auth(raw)).status_code == 200
    services.api_key_revoke(api_key=api_key, actor=staff_user)
    services.api_key_revoke(api_key=api_key, actor=staff_user)  # idempotent
    response = client.get("/api/v1/products/", **auth(raw))
    assert response.status_code == 401
    assert LogEntry.objects.filter(object_id=str(api_key.pk)).count() == 1


def test_last_use_is_written_at_most_once_a_minute(client):
    api_key, raw = api_key_new(Scope.CATALOG_READ)
    assert api_key.last_used_at is None
    client.get("/api/v1/products/", **auth(raw))
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None
    client.get("/api/v1/products/", **auth(raw))
    api_key.refresh_from_db()
    assert api_key.last_used_at == first  # within the minute: no write
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/products/", **auth(raw))
    api_key.refresh_from_db()
    assert api_key.last_used_at > first - timedelta(minutes=2)


def test_touch_skips_the_write_inside_the_minute():
    api_key, _raw = api_key_new(Scope.CATALOG_READ)
    now = timezone.now()
    assert services.api_key_touch(api_key=api_key, now=now) is True
    assert services.api_key_touch(api_key=api_key, now=now + timedelta(seconds=30)) is False
    assert services.api_key_touch(api_key=api_key, now=now + timedelta(seconds=61)) is True


def test_the_key_acts_through_a_service_user_that_cannot_sign_in():
    api_key, _raw = api_key_new(Scope.CATALOG_READ, name="supplier feed")
    user = api_key.user
    assert not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser
    assert user.email.endswith("@api.invalid")
    assert "supplier feed" in user.get_full_name()


def test_unknown_scopes_are_refused():
    with pytest.raises(services.ApiKeyError):
        services.api_key_create(name="x", scopes=["orders:write"])


def test_create_api_key_command_prints_the_key_once_and_it_works(client):
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_key",
        "--name",
        "restock bot",
        "--scopes",
        "catalog:read,stock:write",
        stdout=out,
        stderr=err,
    )
    raw = out.getvalue().strip()
    api_key = ApiKey.objects.get(name="restock bot")
    assert api_key.scopes == ["catalog:read", "stock:write"]
    assert raw not in err.getvalue()
    assert services.api_key_authenticate(raw=raw) == api_key
    assert client.get("/api/v1/products/", **auth(raw)).status_code == 200


def test_create_api_key_command_refuses_an_unknown_scope():
    with pytest.raises(CommandError):
        call_command("create_api_key", "--name", "x", "--scopes", "everything", stdout=StringIO())


def test_admin_creates_a_key_shows_it_once_and_revokes_it(client, staff_user):
    from tests.staff import staff_login

    staff_login(client=client, user=staff_user)
    response = client.post(
        "/admin/api/apikey/add/",
        {"name": "accounting", "scope_choices": ["orders:read"]},
        follow=True,
    )
    assert response.status_code == 200
    api_key = ApiKey.objects.get(name="accounting")
    assert api_key.scopes == ["orders:read"]
    shown = [str(m) for m in response.context["messages"]]
    raws = [w for m in shown for w in m.split() if w.startswith(f"ks_{api_key.prefix}_")]
    assert len(raws) == 1
    assert services.api_key_authenticate(raw=raws[0]) == api_key
    assert api_key.created_by == staff_user
    client.post(
        "/admin/api/apikey/",
        {"action": "revoke_keys", "_selected_action": [api_key.pk]},
    )
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert services.api_key_authenticate(raw=raws[0]) is None


def test_staff_roles_managers_revoke_keys_owners_also_create_them_agents_neither():
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.models import Group

    # The groups as the migrations leave them (a transactional test may have flushed them).
    import_module("accounts.migrations.0003_staff_roles").roles_sync(apps)
    import_module("api.migrations.0002_api_staff_roles").api_roles(apps, None)

    def perms(name):
        return {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=name).permissions.select_related("content_type")
        }

    assert {"api.view_apikey", "api.revoke_apikey"} <= perms("Manager")
    assert "api.add_apikey" not in perms("Manager")
    assert {"api.add_apikey", "api.revoke_apikey"} <= perms("Owner")
    assert not {p for p in perms("Support agent") if p.startswith("api.")}
