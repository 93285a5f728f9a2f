"""Import: every bad line reported with its number and why; all or nothing; streamed."""

import io
import threading
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import translation

from keys.crypto import code_decrypt, code_fingerprint
from keys.importfile import text_lines
from keys.models import Key, KeyBatch, KeyImport, Supplier
from keys.services import importing, key_import
from tests.factories import (
    KeyBatchFactory,
    ProductFactory,
    SupplierFactory,
    key_code_new,
    keys_create,
)
from tests.staff import staff_login

pytestmark = pytest.mark.django_db


def _bad_file(win):
    """A file with one bad line of every kind, and the reasons expected for it."""
    in_stock = key_code_new(win)
    keys_create(product=win, count=1, codes=[in_stock])
    other = ProductFactory(key_format="")
    elsewhere = "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZ9"
    keys_create(product=other, count=1, codes=[elsewhere])
    good = [key_code_new(win) for _ in range(3)]
    lines = [
        good[0],  # 1
        "",  # 2 empty
        "not-a-windows-key",  # 3 malformed
        good[1],  # 4
        good[0],  # 5 duplicate of line 1
        in_stock,  # 6 already in stock
        elsewhere,  # 7 already in stock under another product
        "A" * 300,  # 8 too long
        "ABCDE-\t1234-ABCDE-ABCDE-ABCDE",  # 9 control character
        good[2],  # 10
    ]
    expected = {
        2: "empty line",
        3: "does not match this product's key format",
        5: "duplicate of line 1",
        6: "already in the inventory for this product (in stock or sold)",
        7: "already in the inventory under another product",
        8: "longer than 200 characters",
        9: "contains control characters (tab, NUL, …)",
    }
    return "\n".join(lines) + "\n", expected


def test_every_bad_line_is_reported_with_its_number_and_nothing_is_imported(win):
    text, expected = _bad_file(win)
    batch = KeyBatchFactory(product=win)
    before = Key.objects.count()

    report = key_import(product=win, batch=batch, lines=io.StringIO(text), source_name="march.txt")

    assert not report.ok and report.imported == 0
    assert {e.line: e.reason for e in report.errors} == expected
    assert [e.line for e in report.errors] == sorted(expected)
    assert report.bad_lines == 7 and report.lines_read == 10
    assert "Nothing was imported" in report.message and "7 bad lines" in report.message
    assert Key.objects.count() == before
    run = KeyImport.objects.get(pk=report.import_id)
    assert (run.outcome, run.bad_lines, run.imported) == ("rejected", 7, 0)


def test_the_same_code_in_another_spelling_is_a_duplicate():
    product = ProductFactory(key_format="")
    lines = ["abcd-1234-efgh", " ABCD 1234 EFGH ", "ABCD1234EFGH"]
    report = key_import(
        product=product, batch=KeyBatchFactory(product=product), lines=lines, source_name="x"
    )
    assert [(e.line, e.reason) for e in report.errors] == [
        (2, "duplicate of line 1"),
        (3, "duplicate of line 1"),
    ]


def test_undecodable_bytes_are_a_bad_line_not_a_crash(win):
    good = key_code_new(win).encode()
    stream = io.BytesIO(b"\xef\xbb\xbf" + good + b"\r\n\xff\xfe-garbage\r\n")
    report = key_import(
        product=win,
        batch=KeyBatchFactory(product=win),
        lines=text_lines(stream=stream),
        source_name="x.txt",
    )
    assert [(e.line, e.reason) for e in report.errors] == [(2, "not valid UTF-8 text")]


def test_a_clean_csv_with_a_code_column_is_imported_whole(win):
    codes = [key_code_new(win) for _ in range(4)]
    text = "supplier_ref,code,note\n" + "".join(f"r{i},{c},ok\n" for i, c in enumerate(codes))
    batch = KeyBatchFactory(product=win)

    report = key_import(product=win, batch=batch, lines=io.StringIO(text), source_name="keys.csv")

    assert report.ok and report.imported == 4 and report.message == "Imported 4 keys from keys.csv."
    assert sorted(Key.objects.filter(batch=batch).values_list("import_line", flat=True)) == [
        2,
        3,
        4,
        5,
    ]


def test_an_empty_file_is_rejected(win):
    report = key_import(
        product=win, batch=KeyBatchFactory(product=win), lines=[], source_name="e.txt"
    )
    assert not report.ok and "no codes" in report.message


def test_duplicates_across_chunks_cite_the_first_line(win, monkeypatch):
    monkeypatch.setattr("keys.services.importing.IMPORT_CHUNK", 3)
    codes = [key_code_new(win) for _ in range(5)]
    lines = [*codes, codes[1]]  # line 6 repeats line 2, two chunks later
    report = key_import(
        product=win, batch=KeyBatchFactory(product=win), lines=lines, source_name="x"
    )
    assert [(e.line, e.reason) for e in report.errors] == [(6, "duplicate of line 2")]
    assert not Key.objects.exists()


