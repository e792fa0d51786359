"""A policyholder's day, on a real X server against a real service with localstripe (issue 14).

Alex signs in, pays with the Visa ending 4242 and sees the receipt in view, adds the card ending
0341 and is declined with it (the reason in view, gone once another card is chosen), schedules a
payment by picking the date in the calendar, files a claim with a photo (a text file is refused at
once), raises a complaint, signs out and signs in as the other household (Priya).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QTableView, QWidget

from services.payments.localstripe import LocalStripe
from tests.claims_samples import jpeg
from tests.journeys.driver import launch, sign_in, sign_out
from tests.payments_support import ALEX, DECLINE_AT_CHARGE, PRIYA, payments_service, run_jobs
from tests.support import Service
from tests.ui.conftest import WAIT_MS
from ui.account_view import PAGES
from ui.formatting import day

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def pay_service(tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("journey-payments")
    with payments_service(f"sqlite:///{folder / 'portal.sqlite3'}", folder, localstripe) as svc:
        run_jobs(svc)  # the demo household's Visa ending 4242 and autopay
        yield svc


def in_view(page: Any, widget: QWidget) -> bool:
    """The widget is on screen inside the page's scroll area (not scrolled away, not hidden)."""
    if not widget.isVisible():
        return False
    viewport = page.viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    return viewport.rect().intersects(widget.rect().translated(top_left))


def go_to(qtbot: Any, view: Any, key: str) -> Any:
    """Click the page in the navigation."""
    index = [k for k, *_ in PAGES].index(key)
    nav = view.nav
    rect = nav.visualItemRect(nav.item(index))
    qtbot.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: view.current_page() == key, timeout=WAIT_MS)
    return view.pages[key]


def choose(qtbot: Any, combo: QComboBox, wanted: str) -> None:
    """Open the drop-down and click the item whose text contains `wanted`."""
    index = next(i for i in range(combo.count()) if wanted in combo.itemText(i))
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)
    popup = combo.view()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT_MS)
    qtbot.wait(QApplication.doubleClickInterval() + 100)  # a combo ignores a release just after opening
    # Every item is there to be seen and clicked (the popup used to hide the second one)
    rect = popup.visualRect(combo.model().index(index, 0))
    assert popup.viewport().rect().contains(rect), f"item {index} of {combo.accessibleName()} is hidden"
    qtbot.mouseClick(popup.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not popup.isVisible(), timeout=WAIT_MS)
    assert combo.currentIndex() == index


def type_text(widget: QWidget, text: str) -> None:
    widget.setFocus()
    if isinstance(widget, QLineEdit):
        widget.selectAll()
    QTest.keyClicks(widget, text)


def pick_in_calendar(qtbot: Any, edit: Any, target: QDate) -> None:
    """Open the date field's calendar, go to the month, click the day."""
    # Click the drop-down arrow at the right end of the field
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton, pos=QPoint(edit.width() - 14, edit.height() // 2))
    calendar = edit.calendarWidget()
    qtbot.waitUntil(calendar.isVisible, timeout=WAIT_MS)
    while (calendar.yearShown(), calendar.monthShown()) < (target.year(), target.month()):
        qtbot.mouseClick(calendar.findChild(QWidget, "qt_calendar_nextmonth"), Qt.MouseButton.LeftButton)
    table = calendar.findChild(QTableView)
    model = table.model()
    # Two-digit days are drawn in full: every cell wide enough for "28"
    assert table.columnWidth(1) > table.fontMetrics().horizontalAdvance("28")
    # The weekday row is there
    header = [str(model.data(model.index(0, c))) for c in range(model.columnCount())]
    assert "Mon" in header and "Sun" in header
    cell = next(
        model.index(r, c)
        for r in range(1, model.rowCount())
        for c in range(model.columnCount())
        if str(model.data(model.index(r, c))) == str(target.day())
        and not (r == 1 and target.day() > 20)  # the previous month's tail
        and not (r >= 5 and target.day() < 15)  # the next month's head
    )
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualRect(cell).center())
    qtbot.waitUntil(lambda: edit.date() == target and not calendar.isVisible(), timeout=WAIT_MS)


