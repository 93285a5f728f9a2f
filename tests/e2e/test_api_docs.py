"""The merchant API's Swagger UI works in a real Chromium under the shop's strict CSP:
it renders the OpenAPI document and the console reports no CSP violation."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import csp_violations_watch

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_under_the_csp_without_violations(page, live_server):
    violations = csp_violations_watch(page)
    page.goto("/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Keystore merchant API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator(".btn.authorize")).to_be_visible()
    assert violations == []