def _stored_lines_tracked(monkeypatch) -> dict:
    """Counts the file lines handed to storage so far (the import's own progress)."""
    progress = {"stored": 0}
    store = importing._ImportRun.store

    def tracked(self, chunk):
        store(self, chunk)
        progress["stored"] = chunk.last_line

    monkeypatch.setattr(importing._ImportRun, "store", tracked)
    return progress


def test_the_import_pulls_its_input_a_bounded_distance_ahead_of_what_it_stored(win, monkeypatch):
    """A generator that explodes when read too far ahead: materialising it (a list, the
    whole file in memory) fails; the import streams it, so it does not."""
    monkeypatch.setattr("keys.services.importing.IMPORT_CHUNK", 50)
    progress = _stored_lines_tracked(monkeypatch)
    win.key_format = ""
    win.save(update_fields=["key_format"])
    batch = KeyBatchFactory(product=win)
    total = 50 * 40
    # the chunk being stored, the chunks waiting in the hand-off, the one being prepared
    allowed = 50 * (importing.IMPORT_PREPARE_AHEAD + 3)

    def lines():
        for n in range(1, total + 1):
            if n - progress["stored"] > allowed:
                raise AssertionError(f"line {n} read with only {progress['stored']} stored")
            yield f"CODE-{n:08d}"

    with pytest.raises(AssertionError, match="read with only"):
        list(lines())  # the generator does explode when materialised

    report = key_import(product=win, batch=batch, lines=lines(), source_name="big.txt")

    assert report.ok and report.imported == total
    assert progress["stored"] == total


def test_an_error_while_reading_the_input_stores_nothing_and_leaves_no_worker(win, monkeypatch):
    monkeypatch.setattr("keys.services.importing.IMPORT_CHUNK", 10)
    batch = KeyBatchFactory(product=win)

    def lines():
        for n in range(1, 100):
            if n == 57:
                raise OSError("the upload was cut off")
            yield key_code_new(win)

    with pytest.raises(OSError, match="cut off"):
        key_import(product=win, batch=batch, lines=lines(), source_name="cut.txt")

    assert not Key.objects.exists()
    assert not [t for t in threading.enumerate() if t.name == "key-import-prepare"]


def test_a_rejected_file_stops_reading_no_worker_is_left_behind(win, monkeypatch):
    monkeypatch.setattr("keys.services.importing.IMPORT_CHUNK", 10)
    lines = [key_code_new(win) for _ in range(45)]
    lines[33] = "bad"
    report = key_import(
        product=win, batch=KeyBatchFactory(product=win), lines=lines, source_name="x"
    )
    assert [(e.line, e.reason) for e in report.errors] == [
        (34, "does not match this product's key format")
    ]
    assert not Key.objects.exists()
    assert not [t for t in threading.enumerate() if t.name == "key-import-prepare"]


def test_line_problems_are_reported_in_the_importers_language(win):
    with translation.override("fr"):
        expected = translation.gettext("empty line")
        report = key_import(
            product=win,
            batch=KeyBatchFactory(product=win),
            lines=[key_code_new(win), ""],
            source_name="x",
        )
    assert expected == "ligne vide"
    assert [(e.line, e.reason) for e in report.errors] == [(2, expected)]


def _stored_rows(batch):
    return [
        (k.import_line, code_decrypt(k.ciphertext), k.fingerprint, k.last4, k.status)
        for k in Key.objects.filter(batch=batch).order_by("import_line")
    ]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the streaming path (COPY) needs PostgreSQL"
)
def test_the_streaming_path_and_the_one_thread_path_store_the_same_rows(win, monkeypatch):
    monkeypatch.setattr("keys.services.importing.IMPORT_CHUNK", 7)
    codes = [key_code_new(win) for _ in range(30)]
    codes[4] = " " + codes[4].lower() + " "  # spellings: stored trimmed, fingerprint normal
    win.key_format = ""
    win.save(update_fields=["key_format"])
    streamed = KeyBatchFactory(product=win)
    report = key_import(product=win, batch=streamed, lines=codes, source_name="a.txt")
    assert report.ok and report.imported == 30
    first = _stored_rows(streamed)
    Key.objects.filter(batch=streamed).delete()

    monkeypatch.setattr("keys.services.importing._import_streams", lambda: False)  # SQLite's path
    simple = KeyBatchFactory(product=win)
    report = key_import(product=win, batch=simple, lines=codes, source_name="b.txt")
    assert report.ok and report.imported == 30

    assert first == _stored_rows(simple)
    assert [row[1] for row in first] == [c.strip() for c in codes]
    assert first[4][2] == code_fingerprint(codes[4].upper())


