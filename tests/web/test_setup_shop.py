"""``manage.py setup_shop``: one command makes a fresh database a shop that can sell."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.identity import shop_identity_get
from policies.selectors import preset_active_record_get

pytestmark = pytest.mark.django_db

PASSWORD = "a long owner passphrase 42"
FLAGS = [
    "--no-input",
    "--name=Clé Shop",
    "--legal-name=Clé SAS",
    "--support-email=help@cle.example",
    "--support-phone=+33 1 23 45 67 89",
    "--country=fr",
    "--preset=novakeys",
    "--owner-email=Owner@Cle.example",
]


def _run(*args):
    out = io.StringIO()
    call_command("setup_shop", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_non_interactive_setup_makes_a_shop_that_sells_and_an_owner_who_can_sign_in(
    client, monkeypatch
):
    from django.contrib.auth.models import Group

    from accounts.models import User

    Group.objects.create(name="owner")
    monkeypatch.setenv("SETUP_OWNER_PASSWORD", PASSWORD)
    out = _run(*FLAGS)

    identity = shop_identity_get(use_cache=False)
    assert (identity.name, identity.legal_name, identity.country) == ("Clé Shop", "Clé SAS", "FR")
    assert identity.missing == ()
    assert preset_active_record_get().slug == "novakeys"
    owner = User.objects.get(email="owner@cle.example")
    assert owner.is_superuser and owner.groups.filter(name="owner").exists()
    assert "TOTP enrolment" in out

    response = client.post(
        reverse("account_login"), {"login": "owner@cle.example", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] != reverse("account_email_verification_sent")
    admin = client.get("/admin/")
    assert admin["Location"].startswith(reverse("mfa_activate_totp"))


def test_running_it_again_changes_nothing_it_does_not_have_to(monkeypatch):
    from accounts.models import User
    from policies.models import PolicyDocument

    monkeypatch.setenv("SETUP_OWNER_PASSWORD", PASSWORD)
    _run(*FLAGS)
    documents = PolicyDocument.objects.count()
    monkeypatch.delenv("SETUP_OWNER_PASSWORD")
    _run(*FLAGS)  # no password: the owner keeps theirs
    assert PolicyDocument.objects.count() == documents
    assert User.objects.get(email="owner@cle.example").check_password(PASSWORD)


def test_values_can_come_from_the_environment(monkeypatch):
    for name, value in {
        "SHOP_NAME": "Env Shop",
        "SHOP_LEGAL_NAME": "Env Ltd",
        "SHOP_SUPPORT_EMAIL": "help@env.example",
        "SHOP_POLICY_PRESET": "antimart",
        "SETUP_OWNER_EMAIL": "boss@env.example",
        "SETUP_OWNER_PASSWORD": PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)
    _run("--no-input")
    assert shop_identity_get(use_cache=False).legal_name == "Env Ltd"
    assert preset_active_record_get().slug == "antimart"


@pytest.mark.parametrize(
    "drop, message",
    [("--legal-name=Clé SAS", "--legal-name"), ("--preset=novakeys", "--preset")],
)
def test_a_missing_required_value_is_named_and_sells_nothing(monkeypatch, drop, message):
    monkeypatch.setenv("SETUP_OWNER_PASSWORD", PASSWORD)
    monkeypatch.delenv("SHOP_POLICY_PRESET", raising=False)
    with pytest.raises(CommandError, match=message):
        _run(*[f for f in FLAGS if f != drop])
    assert preset_active_record_get() is None


def test_a_weak_owner_password_is_refused(monkeypatch):
    monkeypatch.setenv("SETUP_OWNER_PASSWORD", "123")
    with pytest.raises(CommandError, match="owner password refused"):
        _run(*FLAGS)


def test_interactive_setup_asks_for_everything(monkeypatch):
    from accounts.models import User

    answers = iter(
        [
            "Prompted Shop",  # name
            "Prompted SARL",  # legal name
            "1 rue de la Paix",
            "",
            "75002",
            "Paris",
            "FR",
            "help@prompted.example",
            "",
            "Mon-Fri 9-17 CET",
            "FR123",
            "RCS 1",
            "",  # invoice prefix: keep INV-
            "",  # tax regime: none
            "#7a1f5c",  # brand colour
            "",  # accent colour: the default
            "nope",  # not a preset: asked again
            "windowskeymart",
            "owner@prompted.example",
        ]
    )
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    _run()
    identity = shop_identity_get(use_cache=False)
    assert identity.support_hours == "Mon-Fri 9-17 CET" and identity.invoice_prefix == "INV-"
    assert identity.brand_color == "#7a1f5c" and identity.accent_color == ""
    assert preset_active_record_get().slug == "windowskeymart"
    assert User.objects.get(email="owner@prompted.example").check_password(PASSWORD)
