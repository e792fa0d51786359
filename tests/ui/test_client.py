"""PortalClient and the activity model against a real service: token refresh, live feed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest

from portal_app.client import ApiError, AuditEvent, LiveState, PortalClient, ServiceUnreachable
from portal_app.embedded import EmbeddedService
from services.config import ServiceSettings
from tests.ui.conftest import PASSWORD, run
from ui.activity_model import WHAT_COLUMN, ActivityTableModel, EventGroup


@pytest.fixture(scope="module")
def short_token_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A service whose access tokens expire after three seconds."""
    settings = ServiceSettings(data_dir=tmp_path_factory.mktemp("short-tokens"), access_token_ttl_seconds=3)
    service = EmbeddedService(settings)
    url = service.start()
    yield url
    service.stop()


def test_expired_access_token_is_refreshed_and_the_rotation_reported(
    qtbot: Any, qasync_loop: Any, short_token_service: str
) -> None:
    rotated: list[str] = []
    client = PortalClient(short_token_service, on_refresh_token=rotated.append)

    async def scenario() -> tuple[str, str, str]:
        pair = await client.sign_in("alex.morgan@example.com", PASSWORD)
        await asyncio.sleep(4.2)  # the access token is now expired
        # Two calls at once: one refresh must serve both (a replayed refresh token would
        # revoke the whole session).
        first, second = await asyncio.gather(client.account(pair.user.accounts[0].id), client.me())
        return pair.refresh_token, first.name, second.email

    try:
        original, name, email = run(qtbot, scenario())
    finally:
        run(qtbot, client.aclose())
    assert name == "Morgan household" and email == "alex.morgan@example.com"
    assert rotated[0] == original  # sign-in reports its token too
    assert len(rotated) == 2 and rotated[1] != original
    assert client.refresh_token == rotated[-1]


def test_live_feed_refreshes_an_expired_token_and_reports_states(
    qtbot: Any, qasync_loop: Any, short_token_service: str
) -> None:
    rotated: list[str] = []
    client = PortalClient(short_token_service, on_refresh_token=rotated.append)
    states: list[LiveState] = []

    async def scenario() -> list[AuditEvent]:
        pair = await client.sign_in("priya.shah@example.com", PASSWORD)
        await asyncio.sleep(4.2)  # connect with an expired token: 4401, refresh, retry
        events: list[AuditEvent] = []

        async def consume() -> None:
            async for event in client.live_events(pair.user.accounts[0].id, 0, on_state=states.append):
                events.append(event)

        task = asyncio.ensure_future(consume())
        deadline = time.monotonic() + 30
        while LiveState.LIVE not in states and not task.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return events

    try:
        events = run(qtbot, scenario())
    finally:
        run(qtbot, client.aclose())
    assert states[0] is LiveState.CONNECTING and LiveState.LIVE in states
    assert len(rotated) >= 2  # the refused handshake led to a refresh, then a reconnect
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs)) and seqs


def test_problem_json_becomes_a_typed_error(qtbot: Any, qasync_loop: Any, short_token_service: str) -> None:
    client = PortalClient(short_token_service)

    async def scenario() -> ApiError:
        await client.sign_in("alex.morgan@example.com", PASSWORD)
        try:
            await client.account("acc_not_a_real_one")
        except ApiError as exc:
            return exc
        raise AssertionError("expected account.not_found")

    try:
        error = run(qtbot, scenario())
    finally:
        run(qtbot, client.aclose())
    assert (error.code, error.status) == ("account.not_found", 404)
    assert error.detail


def test_nothing_listening_is_service_unreachable(qtbot: Any, qasync_loop: Any) -> None:
    client = PortalClient("http://127.0.0.1:9")

    async def scenario() -> BaseException:
        try:
            await client.health()
        except ServiceUnreachable as exc:
            return exc
        finally:
            await client.aclose()
        raise AssertionError("expected ServiceUnreachable")

    assert "127.0.0.1:9" in str(run(qtbot, scenario()))


def _event(seq: int) -> AuditEvent:
    return AuditEvent.from_json(
        {
            "seq": seq,
            "action": "account.viewed",
            "actor_name": "Sam",
            "actor_role": "agent",
            "channel": "agent",
            "occurred_at": "2026-11-23T09:15:02Z",
            "outcome": "success",
        }
    )


def test_activity_model_is_newest_first_deduplicated_and_lazy(qtbot: Any) -> None:
    model = ActivityTableModel()
    start = time.perf_counter()
    model.add_events([_event(s) for s in range(1, 5001)])
    assert time.perf_counter() - start < 5  # sanity, not a benchmark
    assert model.total == 5000 and model.rowCount() == 5000
    model.add_events([_event(4999), _event(5000), _event(5001)])  # a reconnect's overlap
    assert model.total == 5001
    assert model.event_at(0).seq == 5001 and model.event_at(5000).seq == 1
    assert model.data(model.index(0, WHAT_COLUMN)) == "Opened the account"
    assert model.data(model.index(0, 3)) == "Call centre"


def test_activity_model_reveals_old_rows_on_demand(qtbot: Any) -> None:
    model = ActivityTableModel()
    model._groups = [EventGroup(_event(s)) for s in range(1, 1001)]  # as if loaded, none shown yet
    model._seqs = {g.seq for g in model._groups}
    model._by_seq = {g.seq: g for g in model._groups}
    assert model.rowCount() == 0 and model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == ActivityTableModel.FETCH_BATCH
    assert model.event_at(0).seq == 1000