def test_an_endless_line_is_skipped_in_small_pieces_and_reported(win):
    good = key_code_new(win)
    huge = io.BytesIO(b"X" * (20 * 1024 * 1024) + b"\n" + good.encode() + b"\n")
    tracemalloc.start()
    try:
        rows = list(text_lines(stream=huge))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024  # the 20 MB line was never held
    report = key_import(
        product=win, batch=KeyBatchFactory(product=win), lines=rows, source_name="x"
    )
    assert [(e.line, e.reason) for e in report.errors] == [(1, "longer than 200 characters")]


def test_import_command_reads_a_file_into_a_new_batch(win, tmp_path):
    path = tmp_path / "keys.txt"
    path.write_text("".join(key_code_new(win) + "\n" for _ in range(3)))
    out = io.StringIO()

    call_command(
        "import_keys", str(path), product=win.sku, supplier="Acme Keys", cost="3.50", stdout=out
    )

    batch = KeyBatch.objects.get(supplier__name="Acme Keys")
    assert batch.keys.count() == 3 and str(batch.cost_per_key) == "3.50"
    assert "Imported 3 keys" in out.getvalue()


def test_import_command_rejects_a_bad_file_with_line_numbers_and_leaves_no_batch(win, tmp_path):
    path = tmp_path / "keys.txt"
    path.write_text(key_code_new(win) + "\nbad\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command(
            "import_keys", str(path), product=win.sku, supplier="Acme", cost="1", stderr=err
        )
    assert "line 2: does not match this product's key format" in err.getvalue()
    assert not KeyBatch.objects.exists() and not Key.objects.exists()
    assert not Supplier.objects.filter(name="Acme").exists()


def test_import_command_reads_stdin(win, monkeypatch):
    batch = KeyBatchFactory(product=win)
    data = io.TextIOWrapper(io.BytesIO((key_code_new(win) + "\n").encode()))
    monkeypatch.setattr("sys.stdin", data)
    call_command("import_keys", "-", product=win.sku, batch=batch.pk, stdout=io.StringIO())
    assert batch.keys.count() == 1


def test_admin_upload_imports_into_a_new_batch(client, win, revealer):
    supplier = SupplierFactory(name="Acme")
    staff_login(client=client, user=revealer)
    upload = SimpleUploadedFile(
        "keys.txt", "".join(key_code_new(win) + "\n" for _ in range(2)).encode()
    )

    response = client.post(
        reverse("admin:keys_key_import"),
        {
            "file": upload,
            "format": "auto",
            "product": win.pk,
            "supplier": supplier.pk,
            "cost_per_key": "2.00",
            "currency": "eur",
        },
    )

    batch = KeyBatch.objects.get(supplier=supplier)
    assert response.status_code == 302 and response["Location"].endswith(
        f"/keybatch/{batch.pk}/change/"
    )
    assert batch.keys.count() == 2 and batch.currency == "EUR"


def test_admin_upload_with_bad_lines_reports_them_and_keeps_the_choices(client, win, revealer):
    supplier = SupplierFactory(name="Acme")
    staff_login(client=client, user=revealer)
    upload = SimpleUploadedFile("keys.txt", (key_code_new(win) + "\n\nshort\n").encode())

    response = client.post(
        reverse("admin:keys_key_import"),
        {
            "file": upload,
            "format": "text",
            "product": win.pk,
            "supplier": supplier.pk,
            "cost_per_key": "2.00",
            "currency": "EUR",
            "reference": "INV-77",
        },
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was imported from keys.txt: 2 bad lines" in body
    assert "<td>2</td><td>empty line</td>" in body
    assert "<td>3</td><td>does not match this product&#x27;s key format</td>" in body
    assert f'<option value="{win.pk}" selected>' in body
    assert 'value="INV-77"' in body
    assert not KeyBatch.objects.exists() and not Key.objects.exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="deferrable constraints are PostgreSQL's"
)
def test_the_key_foreign_keys_are_deferred_again_after_an_import(win):
    """The import checks key references per statement; the caller's transaction gets the
    usual deferred checks back (a dangling reference is caught at commit, not at once)."""
    with transaction.atomic():
        keys_create(product=win, count=2)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE keys_key SET batch_id = batch_id + 1000000")  # dangling
        transaction.set_rollback(True)  # never committed: the check would refuse it
    with pytest.raises(IntegrityError), transaction.atomic():
        keys_create(product=win, count=1)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("UPDATE keys_key SET batch_id = batch_id + 1000000")
