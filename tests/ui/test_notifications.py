"""The notification centre in the desktop app against a real service: the bell's unread badge,
a new notice arriving live (badge and desktop notification), marking read, and the settings
with a legally required notice locked and refusals worded inline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QCheckBox

from portal_app.client import PortalClient
from services.actor import Actor
from services.audit import service as audit
from tests.support import running_service
from tests.ui.conftest import PASSWORD, run, wait_until
from ui.main_window import MainWindow
from ui.notifications_screenshots import shoot_notifications

ALEX = "alex.morgan@example.com"
SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"


def test_bell_badge_live_notice_mark_read_and_settings(qtbot: Any, tmp_path: Path) -> None:
    with running_service(f"sqlite:///{tmp_path / 'p.sqlite3'}", tmp_path) as svc:
        client = PortalClient(svc.url)
        run(qtbot, client.sign_in(ALEX, PASSWORD))
        assert client.user is not None
        window = MainWindow(client, client.user)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        centre = window.notifications
        assert centre is not None
        try:
            # Given the demo's notices (welcome, the open claim, a complaint), all unread
            wait_until(qtbot, lambda: centre.loaded)
            listing = run(qtbot, client.notifications())
            assert listing.unread >= 3 and centre.bell.count == listing.unread
            assert centre.bell.badge_text() == str(listing.unread)
            wait_until(qtbot, lambda: window.account_view.feed_state.value == "live")  # type: ignore[union-attr]

            # When a payment fails on the account (its own audit event queues the notice)
            account_id = client.user.accounts[0].id
            with svc.container.db.write() as session:
                audit.record(
                    session,
                    Actor.system("Billing"),
                    svc.clock,
                    action="payment.failed",
                    account_id=account_id,
                    entity_type="payment",
                    entity_id="pay_ui",
                    after={
                        "amount_minor": 18_250,
                        "currency": "USD",
                        "policy_number": "AUT-100234",
                        "failure_code": "card_declined",
                    },
                )
            # Then the bell counts it and a desktop notification announces it, live
            wait_until(qtbot, lambda: centre.bell.count == listing.unread + 1)
            assert centre.tray_messages[-1][0] == "Payment of $182.50 did not go through"

            # The panel lists it first, bold and unread; clicking it marks it read
            centre.open_panel()
            wait_until(qtbot, lambda: bool(centre.panel.rows))
            first = centre.panel.rows[0]
            assert first.notice.title.startswith("Payment of $182.50") and first.notice.unread
            SHOTS.mkdir(parents=True, exist_ok=True)
            run(qtbot, shoot_notifications(window, SHOTS))
            centre.mark_read(first.notice.id)
            wait_until(qtbot, lambda: centre.bell.count == listing.unread)
            centre.mark_all_read()
            wait_until(qtbot, lambda: centre.bell.count == 0)
            assert centre.bell.badge_text() == "" and not centre.panel.mark_all.isEnabled()
            assert run(qtbot, client.notifications()).unread == 0

            # Settings: the required notice's email is locked on; a change saves
            centre.open_settings()
            dialog = centre.settings_dialog
            assert dialog is not None
            wait_until(qtbot, lambda: dialog.settings is not None)
            locked = dialog.boxes[("pending_cancellation", "email")]
            assert locked.isChecked() and not locked.isEnabled()
            assert "Required by law" in locked.toolTip()
            sms = dialog.boxes[("payment_failed", "sms")]
            assert sms.isChecked() and not dialog.save_button.isEnabled()
            sms.setChecked(False)
            assert dialog.save_button.isEnabled()
            dialog.save()
            wait_until(qtbot, lambda: dialog.save_status.text() == "Saved.")
            prefs = run(qtbot, client.notification_settings())
            assert next(p for p in prefs.types if p.type == "payment_failed").sms.enabled is False
            # A refusal is worded from the API's code, next to the save button
            locked = dialog.boxes[("pending_cancellation", "email")]  # the saved settings were redrawn
            locked.setEnabled(True)
            locked.setChecked(False)
            dialog.save()
            wait_until(qtbot, lambda: dialog.error.isVisible())
            assert dialog.error.text() == "This notice is required by law, so it is always sent by email."
            assert all(isinstance(b, QCheckBox) for b in dialog.boxes.values())
            dialog.close()
        finally:
            run(qtbot, window.aclose())
            run(qtbot, client.aclose())