def test_a_policyholder_pays_schedules_claims_complains_and_hands_over(
    qtbot: Any, make_app: Any, pay_service: Service, tmp_path: Path, journey_log: Any
) -> None:
    running = launch(qtbot, make_app, pay_service.url, tmp_path)
    main = sign_in(qtbot, running, ALEX)
    main.resize(1366, 850)
    view = main.account_view

    # --- pay with the Visa ending 4242: the receipt is in view --------------------------------
    page = go_to(qtbot, view, "payments")
    qtbot.waitUntil(lambda: page.data is not None and page._busy == 0, timeout=WAIT_MS)
    assert not page.pay_form.no_card_hint.isVisible()  # a card is saved: no "add a card" hint
    home = next(p for p in page.data.policies if p.number.startswith("HOM"))
    choose(qtbot, page.pay_policy, home.number)
    choose(qtbot, page.pay_card, "4242")
    type_text(page.pay_amount, "12.34")
    qtbot.mouseClick(page.pay_button, Qt.MouseButton.LeftButton)
    assert page.confirm_panel.isVisible() and "$12.34" in page.confirm_text.text()
    with qtbot.waitSignal(page.actionFinished, timeout=WAIT_MS) as paid:
        qtbot.mouseClick(page.confirm_button, Qt.MouseButton.LeftButton)
    assert paid.args == ["paid"]
    success = page.findChild(QWidget, "PaySuccess")
    qtbot.waitUntil(lambda: in_view(page, success), timeout=WAIT_MS)
    assert "$12.34 paid" in success.text()
    qtbot.waitUntil(lambda: main.focusWidget() is page.findChild(QWidget, "SaveReceiptButton"))

    # --- add the card ending 0341, typed as a person types it ---------------------------------
    type_text(page.card_number, DECLINE_AT_CHARGE)
    assert page.card_number.text() == "4000 0000 0000 0341"
    type_text(page.card_expiry, "1229")
    assert page.card_expiry.text() == "12/29"
    type_text(page.card_cvc, "123")
    with qtbot.waitSignal(page.actionFinished, timeout=WAIT_MS) as added:
        qtbot.mouseClick(page.add_card_button, Qt.MouseButton.LeftButton)
    assert added.args == ["card_added"]
    qtbot.waitUntil(lambda: in_view(page, page.cards.added_note), timeout=WAIT_MS)

    # --- declined with 0341: why, in view; gone once a good card is chosen --------------------
    page.ensureWidgetVisible(page.pay_card)
    choose(qtbot, page.pay_card, "0341")
    type_text(page.pay_amount, "5")
    qtbot.mouseClick(page.pay_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(page.actionFinished, timeout=WAIT_MS) as declined:
        qtbot.mouseClick(page.confirm_button, Qt.MouseButton.LeftButton)
    assert declined.args == ["payment.card_declined"]
    qtbot.waitUntil(lambda: in_view(page, page.card_error), timeout=WAIT_MS)
    assert "declined" in page.card_error.text()
    choose(qtbot, page.pay_card, "4242")
    assert not page.card_error.isVisible()

    # --- schedule a payment, the date picked in the calendar -----------------------------------
    today = home.today
    assert today is not None
    target = QDate(today.year, today.month, 1).addMonths(1).addDays(14)  # the 15th of next month
    pick_in_calendar(qtbot, page.pay_date, target)
    type_text(page.pay_amount, "465")
    with qtbot.waitSignal(page.actionFinished, timeout=WAIT_MS) as scheduled:
        qtbot.mouseClick(page.schedule_button, Qt.MouseButton.LeftButton)
    assert scheduled.args == ["scheduled"]
    confirmation = page.findChild(QWidget, "ScheduleSuccess")
    qtbot.waitUntil(lambda: in_view(page, confirmation), timeout=WAIT_MS)
    when = day(target.toPython())
    assert "$465.00" in confirmation.text() and when in confirmation.text()
    row = next(s for s in page.data.scheduled if s.status == "scheduled" and s.amount_minor == 46500)
    amount = page.findChild(QLineEdit, f"amount-{row.id}")
    assert amount.text() == "465.00"
    # The whole amount fits in its field (it read "65.00")
    assert amount.fontMetrics().horizontalAdvance(amount.text()) < amount.contentsRect().width() - 16
    assert any(h.kind == "installment" for h in page.data.history)  # paid installments are listed

    # --- file a claim with a photo; a text file is refused when added --------------------------
    claims = go_to(qtbot, view, "claims")
    qtbot.waitUntil(lambda: claims.loaded, timeout=WAIT_MS)
    qtbot.mouseClick(claims.file_button, Qt.MouseButton.LeftButton)
    form = claims.form
    choose(qtbot, form.policy, "AUT-")
    type_text(form.vehicle, "2021 Subaru Outback")
    choose(qtbot, form.loss_type, "ollision")
    form.loss_at.setDateTime(form.loss_at.dateTime().addSecs(-2 * 3600))
    type_text(form.location, "N Ashland Ave & W Belmont Ave, Chicago")
    type_text(form.description, "Rear-ended at a red light; bumper and tailgate damaged.")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    photo = tmp_path / "bumper.jpg"
    photo.write_bytes(jpeg(1600, 1200))
    form.add_photos([notes, photo])  # what the drop area / file dialog hands over
    qtbot.waitUntil(lambda: form.photos == [photo], timeout=WAIT_MS)
    assert form.photo_error.isVisible() and "notes.txt" in form.photo_error.text()
    qtbot.mouseClick(form.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: claims.mode == "detail", timeout=WAIT_MS)
    claim = claims.claim(claims.current_id)
    assert claim is not None and claim.number.startswith("CLM-")
    uploads = claims.uploads
    qtbot.waitUntil(lambda: all(e.state == "done" for e in uploads.for_claim(claim.id)), timeout=60_000)

    # --- raise a complaint ---------------------------------------------------------------------
    cases = go_to(qtbot, view, "cases")
    qtbot.waitUntil(lambda: cases.cases is not None, timeout=WAIT_MS)
    before = len(cases.cases)
    qtbot.mouseClick(cases.new_button, Qt.MouseButton.LeftButton)
    complaint = cases.form
    type_text(complaint.subject, "Scheduled payment reminder came late")
    type_text(complaint.description, "The reminder for my scheduled payment arrived after it was taken.")
    qtbot.mouseClick(complaint.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(cases.cases) == before + 1, timeout=WAIT_MS)

    # --- sign out, and the other household signs in -------------------------------------------
    qtbot.wait(500)  # let the reload our own events trigger start before the window goes
    sign_out(qtbot, running, shortcut=True)
    main = sign_in(qtbot, running, PRIYA)
    assert main.account_view.overview.name != view_name(ALEX)
    assert PRIYA in main.status_text.text()
    sign_out(qtbot, running)
    assert not running.ended
    assert journey_log.tracebacks() == []


def view_name(email: str) -> str:
    return "Morgan household" if "morgan" in email else ""
