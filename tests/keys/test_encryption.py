"""Codes at rest: only ciphertext is stored, rotation keeps them readable, tampering is caught."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from keys.crypto import KeyDecryptionError, code_decrypt, code_encrypt, code_fingerprint
from keys.models import Key, KeyView
from keys.services import key_allocate, key_reveal
from tests.factories import key_code_new, keys_create
from tests.keys.conftest import order_line_new
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


def _spellings(code):
    return {code, code.replace("-", ""), code.lower(), code.replace("-", "").lower()}


def test_key_table_and_database_dump_hold_no_plaintext_code(win, revealer):
    codes = [key_code_new(win) for _ in range(3)]
    keys = keys_create(product=win, count=3, codes=codes)
    line = order_line_new(product=win)
    assert key_allocate(order_line=line, quantity=1).ok
    delivered = Key.objects.get(order_line=line)
    shown = key_reveal(key=delivered, channel="screen", ip="203.0.113.9", user_agent="UA")
    assert shown in codes

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM keys_key")
        table = repr(cursor.fetchall())
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    dump = out.getvalue()
    for code in codes:
        for spelling in _spellings(code):
            assert spelling not in table
            assert spelling not in dump
    for key in keys:
        assert key.last4 in dump  # the masked tail is all that is readable
        assert code_decrypt(Key.objects.get(pk=key.pk).ciphertext) in codes


def test_a_key_object_never_prints_its_code(win):
    code = key_code_new(win)
    (key,) = keys_create(product=win, count=1, codes=[code])
    for text in (str(key), repr(key), key.masked):
        assert code not in text and code.replace("-", "") not in text
    assert key.masked.endswith(code.replace("-", "")[-4:])


def test_fingerprint_ignores_case_spaces_and_dashes_and_depends_on_the_secret(settings):
    base = code_fingerprint("ABCDE-12345-FGHIJ")
    assert code_fingerprint(" abcde 12345 fghij ") == base
    assert code_fingerprint("ABCDE12345FGHIJ") == base
    assert code_fingerprint("ABCDE-12345-FGHIK") != base
    settings.KEY_FINGERPRINT_SECRET = "another secret"
    assert code_fingerprint("ABCDE-12345-FGHIJ") != base


def test_rotation_reencrypts_every_code_and_keeps_it_readable(win, settings):
    codes = [key_code_new(win) for _ in range(5)]
    keys = keys_create(product=win, count=5, codes=codes)
    old_key = settings.KEY_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.KEY_ENCRYPTION_KEYS = [new_key, old_key]

    out = io.StringIO()
    call_command("rotate_key_encryption", batch_size=2, stdout=out)
    assert "5 keys examined: 5 re-encrypted, 0 already under the newest key" in out.getvalue()

    settings.KEY_ENCRYPTION_KEYS = [new_key]  # the old key is gone: every code still reads
    assert [code_decrypt(Key.objects.get(pk=k.pk).ciphertext) for k in keys] == codes

    out = io.StringIO()
    call_command("rotate_key_encryption", stdout=out)  # resumable: nothing left to do
    assert "5 keys examined: 0 re-encrypted, 5 already under the newest key" in out.getvalue()


def test_rotation_lists_unreadable_codes_by_id_and_fails(win, settings):
    keys = keys_create(product=win, count=2)
    Key.objects.filter(pk=keys[0].pk).update(ciphertext="gAAAAAtampered")
    settings.KEY_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.KEY_ENCRYPTION_KEYS]
    with pytest.raises(CommandError, match=rf"#{keys[0].pk}"):
        call_command("rotate_key_encryption", stdout=io.StringIO())
    assert code_decrypt(Key.objects.get(pk=keys[1].pk).ciphertext)  # the other one rotated


def test_tampered_ciphertext_raises_a_clear_error_that_hides_the_ciphertext(win):
    (key,) = keys_create(product=win, count=1)
    stored = Key.objects.get(pk=key.pk).ciphertext
    tampered = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    Key.objects.filter(pk=key.pk).update(ciphertext=tampered)

    with pytest.raises(KeyDecryptionError) as caught:
        code_decrypt(tampered, key_id=key.pk)
    message = str(caught.value)
    assert f"key #{key.pk}" in message and "cannot be decrypted" in message
    assert tampered not in message and stored not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_admin_reveal_of_a_tampered_key_shows_an_error_and_records_no_view(client, win, revealer):
    line = order_line_new(product=win)
    keys_create(product=win, count=1)
    key = key_allocate(order_line=line, quantity=1).keys[0]
    tampered = "gAAAAABnot-a-real-token-" + "x" * 40
    Key.objects.filter(pk=key.pk).update(ciphertext=tampered)
    staff_login(client=client, user=revealer)

    response = client.post(
        reverse("admin:keys_key_reveal", args=[key.pk]), {"reason": "customer says it fails"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "cannot be decrypted" in body
    assert tampered not in body
    assert "no-store" in response["Cache-Control"]
    assert not KeyView.objects.filter(key=key).exists()


def test_verify_key_encryption_counts_readable_codes_and_names_unreadable_ids(win, settings):
    keys = keys_create(product=win, count=4)
    old_key = settings.KEY_ENCRYPTION_KEYS[0]
    Key.objects.filter(pk=keys[1].pk).update(ciphertext="gAAAAAtampered")
    settings.KEY_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    Key.objects.filter(pk=keys[2].pk).update(ciphertext=code_encrypt("NEW-KEY-CODE-1"))

    out = io.StringIO()
    with pytest.raises(CommandError, match="1 key"):
        call_command("verify_key_encryption", batch_size=3, stdout=out)
    report = out.getvalue()
    assert f"unreadable: key #{keys[1].pk}" in report
    assert "4 keys examined: 3 readable (1 under the newest key, 2 under an older key)" in report
    assert "NEW-KEY-CODE-1" not in report


def test_verify_key_encryption_fails_when_the_keys_were_not_restored(win, settings):
    keys_create(product=win, count=2)
    settings.KEY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # a backup without its key
    with pytest.raises(CommandError, match="2 key"):
        call_command("verify_key_encryption", stdout=io.StringIO())


def test_verify_key_encryption_passes_with_the_configured_keys(win):
    keys_create(product=win, count=3)
    out = io.StringIO()
    call_command("verify_key_encryption", stdout=out)
    assert "3 keys examined: 3 readable (3 under the newest key" in out.getvalue()
