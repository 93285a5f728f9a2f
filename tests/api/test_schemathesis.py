"""Schemathesis against the served OpenAPI document, through the WSGI app: for every
operation, generated valid and invalid requests (with a key holding every scope, on random
ids and on the ids of real rows) never get a server error, and every response matches the
document (status code, content type, body schema). Examples are limited (and derandomized)
so the run stays well under two minutes.

Schemathesis's pytest plugin (``schema.parametrize``/``from_fixture``) does not run under
pytest 9, so the test drives its Python API: one Hypothesis run per operation and mode.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import Scope

from .conftest import api_key_new

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 10


def _real_ids(shop) -> dict[str, dict]:
    return {
        "/api/v1/products/{id}/": {"id": shop["product"].pk},
        "/api/v1/batches/{id}/": {"id": shop["batch"].pk},
        "/api/v1/orders/{number}/": {"number": shop["order"].number},
        "/api/v1/claims/{number}/": {"number": shop["claim"].number},
    }


def _run(operation, *, mode, headers, path_parameters=None):
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


@pytest.fixture
def _connections_kept():
    """Django's test client keeps the test's database connection across requests (on
    PostgreSQL the test runs in a transaction); Schemathesis's WSGI client must as well."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_api_conforms_to_its_openapi_document(shop, settings, _connections_kept):
    from config.wsgi import application

    settings.API_IMPORT_INLINE_MAX = 10_000  # imports finish inside the request
    _key, raw = api_key_new(*Scope.values, name="schemathesis")
    headers = {"Authorization": f"Bearer {raw}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    real = _real_ids(shop)
    ran = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (
            operation.path.startswith("/api/v1/webhook-endpoints/")
            and operation.method
            in (
                "post",
                "patch",
            )
            and not operation.path.endswith(("/enable/", "/disable/"))
        ):
            continue  # the admin's URL guard resolves every generated host name (DNS)
        bound = next((v for p, v in real.items() if operation.path.startswith(p[:-1])), None)
        if "{" in operation.path and bound is not None:
            bound = {k: v for k, v in bound.items() if "{" + k + "}" in operation.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(operation, mode=mode, headers=headers)
            if bound:
                _run(operation, mode=mode, headers=headers, path_parameters=bound)
        ran.append(f"{operation.method.upper()} {operation.path}")
    assert len(ran) >= 15, ran
