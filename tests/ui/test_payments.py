"""The Payments page against a real service and localstripe: pay now with its confirmation and
receipt, inline errors, a card added through Stripe, autopay switched on and off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from services.payments.localstripe import LocalStripe
from tests.payments_support import DECLINE_AT_CHARGE, payments_service, run_jobs
from tests.support import Service
from tests.ui.conftest import PASSWORD
from tests.ui.test_desktop import sign_in, wait_for_overview


@pytest.fixture(scope="module")
def pay_service(tmp_path_factory: pytest.TempPathFactory, localstripe: LocalStripe) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("payments-ui")
    with payments_service(f"sqlite:///{folder / 'portal.sqlite3'}", folder, localstripe) as svc:
        run_jobs(svc)  # the demo household's Visa and autopay
        yield svc


def open_payments(qtbot: Any, make_app: Any, svc: Service, tmp_path: Path, email: str) -> Any:
    app = make_app(svc.url, tmp_path)
    sign_in(qtbot, app, email, PASSWORD)
    view = wait_for_overview(qtbot, app)
    view.show_page("payments")
    page = view.payments_page
    qtbot.waitUntil(lambda: page.data is not None and page._busy == 0, timeout=20_000)
    qtbot.wait(600)  # the overview reload the sign-in's own events trigger
    qtbot.waitUntil(lambda: page._busy == 0, timeout=20_000)
    page.receipts_dir = tmp_path / "receipts"
    return page


def test_pay_now_asks_for_confirmation_then_shows_the_receipt(
    qtbot: Any, make_app: Any, pay_service: Service, tmp_path: Path
) -> None:
    page = open_payments(qtbot, make_app, pay_service, tmp_path, "alex.morgan@example.com")
    home = next(p for p in page.data.policies if p.number.startswith("HOM"))
    page.pay_policy.setCurrentIndex(page.pay_policy.findData(home.policy_id))
    # An amount over the balance is refused inline, before anything is sent
    qtbot.keyClicks(page.pay_amount, "999999")
    qtbot.mouseClick(page.pay_button, Qt.MouseButton.LeftButton)
    assert page.amount_error.isVisible() and not page.confirm_panel.isVisible()
    # A real amount: the confirmation spells it out, and Enter on the focused button pays
    page.pay_amount.clear()
    qtbot.keyClicks(page.pay_amount, "12.34")
    qtbot.mouseClick(page.pay_button, Qt.MouseButton.LeftButton)
    assert page.confirm_panel.isVisible() and "12.34" in page.confirm_text.text()
    with qtbot.waitSignal(page.actionFinished, timeout=20_000) as outcome:
        qtbot.keyClick(page.confirm_button, Qt.Key.Key_Space)
    assert outcome.args == ["paid"]
    assert page.last_payment is not None and page.last_payment.amount_minor == 1234
    qtbot.waitUntil(lambda: any(h.id == page.last_payment.id for h in page.data.history), timeout=10_000)
    after = next(p for p in page.data.policies if p.policy_id == home.policy_id)
    assert after.balance_minor == home.balance_minor - 1234
    # The receipt saves as a PDF
    with qtbot.waitSignal(page.actionFinished, timeout=20_000) as saved:
        page.save_receipt(page.last_payment.id, page.last_payment.receipt_number)
    path = Path(saved.args[0].split(":", 1)[1])
    assert path.read_bytes().startswith(b"%PDF")
    qtbot.waitUntil(lambda: page._busy == 0, timeout=10_000)


def test_a_declined_card_and_a_bad_card_number_get_inline_messages(
    qtbot: Any, make_app: Any, pay_service: Service, tmp_path: Path
) -> None:
    page = open_payments(qtbot, make_app, pay_service, tmp_path, "alex.morgan@example.com")
    # Client-side check: too short to be a card number, nothing leaves the app
    qtbot.keyClicks(page.card_number, "4242")
    qtbot.keyClicks(page.card_expiry, "12/31")
    qtbot.keyClicks(page.card_cvc, "123")
    page.add_card()
    qtbot.waitUntil(page.number_error.isVisible, timeout=5_000)
    # A card that saves but is declined when charged
    page.card_number.clear()
    qtbot.keyClicks(page.card_number, DECLINE_AT_CHARGE)
    with qtbot.waitSignal(page.actionFinished, timeout=20_000) as added:
        qtbot.keyClick(page.card_cvc, Qt.Key.Key_Return)
    assert added.args == ["card_added"]
    qtbot.waitUntil(lambda: any(m.last4 == "0341" for m in page.data.methods), timeout=10_000)
    page.pay_card.setCurrentIndex(next(i for i, m in enumerate(page.data.methods) if m.last4 == "0341"))
    page.pay_full.setChecked(False)
    qtbot.keyClicks(page.pay_amount, "5")
    qtbot.mouseClick(page.pay_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(page.actionFinished, timeout=20_000) as declined:
        qtbot.mouseClick(page.confirm_button, Qt.MouseButton.LeftButton)
    assert declined.args == ["payment.card_declined"]
    assert page.card_error.isVisible() and "declined" in page.card_error.text()
    qtbot.waitUntil(lambda: page._busy == 0, timeout=10_000)


def test_autopay_switch_shows_the_terms_and_can_be_turned_off(
    qtbot: Any, make_app: Any, pay_service: Service, tmp_path: Path
) -> None:
    page = open_payments(qtbot, make_app, pay_service, tmp_path, "alex.morgan@example.com")
    home = next(p for p in page.data.policies if p.number.startswith("HOM"))
    switch = page.findChild(object, f"autopay-{home.number}")
    assert switch is not None and not switch.isChecked()
    card = page.billing_card(home.number)
    height = card.height()
    switch.setChecked(True)
    # The mandate is not agreed yet: the box stays clear and the card keeps its layout
    assert not switch.isChecked()
    qtbot.waitUntil(lambda: card.dialog is not None and card.dialog.isVisible(), timeout=5_000)
    assert card.height() == height
    terms = card.dialog.findChild(object, f"terms-{home.number}")
    agreed_text = terms.text()
    assert "ending" in agreed_text and home.number in agreed_text
    with qtbot.waitSignal(page.actionFinished, timeout=20_000) as on:
        qtbot.mouseClick(card.dialog.findChild(object, f"agree-{home.number}"), Qt.MouseButton.LeftButton)
    assert on.args == ["autopay_on"]
    stored = pay_service.sql(
        "SELECT authorization_text FROM autopay_enrollments WHERE policy_id = :p", p=home.policy_id
    )
    assert stored[0][0] == agreed_text
    switch = page.findChild(object, f"autopay-{home.number}")
    assert switch.isChecked()  # ticked now that the service recorded the agreement
    with qtbot.waitSignal(page.actionFinished, timeout=20_000) as off:
        switch.setChecked(False)
    assert off.args == ["autopay_off"]
    status = pay_service.sql("SELECT status FROM autopay_enrollments WHERE policy_id = :p", p=home.policy_id)
    assert status[0][0] == "off"
    qtbot.waitUntil(lambda: page._busy == 0, timeout=10_000)


def test_card_fields_format_as_typed() -> None:
    from ui.pages.payments.cards import format_expiry, group_card_number, parse_expiry

    assert group_card_number("4242424242424242") == "4242 4242 4242 4242"
    assert format_expiry("1229") == "12/29" and parse_expiry("1229") == (12, 2029)
    assert format_expiry("4") == "04" and parse_expiry("13/29") is None


def test_money_is_grouped_in_every_locale() -> None:
    from PySide6.QtCore import QLocale

    from ui.formatting import money, parse_amount

    previous = QLocale()
    QLocale.setDefault(QLocale.c())  # the locale that printed "$1240.00"
    try:
        assert money(124000, "USD") == "$1,240.00"
        assert parse_amount("$1,240.00") == 124000
    finally:
        QLocale.setDefault(previous)
