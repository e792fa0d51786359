"""The Claims page against a real embedded service: file with photos, drafts, uploads, answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import QLabel, QPushButton

from portal_app.client import PortalClient
from tests import claims_samples as samples
from tests.ui.conftest import PASSWORD, run
from ui.app import PortalApp
from ui.claims_state import UploadEntry, UploadJournal

ALEX = "alex.morgan@example.com"


def _open_claims(qtbot: Any, app: PortalApp, email: str = ALEX) -> Any:
    app.start()
    # A kept session (an earlier run in the same test) opens the account without signing in.
    qtbot.waitUntil(
        lambda: (
            (app.sign_in_window is not None and app.sign_in_window.isVisible()) or app.main_window is not None
        ),
        timeout=30_000,
    )
    if app.main_window is None:
        window = app.sign_in_window
        assert window is not None
        window.email.setText(email)
        window.password.setText(PASSWORD)
        qtbot.mouseClick(window.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: app.main_window is not None and app.main_window.account_view is not None, timeout=30_000
    )
    view = app.main_window.account_view  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: view.overview is not None, timeout=30_000)
    view.show_page("claims")
    page = view.claims_page
    qtbot.waitUntil(lambda: page.loaded, timeout=20_000)
    return page


def _settle(qtbot: Any, page: Any) -> None:
    """Let reloads triggered by our own live events finish before the app is shut down: an
    AccountView reload still in flight at shutdown reports into deleted widgets (see the note)."""
    view = page.parentWidget()
    while view is not None and not hasattr(view, "_reload_timer"):
        view = view.parentWidget()
    qtbot.wait(600)

    def quiet() -> bool:
        pages_idle = all(getattr(p, "_busy", 0) == 0 for p in view.pages.values())
        return not view._reload_timer.isActive() and view._busy == 0 and pages_idle

    qtbot.waitUntil(quiet, timeout=20_000)
    qtbot.wait(300)
    qtbot.waitUntil(quiet, timeout=20_000)


def _fill(form: Any) -> None:
    form.policy.setCurrentIndex(form.policy.findText("Auto insurance · AUT-100234"))
    form.vehicle.setText("2021 Subaru Outback")
    form.loss_type.setCurrentIndex(form.loss_type.findData("collision"))
    form.loss_at.setDateTime(form.loss_at.dateTime().addSecs(-2 * 3600))
    form.location.setText("N Ashland Ave & W Belmont Ave, Chicago")
    form.description.setPlainText("Rear-ended at a red light; bumper and tailgate damaged.")


def _photos(folder: Path, count: int, size: tuple[int, int] = (1600, 1200)) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"damage-{i + 1}.jpg"
        path.write_bytes(samples.jpeg(*size))
        paths.append(path)
    return paths


def test_file_a_claim_with_two_photos_and_watch_the_uploads_finish(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    # Given Alex on the claim form with two photos attached
    app = make_app(service_url, tmp_path)
    page = _open_claims(qtbot, app)
    qtbot.mouseClick(page.file_button, Qt.MouseButton.LeftButton)
    assert page.mode == "form"
    form = page.form
    _fill(form)
    form.add_photos(_photos(tmp_path, 2, (3000, 2000)))
    qtbot.waitUntil(lambda: len(form.photos) == 2, timeout=5_000)  # checked off the GUI thread
    assert [p.name for p in form.photos] == ["damage-1.jpg", "damage-2.jpg"]
    seen: dict[str, int] = {}

    def watch(key: str) -> None:
        entry = page.uploads.entries[key]
        for row in page.upload_row_widgets():
            if row.key == key:
                seen[entry.name] = max(seen.get(entry.name, 0), row.progress.value())

    page.uploads.changed.connect(watch)
    # When they submit
    qtbot.mouseClick(form.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.mode == "detail", timeout=20_000)
    claim = page.claim(page.current_id)
    assert claim is not None and claim.number.startswith("CLM-")
    # Then the claim number is shown at once and each photo has its own progress bar
    assert any(claim.number in label.text() for label in page.findChildren(QLabel))
    rows = page.upload_row_widgets()
    assert sorted(r.name.text() for r in rows) == ["damage-1.jpg", "damage-2.jpg"]
    # And both bars run to the end and say "uploaded"
    qtbot.waitUntil(
        lambda: seen.get("damage-1.jpg") == 1000 and seen.get("damage-2.jpg") == 1000, timeout=30_000
    )
    qtbot.waitUntil(lambda: all(e.state == "done" for e in page.uploads.for_claim(claim.id)), timeout=30_000)
    qtbot.waitUntil(
        lambda: all(
            r.progress.value() == 1000 and "uploaded" in r.status.text() for r in page.upload_row_widgets()
        ),
        timeout=10_000,
    )
    # And the service holds both photos, shown as thumbnails from the service
    qtbot.waitUntil(lambda: len(page._photos.get(claim.id, [])) == 2, timeout=20_000)
    assert sorted(p.filename for p in page._photos[claim.id]) == ["damage-1.jpg", "damage-2.jpg"]
    # And the draft is gone: the claim was sent
    assert page.drafts.load() is None
    timeline = page.detail_view.findChild(object, "ClaimTimelineCard")
    assert timeline is not None
    assert "Submitted" in [w.text() for w in timeline.findChildren(QLabel)]
    _settle(qtbot, page)


def test_the_draft_and_its_photos_survive_a_restart(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    # Given Alex typing a claim with a photo attached
    first = make_app(service_url, tmp_path)
    page = _open_claims(qtbot, first)
    page.open_form()
    form = page.form
    _fill(form)
    form.police_report.setText("CPD-26-4411")
    form.injuries.setChecked(True)
    form.injury_details.setPlainText("Whiplash, seen at the ER")
    photo = _photos(tmp_path, 1)[0]
    form.add_photos([photo])
    qtbot.waitUntil(lambda: form.photos == [photo], timeout=5_000)
    qtbot.waitUntil(lambda: bool((page.drafts.load() or {}).get("photos")), timeout=5_000)
    # When the app goes away before they submit (quit, crash: the file is already written)
    _settle(qtbot, page)
    run(qtbot, first.shutdown(), timeout=30_000)
    draft_text = page.drafts.path.read_text()
    refresh = first.client.refresh_token if first.client else None
    assert "CPD-26-4411" in draft_text
    assert PASSWORD not in draft_text and (refresh is None or refresh not in draft_text)
    # Then a new run offers the draft and restores every field and the photo
    second = make_app(service_url, tmp_path)
    page2 = _open_claims(qtbot, second)
    assert any("not sent" in w.text() for w in page2.list_view.findChildren(QLabel))
    page2.open_form()
    form2 = page2.form
    assert form2.policy.currentText() == "Auto insurance · AUT-100234"
    assert form2.vehicle.text() == "2021 Subaru Outback"
    assert form2.loss_type.currentData() == "collision"
    assert form2.location.text() == "N Ashland Ave & W Belmont Ave, Chicago"
    assert form2.police_report.text() == "CPD-26-4411"
    assert form2.injuries.isChecked() and form2.injury_details.toPlainText() == "Whiplash, seen at the ER"
    assert form2.photos == [photo]
    assert "restored" in form2.draft_note.text()
    # And discarding it clears the file
    qtbot.mouseClick(form2.discard_button, Qt.MouseButton.LeftButton)
    assert page2.drafts.load() is None and form2.location.text() == ""
    _settle(qtbot, page2)


def test_inline_errors_without_a_round_trip(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    app = make_app(service_url, tmp_path)
    page = _open_claims(qtbot, app)
    page.open_form()
    form = page.form
    form.policy.setCurrentIndex(form.policy.findText("Auto insurance · AUT-100234"))
    form.loss_at.setDateTime(QDateTime.currentDateTime().addDays(3))
    before = len(page.claims)
    qtbot.mouseClick(form.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(form.errors["vehicle"].isVisible, timeout=5_000)  # submit runs as a task
    for field in ("vehicle", "loss_at", "loss_type", "location", "description"):
        assert form.errors[field].isVisible(), field
    assert "future" in form.errors["loss_at"].text()
    assert form.vehicle.property("invalid") is True
    assert page.mode == "form" and len(page.claims) == before
    # Fixing a field clears its message at once, before any new try
    form.vehicle.setText("2021 Subaru Outback")
    assert not form.errors["vehicle"].isVisible() and form.vehicle.property("invalid") is False
    assert form.errors["location"].isVisible()  # the others are not fixed yet
    # A file that is not a photo is refused when added, not after submit
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    form.add_photos([notes])
    qtbot.waitUntil(form.photo_error.isVisible, timeout=5_000)
    assert "notes.txt" in form.photo_error.text() and form.photos == []
    _fill(form)
    form._set_loss_time(None)  # now, in the policy's time zone (this machine's may differ)
    form.loss_at.setDateTime(form.loss_at.dateTime().addSecs(-3600))
    qtbot.mouseClick(form.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.mode == "detail", timeout=20_000)
    assert not form.errors["vehicle"].isVisible()
    _settle(qtbot, page)


def test_an_upload_interrupted_by_a_crash_comes_back_with_retry(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    # Given a journal left by a run that died while uploading a photo to CLM-700112
    client = PortalClient(service_url)
    run(qtbot, client.sign_in(ALEX, PASSWORD))
    account = client.user.accounts[0].id  # type: ignore[union-attr]
    claim = next(c for c in run(qtbot, client.claims(account)) if c.number == "CLM-700112")
    before = len(run(qtbot, client.claim_photos(claim.id)))
    run(qtbot, client.aclose())
    photo = _photos(tmp_path, 1)[0]
    entry = UploadEntry.new(claim.id, claim.number, photo, photo.stat().st_size)
    entry.state = "uploading"
    UploadJournal(tmp_path / "claims", account).save([entry])
    # When the app starts again and Alex opens that claim
    app = make_app(service_url, tmp_path)
    page = _open_claims(qtbot, app)
    page.open_claim(claim.id)
    rows = page.upload_row_widgets()
    # Then the upload is shown as interrupted, with Retry
    assert len(rows) == 1 and "interrupted" in rows[0].status.text()
    assert rows[0].retry_button.isVisible() and not rows[0].cancel_button.isVisible()
    saved = json.loads(
        (tmp_path / "claims" / UploadJournal(tmp_path / "claims", account).path.name).read_text()
    )
    assert saved[0]["state"] == "uploading"  # nothing rewrote it before the person chose
    # And Retry sends it
    qtbot.mouseClick(rows[0].retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.uploads.entries[entry.key].state == "done", timeout=20_000)
    qtbot.waitUntil(lambda: len(page._photos.get(claim.id, [])) == before + 1, timeout=20_000)
    _settle(qtbot, page)


def test_customer_answers_a_request_for_information_in_the_app(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    # Given a fresh claim of Alex's on which the adjuster asks a question
    app = make_app(service_url, tmp_path)
    page = _open_claims(qtbot, app)
    page.open_form()
    _fill(page.form)
    qtbot.mouseClick(page.form.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.mode == "detail", timeout=20_000)
    claim_id = page.current_id
    agent = PortalClient(service_url)
    run(qtbot, agent.sign_in("agent@portal.example", PASSWORD))
    run(qtbot, agent.move_claim(claim_id, "acknowledge"))
    run(qtbot, agent.move_claim(claim_id, "request_info", note="Which lane were you in?"))
    # Then the open app shows the question without a reload (live feed)
    qtbot.waitUntil(lambda: page.claim(claim_id).status == "info_requested", timeout=20_000)
    qtbot.waitUntil(lambda: hasattr(page, "answer_input") and page.answer_input.isVisible(), timeout=10_000)
    texts = [w.text() for w in page.detail_view.findChildren(QLabel)]
    assert "Which lane were you in?" in texts
    # When Alex answers
    page.answer_input.setPlainText("The left-turn lane.")
    send = next(b for b in page.detail_view.findChildren(QPushButton) if b.text() == "Send answer")
    qtbot.mouseClick(send, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.claim(claim_id).status == "in_review", timeout=20_000)
    seen = run(qtbot, agent.claim(claim_id))
    run(qtbot, agent.aclose())
    assert seen.timeline[-1].kind == "response" and seen.timeline[-1].note == "The left-turn lane."
    _settle(qtbot, page)


def test_cancel_one_of_several_uploads_then_retry_it(
    qtbot: Any, make_app: Any, service_url: str, tmp_path: Path
) -> None:
    # Given four photos added to CLM-700112 at once (three upload, the fourth waits its turn)
    app = make_app(service_url, tmp_path)
    page = _open_claims(qtbot, app)
    claim = next(c for c in page.claims if c.number == "CLM-700112")
    page.open_claim(claim.id)
    entries = page.uploads.add(claim.id, claim.number, _photos(tmp_path, 4, (800, 600)))
    waiting = entries[3]
    assert waiting.state == "queued" and page.uploads.running() == 3

    # When Alex cancels the waiting one and one that has already started
    def row_of(key: str) -> Any:  # rows are rebuilt when live changes arrive: look them up each time
        return next(r for r in page.upload_row_widgets() if r.key == key and r.isVisible())

    row_of(waiting.key).cancel_button.click()
    page.uploads.cancel(entries[0].key)
    # Then both show "cancelled" with Retry, and the others finish
    assert page.uploads.entries[entries[0].key].state == "cancelled"
    qtbot.waitUntil(lambda: page.uploads.running() == 0, timeout=20_000)
    assert [page.uploads.entries[e.key].state for e in entries] == ["cancelled", "done", "done", "cancelled"]
    row = row_of(waiting.key)
    assert "cancelled" in row.status.text() and row.retry_button.isVisible()
    # When they retry the waiting one, it uploads
    qtbot.mouseClick(row.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.uploads.entries[waiting.key].state == "done", timeout=20_000)
    qtbot.waitUntil(
        lambda: (
            {"damage-2.jpg", "damage-3.jpg", "damage-4.jpg"}
            <= {p.filename for p in page._photos.get(claim.id, [])}
        ),
        timeout=20_000,
    )
    _settle(qtbot, page)
