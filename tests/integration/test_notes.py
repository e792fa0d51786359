"""Internal notes: staff add and read them, each on the trail; customers never see them."""

from __future__ import annotations

import hashlib

from tests.staff_support import client
from tests.support import Service

AGENT, SUPERVISOR, ALEX = "agent@portal.example", "supervisor@portal.example", "alex.morgan@example.com"


def morgan(service: Service) -> str:
    return service.sql("SELECT id FROM accounts WHERE name='Morgan household'")[0][0]


def test_agent_adds_a_note_that_is_audited_and_hidden_from_the_customer(module_service: Service) -> None:
    account = morgan(module_service)
    alex_holder = module_service.sql("SELECT id FROM account_holders WHERE full_name='Alex Morgan'")[0][0]
    body = "Customer called about the bumper; promised a call back from the adjuster by Friday."
    # When the agent adds a note
    with client(module_service, AGENT) as agent:
        r = agent.post(f"/accounts/{account}/notes", json={"body": f"  {body}  "})
        assert r.status_code == 201, r.text
        note = r.json()
        assert note["body"] == body and note["author_name"] == "Sam Rivera" and note["channel"] == "agent"
    # Then every staff member sees it, newest first
    with client(module_service, SUPERVISOR) as sup:
        sup.post(f"/accounts/{account}/notes", json={"body": "Escalation not needed."})
        listed = sup.get(f"/accounts/{account}/notes").json()["notes"]
    assert [n["body"] for n in listed[:2]] == ["Escalation not needed.", body]
    # And the trail holds the note as done for the customer, with the text's hash, not the text
    row = module_service.sql(
        "SELECT actor_role, channel, on_behalf_of, entity_id, after FROM audit_events "
        "WHERE action='note.added' AND entity_id=:n",
        n=note["id"],
    )[0]
    after = row[4] if isinstance(row[4], dict) else __import__("json").loads(row[4])
    assert row[:4] == ("agent", "agent", alex_holder, note["id"])
    assert after == {"chars": len(body), "sha256": hashlib.sha256(body.encode()).hexdigest()}
    # But the customer neither reads the notes nor sees the note events in their log
    with client(module_service, ALEX) as alex:
        refused = alex.get(f"/accounts/{account}/notes")
        assert refused.status_code == 403 and refused.json()["code"] == "auth.forbidden"
        add = alex.post(f"/accounts/{account}/notes", json={"body": "I am staff now"})
        assert add.status_code == 403 and add.json()["code"] == "auth.forbidden"
        log = alex.get(f"/accounts/{account}/events", params={"limit": 500}).json()["events"]
        assert log and not any(e["action"].startswith("note.") for e in log)
    with client(module_service, AGENT) as agent:
        log = agent.get(f"/accounts/{account}/events", params={"limit": 500}).json()["events"]
        assert sum(e["action"] == "note.added" for e in log) >= 2


def test_bad_notes_are_refused_and_nothing_is_written(module_service: Service) -> None:
    account = morgan(module_service)
    count = (
        "SELECT (SELECT count(*) FROM account_notes), "
        "(SELECT count(*) FROM audit_events WHERE action='note.added')"
    )
    before = module_service.sql(count)[0]
    with client(module_service, AGENT) as agent:
        empty = agent.post(f"/accounts/{account}/notes", json={"body": "   "})
        assert empty.status_code == 422 and empty.json()["code"] == "note.empty"
        assert empty.json()["errors"][0]["field"] == "body"
        long = agent.post(f"/accounts/{account}/notes", json={"body": "x" * 2001})
        assert long.status_code == 422 and long.json()["code"] == "note.too_long"
        unknown = agent.post(f"/accounts/{account}/notes", json={"body": "ok", "author": "someone else"})
        assert unknown.status_code == 422
        missing = agent.post("/accounts/acc_nope/notes", json={"body": "ok"})
        assert missing.status_code == 404 and missing.json()["code"] == "account.not_found"
    assert module_service.sql(count)[0] == before
