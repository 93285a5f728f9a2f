"""The shop identity: one row, cached, dropped from the cache on change; what customers
see as the shop's support contact comes from it and never from a seed's company."""

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.identity import shop_identity_get, shop_identity_update
from core.models import ShopIdentity
from policies.documents import DOCUMENTS_DIR
from policies.rules import PRESETS_DIR, preset_slugs_shipped
from policies.selectors import documents_current_list
from policies.services import preset_load
from tests.staff import staff_login

pytestmark = pytest.mark.django_db

# any email address, URL or the seeds' phone numbers, in the shipped files
ANY_CONTACT = re.compile(r"@|https?://|\.com\b|\.site\b|\.store\b|769-0385|013 1122")
# the seed companies' own domains and numbers, in what customers are shown
SEED_CONTACTS = re.compile(
    r"allkeymasters\.com|antimart\.site|microprokey\.com\b|novakeys\.store"
    r"|windowskeymart\.com|769-0385|013 1122"
)


def test_identity_is_read_from_cache_until_it_changes(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shop_identity_update(name="Clé Shop", legal_name="Clé SAS", support_email="a@cle.ex")
    shop_identity_get()
    with django_assert_num_queries(0):
        assert shop_identity_get().name == "Clé Shop"
    with django_capture_on_commit_callbacks(execute=True):
        shop_identity_update(name="Clé Store")
    assert shop_identity_get().name == "Clé Store"
    assert shop_identity_get().missing == ()


def test_identity_is_a_single_row():
    shop_identity_update(name="One")
    with pytest.raises(IntegrityError):
        ShopIdentity.objects.create(id=2, name="Two")


def test_bad_country_or_email_is_refused_and_nothing_changes():
    shop_identity_update(name="Shop", country="fr", support_email="help@shop.example")
    assert ShopIdentity.objects.get().country == "FR"
    with pytest.raises(ValidationError):
        shop_identity_update(country="France")
    with pytest.raises(ValidationError):
        shop_identity_update(support_email="not an email")
    row = ShopIdentity.objects.get()
    assert (row.country, row.support_email) == ("FR", "help@shop.example")


def test_no_shipped_preset_or_policy_text_carries_a_seed_companys_contact_details():
    for slug in preset_slugs_shipped():
        preset = (PRESETS_DIR / f"{slug}.json").read_text(encoding="utf-8")
        assert not ANY_CONTACT.search(preset), slug
        assert json.loads(preset)["contact"] == {}, slug
    for path in DOCUMENTS_DIR.glob("*.json"):
        assert not ANY_CONTACT.search(path.read_text(encoding="utf-8")), path.name


@pytest.mark.parametrize("slug", ["antimart", "novakeys", "allkeymasters"])
def test_policy_pages_quote_the_shops_own_support_contact(client, slug):
    shop_identity_update(support_email="help@myshop.example", support_phone="+33 1 23 45 67 89")
    preset_load(slug=slug, activate=True)
    bodies = json.dumps([d.body for d in documents_current_list(language="en")])
    assert "help@myshop.example" in bodies
    assert not SEED_CONTACTS.search(bodies)
    page = client.get(reverse("policies:index")).content.decode()
    assert not SEED_CONTACTS.search(page)


def test_changing_the_support_email_republishes_the_pages_that_quote_it():
    shop_identity_update(support_email="old@myshop.example", support_phone="+1 555 0100")
    preset_load(slug="antimart", activate=True)
    shop_identity_update(support_email="new@myshop.example")
    bodies = json.dumps([d.body for d in documents_current_list(language="en")])
    assert "new@myshop.example" in bodies and "old@myshop.example" not in bodies
    # history is kept: the version customers accepted before still says what it said
    from policies.models import PolicyDocument

    terms = PolicyDocument.objects.filter(preset__slug="antimart", kind="terms", language="en")
    assert [d.change_note for d in terms.order_by("version")] == [
        "First publication",
        "Updated contact details",
    ]
    assert "old@myshop.example" in json.dumps(terms.get(version=1).body)


def test_emails_and_pages_show_the_identity(client, product):
    from core.emails import email_render

    shop_identity_update(name="Clé Shop", support_email="help@cle.example")
    page = client.get(reverse("catalog:catalog")).content.decode()
    assert "Clé Shop" in page
    message = email_render(name="claim_closed", context={"claim_number": "CL-1"}, language="en")
    html = message.alternatives[0][0]
    assert "Clé Shop" in html and "help@cle.example" in html


def test_the_owner_edits_the_identity_in_the_admin(client, staff_user):
    staff_login(client=client, user=staff_user)
    response = client.get(reverse("admin:core_shopidentity_changelist"))
    assert response.status_code == 302
    url = reverse("admin:core_shopidentity_change", args=[1])
    assert response["Location"] == url
    data = {
        "name": "Clé Shop",
        "legal_name": "Clé SAS",
        "country": "FR",
        "support_email": "help@cle.example",
        "invoice_prefix": "CLE-",
        "tax_regime": "eu_oss",
    }
    with CaptureQueriesContext(connection):
        response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert shop_identity_get().legal_name == "Clé SAS"


def test_a_page_reads_the_shared_identity_once_and_the_next_page_sees_a_change(
    client, django_capture_on_commit_callbacks
):
    from unittest import mock

    from django.core.cache import cache

    from core.identity import SHOP_IDENTITY_CACHE_KEY
    from tests.factories import ProductFactory, keys_create

    product = ProductFactory(name="Windows 11 Pro", slug="windows-11-pro")
    keys_create(product=product, count=2)
    client.get(product.get_absolute_url())
    with mock.patch.object(cache, "get", wraps=cache.get) as gets:
        page = client.get(product.get_absolute_url()).content.decode()
    # the header, the SEO data and the tax label all read it: one cache read
    assert len([c for c in gets.call_args_list if c.args[0] == SHOP_IDENTITY_CACHE_KEY]) == 1
    assert "Renamed Keys" not in page
    with django_capture_on_commit_callbacks(execute=True):
        shop_identity_update(name="Renamed Keys")
    assert "Renamed Keys" in client.get(product.get_absolute_url()).content.decode()
