"""The live feed's connection cut (again and again) during a burst of events, seen through the
real PortalClient: afterwards it has every event exactly once, in order, and it said so on the way
(live -> reconnecting -> live) without anyone restarting it."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest

from portal_app.client import PortalClient
from portal_app.client.client import LiveState
from services.demo import DEMO_PASSWORD
from tests.support import Service

ALEX = "alex.morgan@example.com"
BURST = 150
CUTS = 3


class CuttableProxy:
    """A TCP proxy on loopback whose connections the test can cut, and keep cut for a while."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.refusing = False
        self.conns: set[asyncio.StreamWriter] = set()
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.conns |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.conns -= {writer, up_writer}

    def cut(self) -> None:
        """Drop every open connection at once, like a network that went away."""
        for w in list(self.conns):
            w.transport.abort()
        self.conns.clear()

    async def close(self) -> None:
        self.cut()
        if self.server:
            self.server.close()
            await self.server.wait_closed()


@pytest.mark.asyncio
@pytest.mark.timeout(300)
async def test_feed_cut_during_a_burst_loses_and_repeats_nothing(service: Service) -> None:
    upstream = int(service.url.rsplit(":", 1)[1])
    proxy = CuttableProxy(upstream)
    await proxy.start()
    client = PortalClient(f"http://127.0.0.1:{proxy.port}")
    account = service.sql("SELECT id FROM accounts WHERE name = 'Morgan household'")[0][0]
    start_seq = int(
        service.sql("SELECT coalesce(max(seq), 0) FROM audit_events WHERE account_id = :a", a=account)[0][0]
    )
    states: list[LiveState] = []
    got: list[int] = []
    try:
        await client.sign_in(ALEX, DEMO_PASSWORD)

        async def consume() -> None:
            async for event in client.live_events(
                account, start_seq, on_state=states.append, max_backoff=1.0
            ):
                got.append(event.seq)

        consumer = asyncio.create_task(consume())
        while LiveState.LIVE not in states:
            await asyncio.sleep(0.05)

        # Given a burst of changes on the account (an agent opening it, straight to the service)
        def burst() -> None:
            with service.authed("agent@portal.example") as agent:
                for _ in range(BURST):
                    assert agent.get(f"/accounts/{account}").status_code == 200

        writer = threading.Thread(target=burst)
        writer.start()
        # When the feed's connection is cut several times mid-burst, once kept down for a while
        for n in range(CUTS):
            await asyncio.sleep(0.7)
            proxy.refusing = n == 1
            proxy.cut()
            if n == 1:
                await asyncio.sleep(2.5)  # long enough for the client to say "reconnecting"
                proxy.refusing = False
        await asyncio.to_thread(writer.join)
        expected = [
            int(r[0])
            for r in service.sql(
                "SELECT seq FROM audit_events WHERE account_id = :a AND seq > :s ORDER BY seq",
                a=account,
                s=start_seq,
            )
        ]
        # Then, on its own, the client catches up to everything that was committed
        for _ in range(300):
            if len(got) >= len(expected):
                break
            await asyncio.sleep(0.1)
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    finally:
        await client.aclose()
        await proxy.close()

    print(
        f"\nfeed cut {CUTS} times during {BURST} changes: {len(got)} events received, "
        f"{len(expected)} committed, states {[s.value for s in states]}"
    )
    assert len(expected) >= BURST
    assert got == expected, "every event exactly once, in order"
    assert LiveState.RECONNECTING in states
    assert states[-1] is LiveState.LIVE, "it came back to live by itself"
    assert states.count(LiveState.LIVE) >= 2
