"""Claim evidence in S3-compatible object storage: a real local S3 server (moto's server
mode over HTTP), the private storage configured as settings.py does from
PRIVATE_STORAGE_S3_*; uploaded through the claim form, downloaded through the checked
view by the customer and by staff, never from a public URL."""

import socket

import boto3
import pytest
from django.core.files.storage import storages

from refunds.models import Claim, Evidence
from tests.factories import png_bytes, upload_new
from tests.refunds.test_claim_form import preview_then_submit

BUCKET = "keystore-private"
CREDENTIALS = {"aws_access_key_id": "testing-access", "aws_secret_access_key": "testing-secret"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server, settings):
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
                "location": "private",
                "default_acl": "private",
                "file_overwrite": False,
                "querystring_auth": True,
            },
        },
    }
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_evidence_goes_to_the_bucket_and_comes_back_only_through_the_checked_view(
    client, preset, delivered, customer, agent, other_customer, s3_bucket, settings
):
    from storages.backends.s3 import S3Storage

    assert isinstance(storages["private"], S3Storage)
    order, key = delivered
    client.force_login(customer)
    upload = upload_new(name="error.png", data=png_bytes(size=(80, 60)))
    _preview, done = preview_then_submit(client, order, key, screenshots=[upload])
    assert done.status_code == 302, done.content.decode()[:500]
    claim = Claim.objects.get()
    (evidence,) = Evidence.objects.filter(claim=claim)

    stored = s3_bucket.get_object(Bucket=BUCKET, Key=f"private/{evidence.storage_name}")
    data = stored["Body"].read()
    assert len(data) == evidence.size and data.startswith(b"\x89PNG")
    assert not (settings.PRIVATE_MEDIA_ROOT / evidence.storage_name).exists()  # not on disk
    acl = s3_bucket.get_object_acl(Bucket=BUCKET, Key=f"private/{evidence.storage_name}")
    assert not [g for g in acl["Grants"] if "AllUsers" in str(g["Grantee"])]

    url = f"/claims/evidence/{evidence.pk}/"
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == data

    client.force_login(agent)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == data

    client.force_login(other_customer)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("preset", ["novakeys"], indirect=True)
def test_evidence_missing_from_the_bucket_is_a_404_and_orphans_are_deleted_there(
    client, preset, delivered, customer, s3_bucket
):
    from datetime import timedelta

    from django.utils import timezone

    from refunds.services import evidence_create, evidence_purge_orphans

    order, key = delivered
    orphan = evidence_create(upload=upload_new(), uploaded_by=customer)
    name = f"private/{orphan.storage_name}"
    assert s3_bucket.head_object(Bucket=BUCKET, Key=name)
    Evidence.objects.filter(pk=orphan.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert evidence_purge_orphans() == 1
    assert "Contents" not in s3_bucket.list_objects_v2(Bucket=BUCKET, Prefix=name)

    kept = evidence_create(upload=upload_new(), uploaded_by=customer)
    s3_bucket.delete_object(Bucket=BUCKET, Key=f"private/{kept.storage_name}")
    client.force_login(customer)
    assert client.get(f"/claims/evidence/{kept.pk}/").status_code == 404
