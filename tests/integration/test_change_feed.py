"""The live change feed: paging, WebSocket delivery after commit, resume, and two instances."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support import Service, running_service

ALEX = "alex.morgan@example.com"
AGENT = "agent@portal.example"


def morgan(service: Service) -> str:
    return service.sql("SELECT id FROM accounts WHERE name='Morgan household'")[0][0]


async def recv_json(ws: Any, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def read_until_ready(ws: Any) -> list[dict[str, Any]]:
    events = []
    while True:
        msg = await recv_json(ws)
        if msg["type"] == "ready":
            return events
        events.append(msg["event"])


def token(service: Service, email: str) -> str:
    return service.sign_in(email)["access_token"]


def test_events_page_through_the_account_log(service: Service) -> None:
    account = morgan(service)
    with service.authed(ALEX) as c:
        first = c.get(f"/accounts/{account}/events", params={"since": 0, "limit": 5}).json()
        assert len(first["events"]) == 5 and first["has_more"]
        rest = c.get(
            f"/accounts/{account}/events", params={"since": first["next_since"], "limit": 500}
        ).json()
        assert not rest["has_more"]
        seqs = [e["seq"] for e in first["events"] + rest["events"]]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert all(e["account_id"] == account for e in first["events"] + rest["events"])
        assert first["events"][0]["action"] == "account.created"
        bad = c.get(f"/accounts/{account}/events", params={"limit": 0})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "limit"


@pytest.mark.asyncio
async def test_subscriber_receives_events_committed_by_another_request_and_resumes(service: Service) -> None:
    account = morgan(service)
    alex = await asyncio.to_thread(token, service, ALEX)
    agent = await asyncio.to_thread(token, service, AGENT)
    headers = {"Authorization": f"Bearer {alex}"}
    url = service.ws_url(f"/accounts/{account}/events/live?since=0")
    async with websockets.connect(url, additional_headers=headers) as ws:
        backlog = await read_until_ready(ws)
        assert backlog[0]["action"] == "account.created"
        last_seq = backlog[-1]["seq"]
        # When the agent opens the account (another client, another request)...
        async with httpx.AsyncClient(base_url=service.url + "/api/v1") as c:
            r = await c.get(f"/accounts/{account}", headers={"Authorization": f"Bearer {agent}"})
            assert r.status_code == 200
        # ...the customer's subscriber gets the event at once.
        live = (await recv_json(ws))["event"]
        assert live["action"] == "account.viewed" and live["actor_role"] == "agent"
        assert live["seq"] > last_seq
        last_seq = live["seq"]
    # While disconnected, two more changes happen.
    async with httpx.AsyncClient(
        base_url=service.url + "/api/v1", headers={"Authorization": f"Bearer {agent}"}
    ) as c:
        await c.get(f"/accounts/{account}")
        holder = (await c.get(f"/accounts/{account}")).json()["holders"][0]["id"]
        await c.patch(f"/accounts/{account}/holders/{holder}", json={"phone": "+1 312 555 0111"})
    async with websockets.connect(
        service.ws_url(f"/accounts/{account}/events/live?since={last_seq}"), additional_headers=headers
    ) as ws:
        missed = await read_until_ready(ws)
    assert [e["action"] for e in missed] == ["account.viewed", "account.viewed", "holder.contact_updated"]
    assert all(e["seq"] > last_seq for e in missed)


@pytest.mark.asyncio
async def test_live_feed_refuses_bad_tokens_and_other_accounts(service: Service) -> None:
    shah = service.sql("SELECT id FROM accounts WHERE name='Shah household'")[0][0]
    alex = await asyncio.to_thread(token, service, ALEX)
    for headers, code in (
        ({}, 4401),
        ({"Authorization": "Bearer forged"}, 4401),
        ({"Authorization": f"Bearer {alex}"}, 4404),
    ):
        async with websockets.connect(
            service.ws_url(f"/accounts/{shah}/events/live"), additional_headers=headers
        ) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await recv_json(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code


@pytest.mark.asyncio
@pytest.mark.postgres
async def test_two_instances_on_postgresql_deliver_each_others_events(pg_url: str, tmp_path: Path) -> None:
    # A 60 s safety poll: only the NOTIFY wake-up can deliver within the 3 s asserted below.
    opts = {"jwt_secret": "shared-secret-" + "y" * 40, "feed_poll_seconds": 60.0}
    with (
        running_service(pg_url, tmp_path / "a", **opts) as a,
        running_service(pg_url, tmp_path / "b", seed=False, **opts) as b,
    ):
        account = morgan(a)
        alex = await asyncio.to_thread(token, a, ALEX)
        agent = await asyncio.to_thread(token, b, AGENT)
        async with websockets.connect(
            a.ws_url(f"/accounts/{account}/events/live?since=0"),
            additional_headers={"Authorization": f"Bearer {alex}"},
        ) as ws:
            await read_until_ready(ws)
            # The write lands on instance B; the subscriber is on instance A.
            async with httpx.AsyncClient(
                base_url=b.url + "/api/v1", headers={"Authorization": f"Bearer {agent}"}
            ) as c:
                holder = (await c.get(f"/accounts/{account}")).json()["holders"][0]["id"]
                await c.patch(f"/accounts/{account}/holders/{holder}", json={"phone": "+1 312 555 0123"})
            got = [(await recv_json(ws, timeout=3))["event"]["action"] for _ in range(2)]
        assert got == ["account.viewed", "holder.contact_updated"]
