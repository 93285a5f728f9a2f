"""keystore.E050: production refuses to run while the shop's identity is unset."""

import pytest
from django.core.checks import run_checks

from core.identity import shop_identity_update
from core.identity_checks import SHOP_IDENTITY_CHECK_ID

pytestmark = pytest.mark.django_db


def _identity_errors():
    return [
        e
        for e in run_checks(include_deployment_checks=True, tags=["keystore"])
        if e.id == SHOP_IDENTITY_CHECK_ID
    ]


def test_production_fails_the_deploy_check_until_name_legal_entity_and_email_are_set(
    settings,
):
    settings.PRODUCTION = True
    [error] = _identity_errors()
    assert "name, legal_name, support_email" in error.msg
    assert "setup_shop" in error.hint
    shop_identity_update(name="Clé Shop", support_email="help@cle.example")
    [error] = _identity_errors()
    assert "legal_name" in error.msg and "support_email" not in error.msg
    shop_identity_update(legal_name="Clé SAS")
    assert _identity_errors() == []


def test_the_check_runs_only_as_a_deploy_check_in_production(settings):
    settings.PRODUCTION = False
    assert _identity_errors() == []
    settings.PRODUCTION = True
    ordinary = run_checks(include_deployment_checks=False, tags=["keystore"])
    assert all(e.id != SHOP_IDENTITY_CHECK_ID for e in ordinary)  # migrate etc. still run
