"""Two service instances on one PostgreSQL database and one S3 store (moto's real S3 API server):
what one instance keeps, the other serves; bytes changed in the store are refused and audited."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.blobs.s3 import S3BlobStore
from services.bootstrap import blob_store
from services.cases.service import ATTACHMENTS
from services.claims.photos import ORIGINALS
from tests import claims_samples as samples
from tests.s3_support import S3Server, s3_server
from tests.support import Service, running_service

pytestmark = pytest.mark.postgres
ALEX = "alex.morgan@example.com"
AGENT = "agent@portal.example"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def pair(pg_url: str, s3: S3Server, tmp_path: Path) -> Iterator[tuple[Service, Service]]:
    """Instances A and B: one database, one bucket, each its own data directory."""
    blob_url = s3.blob_url(s3.new_bucket(), "portal")
    with (
        running_service(pg_url, tmp_path / "a", blob_url=blob_url) as a,
        running_service(pg_url, tmp_path / "b", blob_url=blob_url) as b,
    ):
        yield a, b


def _claim(client: httpx.Client) -> dict[str, Any]:
    account = client.get("/me").json()["accounts"][0]["id"]
    overview = client.get(f"/accounts/{account}").json()
    policy = next(p for p in overview["policies"] if p["product_line"] == "auto")
    r = client.post(
        "/claims",
        json={
            "account_id": account,
            "policy_id": policy["id"],
            "loss_type": "collision",
            "loss_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
            "location": "N Clark St, Chicago",
            "description": "Rear-ended at the lights on the way to work.",
            "vehicle": "2021 Toyota RAV4",
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def _on(service: Service, client: httpx.Client) -> httpx.Client:
    """The same signed-in user, talking to another instance (tokens are shared by the secret)."""
    return httpx.Client(base_url=service.url + "/api/v1", timeout=30, headers=dict(client.headers))


def test_a_photo_uploaded_through_one_instance_reads_through_the_other(pair: tuple[Service, Service]) -> None:
    a, b = pair
    # Given Alex files a claim and adds a photo through instance A
    data = samples.jpeg(1200, 900, orientation=6)
    with a.authed(ALEX) as alex_a, _on(b, alex_a) as alex_b:
        claim = _claim(alex_a)
        r = alex_a.post(
            f"/claims/uploads/{claim['id']}",
            params={"filename": "rear.jpg"},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 201, r.text
        photo = r.json()
        # Then the bytes are in the shared bucket, not in A's data directory
        assert not list((Path(a.container.settings.data_dir) / "claim-photos").rglob(photo["sha256"]))
        assert blob_store(b.container).exists(ORIGINALS, photo["sha256"])
        # When Alex opens it through instance B: the original, byte for byte, and its rendition
        url = f"/claims/{claim['id']}/photos/{photo['id']}/content"
        original = alex_b.get(url, params={"rendition": "original"})
        assert original.status_code == 200, original.text
        assert original.content == data and original.headers["x-content-sha256"] == photo["sha256"]
        display = alex_b.get(url)
        assert display.status_code == 200 and display.content[:2] == b"\xff\xd8"
        # And both instances serve the one shared rendition
        assert alex_a.get(url).content == display.content


def test_a_case_attachment_kept_by_one_instance_reads_through_the_other(
    pair: tuple[Service, Service], s3: S3Server
) -> None:
    a, b = pair
    pdf = b"%PDF-1.4\n% a letter from the bank about the double charge\n" * 50
    with a.authed(ALEX) as alex_a, _on(b, alex_a) as alex_b:
        account = alex_a.get("/me").json()["accounts"][0]["id"]
        r = alex_a.post(
            f"/accounts/{account}/cases",
            json={
                "kind": "complaint",
                "category": "billing",
                "subject": "Charged twice",
                "description": "My November premium was taken twice.",
                "attachments": [
                    {
                        "filename": "letter.pdf",
                        "media_type": "application/pdf",
                        "content_base64": base64.b64encode(pdf).decode(),
                    }
                ],
            },
        )
        assert r.status_code == 201, r.text
        case = r.json()
        (att,) = case["attachments"]
        # The row keeps only the hash; the bytes are in the shared store
        assert b.sql("SELECT content FROM case_attachments WHERE id = :i", i=att["id"]) == [(None,)]
        got = alex_b.get(f"/accounts/{account}/cases/{case['id']}/attachments/{att['id']}")
        assert got.status_code == 200 and got.content == pdf
        assert got.headers["x-content-sha256"] == hashlib.sha256(pdf).hexdigest()
        # When the object is changed in the bucket, it is refused and the failed check audited
        store = blob_store(a.container)
        assert isinstance(store, S3BlobStore)
        key = store.object_key(ATTACHMENTS, att["sha256"])
        s3.client().put_object(Bucket=store.bucket, Key=key, Body=pdf[:-8] + b"tampered")
        r = alex_b.get(f"/accounts/{account}/cases/{case['id']}/attachments/{att['id']}")
        assert r.status_code == 500 and r.json()["code"] == "case.attachment_corrupted"
    rows = a.sql(
        "SELECT outcome FROM audit_events WHERE action = 'case.attachment_integrity_failed' "
        "AND entity_id = :i",
        i=att["id"],
    )
    assert rows == [("failure",)]


def test_a_photo_changed_in_the_store_is_refused_and_audited(
    pair: tuple[Service, Service], s3: S3Server
) -> None:
    a, b = pair
    data = samples.jpeg(640, 480)
    with a.authed(ALEX) as alex_a, _on(b, alex_a) as alex_b:
        claim = _claim(alex_a)
        photo = alex_a.post(
            f"/claims/uploads/{claim['id']}", params={"filename": "side.jpg"}, content=data
        ).json()
        # When the object is overwritten in the bucket behind the service's back
        store = blob_store(a.container)
        assert isinstance(store, S3BlobStore)
        tampered = data[:-10] + b"\x00" * 8 + data[-2:]
        s3.client().put_object(
            Bucket=store.bucket, Key=store.object_key(ORIGINALS, photo["sha256"]), Body=tampered
        )
        # Then neither instance serves it: a coded refusal, not the changed bytes
        url = f"/claims/{claim['id']}/photos/{photo['id']}/content"
        r = alex_b.get(url, params={"rendition": "original"})
        assert r.status_code == 500 and r.json()["code"] == "claim.photo_corrupted"
        assert alex_a.get(url, params={"rendition": "original"}).json()["code"] == "claim.photo_corrupted"
    # And the failed check is on the account's audit trail, naming both hashes
    rows = a.sql(
        "SELECT outcome, after FROM audit_events WHERE action = 'claim.photo_integrity_failed' "
        "AND entity_id = :p",
        p=photo["id"],
    )
    assert len(rows) == 2 and rows[0][0] == "failure"
    after = rows[0][1] if isinstance(rows[0][1], dict) else json.loads(rows[0][1])
    assert (
        after["sha256"] == photo["sha256"] and after["found_sha256"] == hashlib.sha256(tampered).hexdigest()
    )
