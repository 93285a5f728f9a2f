"""Allauth's account emails come in the shop's design (the order emails' HTML base) and
in the customer's language, HTML and text, with links on SITE_URL."""

import re
from html import unescape as html_unescape

import pytest
from django.core import mail
from django.utils import translation

from accounts.emails import account_email_blocks, account_email_language
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.com"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def _signup(client, capture, *, language, email="new@example.com"):
    client.cookies["django_language"] = language
    with capture(execute=True):
        response = client.post(
            "/accounts/signup/",
            {"email": email, "password1": "a-Long-pass-9", "password2": "a-Long-pass-9"},
        )
    assert response.status_code == 302
    [message] = [m for m in mail.outbox if email in m.to]
    return message, message.alternatives[0][0]


def test_a_sign_up_in_french_receives_the_confirmation_in_french_in_the_shop_design(
    client, django_capture_on_commit_callbacks
):
    message, html = _signup(client, django_capture_on_commit_callbacks, language="fr")
    assert message.subject == "Confirmez votre adresse e-mail"
    assert "Bonjour" in message.body and "Hello from" not in message.body
    assert '<html lang="fr" dir="ltr">' in html
    # the shop's email base: its name on top, the support line at the bottom
    assert "Keystore" in html.split("</p>", 1)[0]
    assert "Questions" in html or "support" in html.lower()
    button = re.search(r'<a href="([^"]+)" style="display:inline-block[^>]*>([^<]+)</a>', html)
    assert button, html
    assert button.group(1).startswith(f"{SITE}/accounts/confirm-email/")
    assert html_unescape(button.group(2)) == "Confirmer l'adresse e-mail"
    assert button.group(1) in message.body  # the text version carries the same link


def test_a_sign_up_in_arabic_receives_a_right_to_left_arabic_confirmation(
    client, django_capture_on_commit_callbacks
):
    message, html = _signup(client, django_capture_on_commit_callbacks, language="ar")
    assert re.search(r"[\u0600-\u06ff]", message.subject), message.subject
    assert '<html lang="ar" dir="rtl">' in html
    assert ">تأكيد البريد الإلكتروني</a>" in html


def test_password_reset_email_has_a_button_to_the_reset_page(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(email="ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": user.email})
    html = mail.outbox[-1].alternatives[0][0]
    assert '<html lang="en"' in html
    assert re.search(
        rf'<a href="{re.escape(SITE)}/accounts/password/reset/key/[^"]+" style="display:inline'
        r"[^>]*>Change Password</a>",
        html,
    )


def test_unknown_account_email_is_in_the_language_of_the_request(
    client, django_capture_on_commit_callbacks
):
    client.cookies["django_language"] = "fr"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    [message] = [m for m in mail.outbox if "nobody@example.com" in m.to]
    assert "Hello from" not in message.body
    html = message.alternatives[0][0]
    assert '<html lang="fr"' in html and f'href="{SITE}/accounts/signup/"' in html


def test_password_change_notification_is_sent_in_the_customers_language(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory(email="ada@example.com")
    user.set_password("old-Pass-123")
    user.save()
    client.force_login(user)
    client.cookies["django_language"] = "fr"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/password/change/",
            {
                "oldpassword": "old-Pass-123",
                "password1": "n3w-Pass-456",
                "password2": "n3w-Pass-456",
            },
        )
    assert response.status_code == 302
    [message] = [m for m in mail.outbox if user.email in m.to]
    html = message.alternatives[0][0]
    assert '<html lang="fr"' in html
    assert "Hello from" not in message.body and "IP" in message.body


def test_without_a_request_the_email_uses_the_accounts_preferred_language():
    user = UserFactory.build(preferred_language="ar")
    assert account_email_language(request=None, user=user) == "ar"
    assert (
        account_email_language(request=None, user=UserFactory.build(preferred_language="xx"))
        == "en"
    )
    with translation.override("fr"):
        assert account_email_language(request=object(), user=user) == "fr"


def test_the_text_is_laid_out_as_paragraphs_a_button_and_a_code():
    text = (
        "Hello <you>!\n\nYour code:\n\nAB12CD\n\nTo confirm, go to https://shop.example.com/x/"
        "\n\nSee https://shop.example.com/help/ for help.\nKeystore"
    )
    blocks = account_email_blocks(text=text, code="AB12CD")
    assert [b.text for b in blocks if b.text] == [
        "Hello <you>!",
        "Your code:",
        "To confirm, go to",
        "See https://shop.example.com/help/ for help.\nKeystore",
    ]
    assert [b.code for b in blocks if b.code] == ["AB12CD"]
    assert [b.url for b in blocks if b.url] == ["https://shop.example.com/x/"]
    assert blocks[0].html == "Hello &lt;you&gt;!"
    assert blocks[-1].html == (
        'See <a href="https://shop.example.com/help/"><bdi>https://shop.example.com/help/</bdi>'
        "</a> for help.<br>Keystore"
    )


def test_every_customer_email_ends_with_the_sellers_legal_identity(
    client, django_capture_on_commit_callbacks
):
    from core.identity import shop_identity_update

    shop_identity_update(
        legal_name="AllKeyMasters SAS", address_line1="12 rue de la Paix", postcode="75002",
        city="Paris", country="FR", vat_number="FR40303265045",
        company_number="RCS Paris 303 265 045",
    )  # fmt: skip
    message, html = _signup(client, django_capture_on_commit_callbacks, language="en")
    seller = re.search(r'<p [^>]*id="seller">(.*?)</p>', html, re.S).group(1)
    assert "AllKeyMasters SAS" in seller and "12 rue de la Paix, 75002 Paris, FR" in seller
    assert "VAT number <bdi>FR40303265045</bdi>" in seller
    assert "RCS Paris 303 265 045" in seller
    tail = message.body.rsplit("\n--\n", 1)[1]
    assert tail.startswith("AllKeyMasters SAS, 12 rue de la Paix, 75002 Paris, FR")
    assert "VAT number FR40303265045" in tail and "Company registration RCS Paris" in tail
