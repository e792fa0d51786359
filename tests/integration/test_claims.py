"""Claims end to end on SQLite and PostgreSQL: filing, photos, transitions, authorisation."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests import claims_samples as samples
from tests.support import Service

ALEX = "alex.morgan@example.com"
PRIYA = "priya.shah@example.com"
AGENT = "agent@portal.example"
BRANCH = "branch@portal.example"
ADMIN = "admin@portal.example"


def _account(client: httpx.Client) -> dict[str, Any]:
    account_id = client.get("/me").json()["accounts"][0]["id"]
    return client.get(f"/accounts/{account_id}").json()


def _policy(overview: dict[str, Any], line: str) -> dict[str, Any]:
    return next(p for p in overview["policies"] if p["product_line"] == line)


def _loss(overview: dict[str, Any], line: str = "auto", **changes: Any) -> dict[str, Any]:
    body = {
        "account_id": overview["id"],
        "policy_id": _policy(overview, line)["id"],
        "loss_type": "collision",
        "loss_at": (datetime.now(UTC) - timedelta(hours=5)).isoformat(),
        "location": "W Addison St & N Clark St, Chicago",
        "description": "Another car ran the light and hit the front passenger side.",
        "vehicle": "2021 Subaru Outback" if line == "auto" else "",
        "other_parties": "Blue Ford Focus, plate IL ZX 9981",
        "police_report": "CPD-26-5521",
        "injuries": False,
    }
    body.update(changes)
    return body


def _file(client: httpx.Client, overview: dict[str, Any], **changes: Any) -> dict[str, Any]:
    r = client.post("/claims", json=_loss(overview, **changes))
    assert r.status_code == 201, r.text
    return r.json()


def _upload(client: httpx.Client, claim_id: str, data: bytes, filename: str = "photo.jpg") -> httpx.Response:
    return client.post(
        f"/claims/uploads/{claim_id}",
        params={"filename": filename},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def _photo_files(service: Service) -> list[Path]:
    root = Path(service.container.settings.data_dir) / "claim-photos"
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def alex(module_service: Service) -> Iterator[httpx.Client]:
    with module_service.authed(ALEX) as client:
        yield client


@pytest.fixture(scope="module")
def agent(module_service: Service) -> Iterator[httpx.Client]:
    with module_service.authed(AGENT) as client:
        yield client


@pytest.fixture(scope="module")
def alex_overview(alex: httpx.Client) -> dict[str, Any]:
    return _account(alex)


# --- filing --------------------------------------------------------------------------------


def test_policyholder_files_a_claim_and_gets_a_number_at_once(
    module_service: Service, alex: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    # When Alex files a collision claim on the auto policy
    claim = _file(alex, alex_overview)
    # Then it has a number, is submitted, and promises acknowledgement and review dates
    assert claim["number"].startswith("CLM-") and claim["status"] == "submitted"
    assert claim["policy_number"] == "AUT-100234" and claim["vehicle"] == "2021 Subaru Outback"
    assert [s["step"] for s in claim["sla"]] == ["acknowledge", "review"]
    assert claim["next_step"] == {"code": "acknowledge", "by": "us", "due_date": claim["sla"][0]["due_date"]}
    assert claim["timeline"][0]["status"] == "submitted"
    assert claim["timeline"][0]["actor_name"] == "Alex Morgan"
    assert claim["outside_term"] is False and claim["can_adjust"] is False
    # And it is audited in the account's chain, listed, and among the open claims
    rows = module_service.sql(
        "SELECT actor_role, after FROM audit_events WHERE action = 'claim.filed' AND entity_id = :id",
        id=claim["id"],
    )
    assert len(rows) == 1 and rows[0][0] == "policyholder"
    after = rows[0][1] if isinstance(rows[0][1], dict) else json.loads(rows[0][1])
    assert after["number"] == claim["number"] and after["acknowledge_by"] == claim["sla"][0]["due_date"]
    listed = alex.get("/claims", params={"account_id": alex_overview["id"]}).json()["claims"]
    assert claim["id"] in [c["id"] for c in listed]
    open_claims = alex.get(f"/accounts/{alex_overview['id']}").json()["open_claims"]
    assert claim["number"] in [c["number"] for c in open_claims]


def test_agent_files_on_behalf_of_the_customer(module_service: Service, agent: httpx.Client) -> None:
    alex_account = module_service.sql("SELECT id FROM accounts WHERE name = 'Morgan household'")[0][0]
    overview = agent.get(f"/accounts/{alex_account}").json()
    claim = _file(agent, overview, loss_type="glass", vehicle="2019 Honda CR-V")
    assert claim["timeline"][0]["actor_role"] == "agent"
    row = module_service.sql(
        "SELECT channel, on_behalf_of FROM audit_events WHERE action = 'claim.filed' AND entity_id = :id",
        id=claim["id"],
    )[0]
    assert row[0] == "agent" and row[1] is not None


def test_a_loss_outside_the_policy_term_is_filed_and_flagged(
    alex: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    policy = _policy(alex_overview, "home")
    before_cover = datetime.fromisoformat(policy["effective_date"]) - timedelta(days=20)
    claim = _file(
        alex,
        alex_overview,
        line="home",
        loss_type="water",
        loss_at=before_cover.replace(hour=12, tzinfo=UTC).isoformat(),
    )
    assert claim["outside_term"] is True
    assert claim["policy_effective_date"] == policy["effective_date"]


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        (
            {"loss_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()},
            422,
            "claim.loss_in_future",
            "loss_at",
        ),
        ({"vehicle": ""}, 422, "claim.vehicle_required", "vehicle"),
        ({"injuries": True, "injury_details": ""}, 422, "claim.injury_details_required", "injury_details"),
        ({"loss_at": "2026-11-20T10:00:00"}, 422, "request.invalid", None),
        ({"loss_type": "meteor"}, 422, "request.invalid", None),
        ({"description": "short"}, 422, "request.invalid", None),
        ({"policy_id": "pol_not_ours"}, 404, "policy.not_found", "policy_id"),
    ],
    ids=[
        "future",
        "no-vehicle",
        "injury-no-details",
        "naive-time",
        "bad-type",
        "short-description",
        "policy",
    ],
)
def test_bad_claims_are_refused_and_nothing_is_written(
    module_service: Service,
    alex: httpx.Client,
    alex_overview: dict[str, Any],
    changes: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    count = module_service.sql("SELECT count(*) FROM claims")[0][0]
    events = module_service.sql("SELECT count(*) FROM audit_events WHERE action = 'claim.filed'")[0][0]
    r = alex.post("/claims", json=_loss(alex_overview, **changes))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    if field:
        assert r.json()["field"] == field
    assert module_service.sql("SELECT count(*) FROM claims")[0][0] == count
    assert (
        module_service.sql("SELECT count(*) FROM audit_events WHERE action = 'claim.filed'")[0][0] == events
    )


def test_another_customer_cannot_file_on_or_read_this_account(
    module_service: Service, alex: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    claim = _file(alex, alex_overview)
    with module_service.authed(PRIYA) as priya:
        r = priya.post("/claims", json=_loss(alex_overview))
        assert r.status_code == 404 and r.json()["code"] == "account.not_found"
        r = priya.get(f"/claims/{claim['id']}")
        assert r.status_code == 404 and r.json()["code"] == "claim.not_found"
        r = priya.get("/claims", params={"account_id": alex_overview["id"]})
        assert r.status_code == 404


# --- photos --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("HEIF", "image/heif")],
)
def test_each_accepted_type_uploads_and_its_hash_is_on_the_audit_trail(
    module_service: Service, alex: httpx.Client, alex_overview: dict[str, Any], fmt: str, content_type: str
) -> None:
    claim = _file(alex, alex_overview)
    data = samples.encoded(fmt)
    r = _upload(alex, claim["id"], data, f"damage.{fmt.lower()}")
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["content_type"] == content_type and (photo["width"], photo["height"]) == (320, 240)
    # The audit event's hash is the hash of the bytes we keep and serve
    after = module_service.sql(
        "SELECT after FROM audit_events WHERE action = 'claim.photo_attached' AND entity_id = :id",
        id=photo["id"],
    )[0][0]
    after = after if isinstance(after, dict) else json.loads(after)
    stored = (Path(module_service.container.settings.data_dir) / "claim-photos" / "originals").rglob(
        photo["sha256"]
    )
    stored_bytes = next(stored).read_bytes()
    served = alex.get(f"/claims/{claim['id']}/photos/{photo['id']}/content", params={"rendition": "original"})
    assert served.status_code == 200 and served.headers["content-type"] == content_type
    assert after["sha256"] == hashlib.sha256(data).hexdigest() == hashlib.sha256(stored_bytes).hexdigest()
    assert served.content == data
    display = alex.get(f"/claims/{claim['id']}/photos/{photo['id']}/content")
    assert display.headers["content-type"] == "image/jpeg" and display.content[:2] == b"\xff\xd8"
    listed = alex.get(f"/claims/{claim['id']}/photos").json()["photos"]
    assert [p["id"] for p in listed] == [photo["id"]]


def test_exif_capture_time_is_kept_as_claim_data(alex: httpx.Client, alex_overview: dict[str, Any]) -> None:
    claim = _file(alex, alex_overview)
    r = _upload(alex, claim["id"], samples.jpeg(300, 200, orientation=6, taken="2026:11:21 09:14:00"))
    assert r.status_code == 201 and r.json()["captured_at"] == "2026-11-21T09:14:00"


def _refusal_state(service: Service) -> tuple[int, int, list[Path]]:
    photos = service.sql("SELECT count(*) FROM claim_photos")[0][0]
    events = service.sql("SELECT count(*) FROM audit_events WHERE action = 'claim.photo_attached'")[0][0]
    return photos, events, _photo_files(service)


@pytest.mark.parametrize(
    ("data", "filename", "status", "code"),
    [
        (samples.windows_executable(), "invoice.jpg", 415, "claim.photo_type_not_allowed"),
        (samples.truncated_jpeg(), "front.jpg", 422, "claim.photo_corrupt"),
        (samples.huge_png(), "bomb.png", 422, "claim.photo_too_many_pixels"),
        (samples.jpeg(100, 100), "../../etc/cron.d/x.jpg", 422, "claim.photo_filename_invalid"),
        (samples.jpeg(100, 100), "C:\\Users\\a.jpg", 422, "claim.photo_filename_invalid"),
        (samples.jpeg(100, 100), "dent\r\nX-Evil: 1.jpg", 422, "claim.photo_filename_invalid"),
        (b"", "empty.jpg", 422, "claim.photo_empty"),
    ],
    ids=["renamed-exe", "truncated", "60000x60000", "dotdot", "backslash", "control-chars", "empty"],
)
def test_bad_photos_are_refused_and_nothing_partial_is_stored(
    module_service: Service,
    alex: httpx.Client,
    alex_overview: dict[str, Any],
    data: bytes,
    filename: str,
    status: int,
    code: str,
) -> None:
    claim = _file(alex, alex_overview)
    before = _refusal_state(module_service)
    r = _upload(alex, claim["id"], data, filename)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert _refusal_state(module_service) == before


def _length(raw: bytes) -> int:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


def test_a_1_gb_upload_is_refused_before_it_is_read(
    module_service: Service, alex: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    # Given a client that announces a 1 GB body and sends nothing of it
    claim = _file(alex, alex_overview)
    before = _refusal_state(module_service)
    url = urlsplit(module_service.url)
    token = alex.headers["Authorization"]
    request = (
        f"POST /api/v1/claims/uploads/{claim['id']}?filename=big.jpg HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\nAuthorization: {token}\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {1_000_000_000}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.split(b"\r\n\r\n", 1)[1]) < _length(raw):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
        response = raw.decode("latin-1")
    # Then the service answers 413 at once, from the headers alone
    assert response.startswith("HTTP/1.1 413"), response[:200]
    assert "claim.photo_too_large" in response
    assert _refusal_state(module_service) == before


def test_an_upload_dropped_half_way_leaves_nothing(
    module_service: Service, alex: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    # Given a client that sends 1 MB of a promised 5 MB photo and hangs up (cancel, crash)
    claim = _file(alex, alex_overview)
    before = _refusal_state(module_service)
    url = urlsplit(module_service.url)
    head = (
        f"POST /api/v1/claims/uploads/{claim['id']}?filename=half.jpg HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\nAuthorization: {alex.headers['Authorization']}\r\n"
        f"Content-Length: {5_000_000}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + samples.jpeg(64, 64) + b"\x00" * 1_000_000)
    # Then the temp file goes and nothing is recorded
    tmp = Path(module_service.container.settings.data_dir) / "claim-photos" / "tmp"
    deadline = time.monotonic() + 10
    while any(tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(tmp.iterdir())
    assert _refusal_state(module_service) == before


def test_a_stream_over_the_limit_without_length_is_cut_off(
    module_service: Service, alex: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    claim = _file(alex, alex_overview)
    before = _refusal_state(module_service)
    limit = module_service.container.settings.claim_photo_max_bytes

    def body() -> Iterator[bytes]:  # chunked: no Content-Length to refuse early on
        yield samples.jpeg(64, 64)
        for _ in range(limit // 65536 + 2):
            yield b"\x00" * 65536

    r = alex.post(f"/claims/uploads/{claim['id']}", params={"filename": "long.jpg"}, content=body())
    assert r.status_code == 413 and r.json()["code"] == "claim.photo_too_large"
    assert _refusal_state(module_service) == before


def test_uploads_to_someone_elses_claim_are_refused(
    module_service: Service, alex: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    claim = _file(alex, alex_overview)
    before = _refusal_state(module_service)
    with module_service.authed(PRIYA) as priya:
        r = _upload(priya, claim["id"], samples.jpeg(100, 100))
        assert r.status_code == 404 and r.json()["code"] == "claim.not_found"
        photo = _upload(alex, claim["id"], samples.jpeg(100, 100)).json()
        r = priya.get(f"/claims/{claim['id']}/photos/{photo['id']}/content")
        assert r.status_code == 404
    with module_service.authed(BRANCH) as branch:  # not verified at the counter for this customer
        r = _upload(branch, claim["id"], samples.jpeg(100, 100))
        assert r.status_code == 403 and r.json()["code"] == "branch.verification_required"
    assert _refusal_state(module_service)[0] == before[0] + 1


# --- transitions ---------------------------------------------------------------------------


def _move(client: httpx.Client, claim_id: str, action: str, **body: Any) -> httpx.Response:
    return client.post(f"/claims/{claim_id}/transitions", json={"action": action, **body})


def test_the_whole_life_of_a_claim_with_a_request_for_information(
    module_service: Service, alex: httpx.Client, agent: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    claim = _file(alex, alex_overview)
    cid = claim["id"]
    # The adjuster acknowledges and starts the review
    r = _move(agent, cid, "acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert r.json()["sla"][0]["done_at"] is not None and r.json()["next_step"]["code"] == "review"
    assert _move(agent, cid, "start_review").json()["status"] == "in_review"
    # They ask for more information; the customer sees the question and may answer it
    r = _move(agent, cid, "request_info", note="Please add a photo of the other car's plate.")
    assert r.json()["status"] == "info_requested"
    seen = alex.get(f"/claims/{cid}").json()
    assert seen["info_request"] == "Please add a photo of the other car's plate."
    assert seen["allowed_actions"] == ["respond"] and seen["next_step"]["by"] == "you"
    alerts = alex.get(f"/accounts/{alex_overview['id']}").json()["alerts"]
    assert any(a["code"] == "claim.info_requested" and a["data"]["claim_id"] == cid for a in alerts)
    r = _move(alex, cid, "respond", note="Added it: plate IL ZX 9981.")
    assert r.status_code == 200 and r.json()["status"] == "in_review" and r.json()["info_request"] == ""
    # Approve with an amount, pay, close
    r = _move(agent, cid, "approve", amount_minor=184_250)
    assert r.json()["status"] == "approved" and r.json()["approved_minor"] == 184_250
    assert _move(agent, cid, "mark_paid").json()["status"] == "paid"
    final = _move(agent, cid, "close").json()
    assert final["status"] == "closed" and final["allowed_actions"] == []
    # The timeline says who did what, in order
    steps = [(t["status"], t["kind"], t["actor_name"]) for t in final["timeline"]]
    assert steps == [
        ("submitted", "status", "Alex Morgan"),
        ("acknowledged", "status", "Sam Rivera"),
        ("in_review", "status", "Sam Rivera"),
        ("info_requested", "status", "Sam Rivera"),
        ("in_review", "response", "Alex Morgan"),
        ("approved", "status", "Sam Rivera"),
        ("paid", "status", "Sam Rivera"),
        ("closed", "status", "Sam Rivera"),
    ]
    # Every step is on the audit trail, staff recorded as acting for the customer
    rows = module_service.sql(
        "SELECT action, actor_role, on_behalf_of FROM audit_events WHERE entity_id = :id ORDER BY seq", id=cid
    )
    assert [r[0] for r in rows] == ["claim.filed"] + ["claim.status_changed"] * 3 + [
        "claim.info_provided"
    ] + ["claim.status_changed"] * 3
    assert all(r[2] is not None for r in rows if r[1] == "agent")
    # A closed claim takes no more photos
    r = _upload(alex, cid, samples.jpeg(50, 50))
    assert r.status_code == 409 and r.json()["code"] == "claim.closed"


def test_deny_needs_a_reason_and_illegal_moves_are_refused(
    module_service: Service, alex: httpx.Client, agent: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    cid = _file(alex, alex_overview)["id"]
    events = module_service.sql("SELECT count(*) FROM audit_events WHERE entity_id = :id", id=cid)[0][0]
    for action, body, status, code in [
        ("approve", {"amount_minor": 100}, 409, "claim.illegal_transition"),
        ("close", {}, 409, "claim.illegal_transition"),
        ("mark_paid", {}, 409, "claim.illegal_transition"),
        ("respond", {"note": "hello"}, 403, "claim.customer_only"),
        ("deny", {}, 409, "claim.illegal_transition"),
    ]:
        r = _move(agent, cid, action, **body)
        assert (r.status_code, r.json()["code"]) == (status, code), action
    _move(agent, cid, "acknowledge")
    r = _move(agent, cid, "deny", note="   ")
    assert r.status_code == 422 and r.json()["code"] == "claim.reason_required"
    r = _move(agent, cid, "start_review")
    r = _move(agent, cid, "approve")
    assert r.status_code == 422 and r.json()["code"] == "claim.amount_required"
    r = _move(agent, cid, "approve", amount_minor=-5)
    assert r.status_code == 422 and r.json()["code"] == "request.invalid"
    r = _move(agent, cid, "deny", note="The damage predates the policy.")
    assert r.json()["status"] == "denied" and r.json()["decision_reason"] == "The damage predates the policy."
    r = _move(agent, cid, "acknowledge")
    assert r.status_code == 409 and r.json()["current_status"] == "denied"
    after = module_service.sql("SELECT count(*) FROM audit_events WHERE entity_id = :id", id=cid)[0][0]
    assert after == events + 3  # acknowledge, start_review, deny: refusals write nothing


def test_only_adjusters_move_claims(
    module_service: Service, alex: httpx.Client, alex_overview: dict[str, Any]
) -> None:
    cid = _file(alex, alex_overview)["id"]
    r = _move(alex, cid, "acknowledge")
    assert r.status_code == 403 and r.json()["code"] == "claim.adjuster_required"
    with module_service.authed(ADMIN) as admin:  # staff, but without the adjuster permission
        r = _move(admin, cid, "acknowledge")
        assert r.status_code == 403 and r.json()["code"] == "claim.adjuster_required"
        assert admin.get("/claims/queue").status_code == 403
        assert admin.get(f"/claims/{cid}").json()["can_adjust"] is False
    assert alex.get("/claims/queue").status_code == 403
    with module_service.authed("supervisor@portal.example") as supervisor:
        r = _move(supervisor, cid, "acknowledge")
        assert r.status_code == 200 and r.json()["can_adjust"] is True
    assert (
        module_service.sql(
            "SELECT count(*) FROM staff_permissions sp JOIN users u ON u.id = sp.user_id "
            "WHERE u.role = 'policyholder'"
        )[0][0]
        == 0
    )
