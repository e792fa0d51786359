"""Overdue claim steps are flagged to staff (a service of its own: the test moves its clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support import Service


def test_overdue_steps_are_flagged_to_staff_not_customers(service: Service) -> None:
    with service.authed("alex.morgan@example.com") as alex:
        account = alex.get("/me").json()["accounts"][0]["id"]
        overview = alex.get(f"/accounts/{account}").json()
        policy = next(p for p in overview["policies"] if p["product_line"] == "home")
        claim = alex.post(
            "/claims",
            json={
                "account_id": account,
                "policy_id": policy["id"],
                "loss_type": "weather",
                "loss_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
                "location": "1840 W Roscoe St, Chicago",
                "description": "Hail broke two skylights and dented the gutters.",
            },
        ).json()
    # When a week passes with nobody acknowledging it
    service.clock.advance(timedelta(days=7))
    with service.authed("agent@portal.example") as agent:
        queue = agent.get("/claims/queue").json()["claims"]
        mine = next(c for c in queue if c["id"] == claim["id"])
        # Then staff see both steps overdue, and overdue claims first
        assert mine["overdue"] is True
        assert [s["overdue"] for s in mine["sla"]] == [True, True]
        assert queue[0]["overdue"] is True
        only = agent.get("/claims/queue", params={"overdue_only": "true"}).json()["claims"]
        assert claim["id"] in [c["id"] for c in only] and all(c["overdue"] for c in only)
        # And acknowledging late is recorded as late, no longer overdue
        acked = agent.post(f"/claims/{claim['id']}/transitions", json={"action": "acknowledge"}).json()
        assert acked["sla"][0]["late"] is True and acked["sla"][0]["overdue"] is False
    with service.authed("alex.morgan@example.com") as alex:
        seen = alex.get(f"/claims/{claim['id']}").json()
        assert seen["overdue"] is False  # customers see promised dates, not our lateness flag
