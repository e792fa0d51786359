"""Presence on the live feed: the customer sees staff with their account open and vice versa,
on one instance and across two instances sharing PostgreSQL; supervisors see who views what."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets

from services.presence.models import PresenceSession
from tests.staff_support import client
from tests.staff_support import token as cached_token
from tests.support import Service, running_service

ALEX, AGENT, SUPERVISOR = "alex.morgan@example.com", "agent@portal.example", "supervisor@portal.example"


def morgan(service: Service) -> str:
    return service.sql("SELECT id FROM accounts WHERE name='Morgan household'")[0][0]


async def token(service: Service, email: str) -> str:
    return await asyncio.to_thread(cached_token, service, email)


async def connect(service: Service, account: str, tok: str) -> Any:
    ws = await websockets.connect(
        service.ws_url(f"/accounts/{account}/events/live?since=0&presence=true"),
        additional_headers={"Authorization": f"Bearer {tok}"},
    )
    while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "ready":
        pass
    return ws


async def presence_until(ws: Any, wanted: set[str], timeout: float = 5.0) -> list[dict[str, Any]]:
    """Read messages until a presence list naming exactly `wanted` arrives."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time())))
        if msg["type"] == "presence" and {v["name"] for v in msg["viewers"]} == wanted:
            return msg["viewers"]


@pytest.mark.asyncio
async def test_customer_and_agent_see_each_other_and_leaving_is_seen(service: Service) -> None:
    account = morgan(service)
    alex_ws = await connect(service, account, await token(service, ALEX))
    try:
        # The customer alone: they are the only viewer.
        alone = await presence_until(alex_ws, {"Alex Morgan"})
        assert alone[0]["role"] == "policyholder" and alone[0]["channel"] == "portal"
        # When the agent opens the account, both sides learn it at once.
        agent_ws = await connect(service, account, await token(service, AGENT))
        seen_by_agent = await presence_until(agent_ws, {"Alex Morgan", "Sam Rivera"})
        assert {v["role"] for v in seen_by_agent} == {"policyholder", "agent"}
        await presence_until(alex_ws, {"Alex Morgan", "Sam Rivera"})
        # The supervisor's list shows the account, the agent and that the customer is online.
        with client(service, SUPERVISOR) as sup:
            listed = sup.get("/staff/open-accounts").json()["accounts"]
        assert [(a["account_name"], a["customer_online"]) for a in listed] == [("Morgan household", True)]
        assert [s["name"] for s in listed[0]["staff"]] == ["Sam Rivera"]
        # When the agent closes the account, the customer sees them go.
        await agent_ws.close()
        await presence_until(alex_ws, {"Alex Morgan"})
        with client(service, SUPERVISOR) as sup:
            assert sup.get("/staff/open-accounts").json()["accounts"] == []
    finally:
        await alex_ws.close()
    # Presence is not a change to the account: nothing about it is on the trail.
    assert service.sql("SELECT count(*) FROM audit_events WHERE action LIKE 'presence%'")[0][0] == 0
    await asyncio.sleep(0.2)
    assert service.sql("SELECT count(*) FROM presence_sessions")[0][0] == 0


@pytest.mark.asyncio
async def test_stale_presence_of_a_dead_connection_is_ignored(service: Service) -> None:
    account = morgan(service)
    alex_ws = await connect(service, account, await token(service, ALEX))
    try:
        await presence_until(alex_ws, {"Alex Morgan"})
        # A row left behind by a crashed instance (no heartbeat for minutes) does not count.
        long_ago = service.clock.now() - timedelta(minutes=5)
        with service.container.db.write() as session:
            session.add(
                PresenceSession(
                    id="prs_dead",
                    account_id=account,
                    user_id="usr_ghost",
                    user_name="Ghost Agent",
                    role="agent",
                    channel="agent",
                    instance_id="ins_dead",
                    connected_at=long_ago,
                    last_seen_at=long_ago,
                )
            )
        agent_ws = await connect(service, account, await token(service, AGENT))
        viewers = await presence_until(agent_ws, {"Alex Morgan", "Sam Rivera"}, timeout=5)
        assert "Ghost Agent" not in {v["name"] for v in viewers}
        await agent_ws.close()
    finally:
        await alex_ws.close()


@pytest.mark.asyncio
@pytest.mark.postgres
async def test_presence_crosses_instances_sharing_postgresql(pg_url: str, tmp_path: Path) -> None:
    # A 60 s safety poll: only the NOTIFY can carry presence across within the waits below.
    opts = {"jwt_secret": "shared-secret-" + "z" * 40, "feed_poll_seconds": 60.0}
    with (
        running_service(pg_url, tmp_path / "a", **opts) as a,
        running_service(pg_url, tmp_path / "b", seed=False, **opts) as b,
    ):
        account = morgan(a)
        alex_ws = await connect(a, account, await token(a, ALEX))
        try:
            await presence_until(alex_ws, {"Alex Morgan"})
            # The agent connects to instance B; the customer, on instance A, sees them arrive...
            agent_ws = await connect(b, account, await token(b, AGENT))
            await presence_until(agent_ws, {"Alex Morgan", "Sam Rivera"}, timeout=3)
            await presence_until(alex_ws, {"Alex Morgan", "Sam Rivera"}, timeout=3)
            # ...and leave.
            await agent_ws.close()
            await presence_until(alex_ws, {"Alex Morgan"}, timeout=3)
        finally:
            await alex_ws.close()
