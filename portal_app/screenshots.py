"""Save screenshots of the desktop app against a fresh embedded service.

    python -m portal_app.screenshots OUTDIR [--platform xcb|offscreen]

Every policyholder page is shot at each size in SIZES (the smallest window we support and a
common laptop screen) into OUTDIR/<W>x<H>/; the flows (sign-in error, payment confirm/receipt/
decline, claims, staff, notifications) go to OUTDIR itself. The default platform is xcb, the
real X11 plugin: with no DISPLAY the driver starts a private Xvfb (stopped when it exits).
The keyring is an in-memory one for the run: a screenshot session never touches the real one.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from portal_app.xvfb import XvfbError, keep_until_exit, start_xvfb

SIZE = (1280, 800)
SIZES = ((1024, 700), (1366, 850))
PASSWORD = "portal-demo-2026"
POLICYHOLDER_PAGES = (
    "overview",
    "policies",
    "documents",
    "idcards",
    "payments",
    "claims",
    "cases",
    "activity",
    "help",
)


def _memory_keyring() -> object:
    import keyring.backend

    class ScreenshotKeyring(keyring.backend.KeyringBackend):
        """Secrets in a dict for this process only (defined here, not at import time, so it
        is never offered as a keyring candidate to anything else)."""

        priority = 1

        def __init__(self) -> None:
            super().__init__()
            self.secrets: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.secrets.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.secrets[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.secrets.pop((service, username), None)

    return ScreenshotKeyring()


async def _until(check: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def _settle(seconds: float = 0.4) -> None:
    # Let layouts, style polish and queued paints run before grabbing. Sleeping on the qasync
    # loop processes Qt events; calling processEvents() here would re-enter running tasks.
    await asyncio.sleep(seconds)


def _save(widget: object, path: Path) -> None:
    widget.grab().save(str(path))  # type: ignore[attr-defined]
    print(f"saved {path}")


READY: dict[str, Callable[[object], object]] = {
    "documents": lambda page: getattr(page, "loaded", True),
    "idcards": lambda page: bool(getattr(page, "cards", True)),
    "payments": lambda page: getattr(page, "data", None) is not None and not getattr(page, "_busy", 0),
    "claims": lambda page: getattr(page, "loaded", True),
}


async def _shoot_pages(main: object, view: object, folder: Path, size: tuple[int, int]) -> None:
    """Every policyholder page at one window size, each scrolled to the top and to the end."""
    folder.mkdir(parents=True, exist_ok=True)
    main.resize(*size)  # type: ignore[attr-defined]
    await _settle(0.6)
    for key in POLICYHOLDER_PAGES:
        view.show_page(key)  # type: ignore[attr-defined]
        page = view.pages[key]  # type: ignore[attr-defined]
        ready = READY.get(key)
        if ready is not None:
            # A picture of a page still loading is a stale picture: wait for its own data.
            await _until(functools.partial(ready, page), 60, f"the {key} page")
        bar = page.verticalScrollBar() if hasattr(page, "verticalScrollBar") else None
        if bar is not None:
            bar.setValue(0)
        await _settle(0.5)
        _save(main, folder / f"{key}.png")
        if bar is not None and bar.maximum() > 0:
            bar.setValue(bar.maximum())
            await _settle(0.3)
            _save(main, folder / f"{key}-end.png")
            bar.setValue(0)


async def _shoot(out: Path, data_dir: Path) -> None:

    from portal_app.client import PortalClient
    from ui.app import PortalApp

    controller = PortalApp(None, data_dir)
    controller.start()
    try:
        await _until(lambda: controller.sign_in_window is not None, what="the sign-in window")
        window = controller.sign_in_window
        assert window is not None
        for width, height in SIZES:
            (out / f"{width}x{height}").mkdir(parents=True, exist_ok=True)
            window.resize(width, height)
            await _settle()
            _save(window, out / f"{width}x{height}" / "sign-in.png")
        window.resize(*SIZE)
        await _settle()
        _save(window, out / "sign-in.png")

        # An honest inline error: a wrong password against the real service.
        window.email.setText("alex.morgan@example.com")
        window.password.setText("not-my-password")
        window.submit()
        await _until(lambda: window.password_error.isVisible(), 40, "the wrong-password error")
        await _settle()
        _save(window, out / "sign-in-error.png")

        window.password.setText(PASSWORD)
        window.submit()
        await _until(lambda: controller.main_window is not None, 40, "the main window")
        main = controller.main_window
        assert main is not None and main.account_view is not None
        view = main.account_view
        main.resize(*SIZE)
        await _until(lambda: view.overview is not None, 20, "the overview")
        await _until(lambda: view.feed_state.value == "live", 20, "the live feed")

        # Another client at work: an agent opens the account and updates the phone number.
        base = await controller.service_url()
        # The embedded service answers only to this launch's key (its child process).
        service = controller.service
        agent_headers = service.headers if service is not None else None
        agent = PortalClient(base, service_headers=agent_headers)
        await agent.sign_in("agent@portal.example", PASSWORD)
        overview = await agent.account(view.account_id)
        holder = next(h for h in overview.holders if h.is_primary)
        await agent.update_holder_contact(view.account_id, holder.id, phone="+1 312 555 0199")
        await agent.aclose()
        await _until(lambda: view.activity_page.model.total >= 3, 20, "live events")
        await _settle(1.0)  # the overview reload after the contact change
        view.show_page("payments")
        await _until(lambda: view.payments_page.data is not None, 60, "the payments data")
        for width, height in SIZES:
            await _shoot_pages(main, view, out / f"{width}x{height}", (width, height))
        main.resize(*SIZE)
        view.show_page("overview")
        await _settle()
        _save(main, out / "overview.png")

        # Policies, documents and ID cards (issue 4): wait for their own data, then shoot again.
        auto = next(p for p in overview.policies if p.product_line == "auto")
        view.show_page("policies")
        view.policies_page.open_policy(auto.id)
        await _until(lambda: view.policies_page.detail_view is not None, 20, "the policy detail")
        await _settle()
        _save(main, out / "policy-detail.png")
        view.policies_page.show_list()
        # The contact details editor with an inline error, as a policyholder would meet it.
        contact = view.policies_page.contact
        contact.inputs["email"].setText("alex.morgan@example")
        contact.inputs["email"].setModified(True)
        contact.save()
        await _until(lambda: bool(contact.field_error_text("email")), 10, "the email error")
        view.policies_page.ensureWidgetVisible(contact, 0, 0)
        await _settle()
        _save(main, out / "contact-details.png")
        contact.revert_button.click()
        view.show_page("documents")
        await _until(lambda: view.documents_page.loaded, 30, "the documents list")
        await _settle()
        _save(main, out / "documents.png")
        declarations = next(
            d
            for d in view.documents_page.model.documents
            if d.kind == "declarations" and d.policy_number == auto.number
        )
        view.documents_page.open_document(declarations.id)
        await _until(lambda: view.documents_page.viewer.document is not None, 20, "the document viewer")
        await _settle(0.8)
        _save(main, out / "documents-viewer.png")
        view.show_page("idcards")
        await _until(lambda: bool(view.idcards_page.cards), 20, "the ID cards")
        await _settle()
        _save(main, out / "idcards.png")
        # Payments (issue 5): the demo Visa is added by the in-process job runner.
        view.show_page("payments")
        pay = view.payments_page
        await _until(lambda: pay.data is not None and bool(pay.data.methods), 90, "the payments data")
        await _until(lambda: pay._busy == 0, 20, "the payments page to settle")
        await _settle(0.8)
        _save(main, out / "payments.png")
        pay.pay_full.setChecked(False)
        pay.pay_amount.setText("99999")
        pay.pay_form.ask_confirmation()
        await _settle(0.3)
        _save(main, out / "payments-inline-error.png")
        pay.pay_amount.setText("25.00")
        pay.pay_form.ask_confirmation()
        await _settle(0.3)
        _save(main, out / "payments-confirm.png")
        pay.confirm_payment()
        await _until(lambda: pay.last_payment is not None, 30, "the payment")
        await _settle(2.5)
        await _until(lambda: pay._busy == 0, 20, "the refresh after paying")
        await _settle(0.5)
        _save(main, out / "payments-paid.png")
        pay.verticalScrollBar().setValue(pay.verticalScrollBar().maximum())
        await _settle(0.4)
        _save(main, out / "payments-cards-history.png")

        # Claims: the list, the form with photos attached, uploads in progress, the timeline.
        from ui.claims_screenshots import shoot_claims

        await shoot_claims(view, main, out, base, _save, headers=agent_headers)

        # The staff window (issue 7): search, an account with the live change log, the branch desk.
        from ui.staff.screenshots import shoot_staff

        view.show_page("overview")
        assert controller.client is not None
        await shoot_staff(base, out, data_dir, _save, controller.client, main, headers=agent_headers)

        # The notification centre over the window, and its settings.
        from ui.notifications_screenshots import shoot_notifications

        view.show_page("overview")
        await shoot_notifications(main, out)
    finally:
        await controller.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal_app.screenshots")
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--platform", choices=("xcb", "offscreen"), default="xcb")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    out = args.outdir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ["QT_QPA_PLATFORM"] = args.platform
    if args.platform == "xcb" and not os.environ.get("DISPLAY"):
        try:
            keeper, display = start_xvfb(*SIZES[-1])
        except XvfbError as exc:
            raise SystemExit(f"{exc}, or pass --platform offscreen") from exc
        keep_until_exit(keeper)  # Qt holds the display until the process ends
        os.environ["DISPLAY"] = display

    import keyring

    from ui.app import create_application
    from ui.event_loop import run_app

    keyring.set_keyring(_memory_keyring())  # type: ignore[arg-type]
    app = create_application()
    print(f"platform: {app.platformName()}")
    with tempfile.TemporaryDirectory(prefix="portal-shots-") as tmp:
        run_app(_shoot(out, Path(tmp)), app)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
