"""Claims: file a claim with photos, follow each claim's timeline, and (for adjusters) move it on.

Three views in one page: the list of claims, one claim in detail, and the claim form. The form
keeps a draft on this computer as you type; photo uploads run several at once with their own
progress bars and survive a restart as "interrupted" with Retry.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import qasync
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import AccountOverview, ApiError, PortalClient, PortalError
from portal_app.client.models import Claim, ClaimPhoto, ClaimStep
from ui import claims_wording as words
from ui import theme, wording
from ui.claims_form import FORM_QSS, ClaimForm
from ui.claims_state import DraftStore, UploadJournal
from ui.claims_uploads import DropArea, PhotoTile, UploadManager, UploadRow
from ui.formatting import time_in
from ui.tasks import TaskScope, owned
from ui.widgets import Badge, Banner, Card, EmptyState, Page, clear_layout, label

TIMELINE_DOT = {"success": theme.SUCCESS, "warning": theme.WARNING, "danger": theme.DANGER}


def _local(claim: Claim, value: object) -> str:
    """A service time shown in the policy's zone: the dates we promise are business dates there."""
    if not isinstance(value, datetime):
        return "—"
    return time_in(value, claim.time_zone)


def _amount_minor(text: str) -> int | None:
    """'1,842.50' -> 184250 without passing through float."""
    cleaned = text.replace(",", "").replace("$", "").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if value <= 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return int(value * 100)


class ClaimsPage(Page):
    """Threading/async rule: Qt thread only; network calls are coroutines on the qasync loop.
    Call `shutdown()` before the client closes (AccountView.stop does)."""

    claimsLoaded = Signal()
    detailShown = Signal(str)

    def __init__(
        self, client: PortalClient | None = None, account_id: str = "", *, data_dir: Path | None = None
    ) -> None:
        super().__init__("Claims", "File a claim, add photos, and see where each claim stands.")
        self.client = client
        self.account_id = account_id
        self.overview: AccountOverview | None = None
        self.claims: list[Claim] = []
        self.mode = "list"
        self.current_id: str | None = None
        self.notice: str = ""
        self._photos: dict[str, list[ClaimPhoto]] = {}
        self._thumb_bytes: dict[str, bytes] = {}
        self.tasks = TaskScope()  # refreshes and photo fetches; shutdown() cancels them
        self._refresh_task: asyncio.Future[None] | None = None
        self.loaded = False
        self.setStyleSheet(FORM_QSS)

        if data_dir is None:
            from portal_app.settings import AppSettings

            data_dir = AppSettings.load().data_dir
        folder = Path(data_dir) / "claims"
        self.drafts = DraftStore(folder, account_id)
        self.uploads: UploadManager | None = None
        self.form: ClaimForm | None = None
        if client is not None:
            self.uploads = UploadManager(client, UploadJournal(folder, account_id), self)
            self.uploads.listChanged.connect(self._uploads_changed)
            self.uploads.uploaded.connect(self._photo_uploaded)
            self.form = ClaimForm(client, account_id, self.drafts)
            self.form.submitted.connect(self._filed)
            self.form.closed.connect(self.show_list)
            self.form.draftChanged.connect(self._draft_changed)

        self.list_view = QWidget()
        self.list_box = QVBoxLayout(self.list_view)
        self.list_box.setContentsMargins(0, 0, 0, 0)
        self.list_box.setSpacing(16)
        self.detail_view = QWidget()
        self.detail_box = QVBoxLayout(self.detail_view)
        self.detail_box.setContentsMargins(0, 0, 0, 0)
        self.detail_box.setSpacing(16)
        self.content.addWidget(self.list_view)
        self.content.addWidget(self.detail_view)
        if self.form is not None:
            self.content.addWidget(self.form)
        self._show_mode("list")

    # --- feeding -----------------------------------------------------------------------------

    def show_overview(self, overview: AccountOverview) -> None:
        """AccountView hands over each fresh overview (also after live changes): reload claims."""
        self.overview = overview
        if self.form is not None:
            self.form.set_overview(overview)
        if self.client is None:
            return
        if self._refresh_task is None or self._refresh_task.done():
            self._refresh_task = self.tasks.spawn(self.refresh())

    async def refresh(self) -> None:
        assert self.client is not None
        try:
            self.claims = await self.client.claims(self.account_id)
        except PortalError:
            if not self.loaded:
                self._render_list(error=True)
            return
        self.loaded = True
        if self.mode == "list":
            self._render_list()
        elif self.mode == "detail" and self.current_id:
            self._render_detail(keep_inputs=True)
            self._load_photos(self.current_id)
        self.claimsLoaded.emit()

    def shutdown(self) -> None:
        if self.form is not None:
            self.form._save_timer.stop()
            self.form.tasks.cancel()
            if self.mode == "form":
                self.form.save_draft()
        if self.uploads is not None:
            self.uploads.shutdown()
        self.tasks.cancel()

    def claim(self, claim_id: str | None) -> Claim | None:
        return next((c for c in self.claims if c.id == claim_id), None)

    # --- modes -------------------------------------------------------------------------------

    def _show_mode(self, mode: str) -> None:
        self.mode = mode
        self.list_view.setVisible(mode == "list")
        self.detail_view.setVisible(mode == "detail")
        if self.form is not None:
            self.form.setVisible(mode == "form")
        titles = {
            "list": ("Claims", "File a claim, add photos, and see where each claim stands."),
            "form": ("File a claim", "We acknowledge every claim within one business day."),
        }
        title, subtitle = titles.get(mode, ("Claims", ""))
        if mode == "detail":
            claim = self.claim(self.current_id)
            title = f"Claim {claim.number}" if claim else "Claim"
            subtitle = ""
        self.title_label.setText(title)
        self.set_subtitle(subtitle)
        self.verticalScrollBar().setValue(0)

    def show_list(self) -> None:
        self.current_id = None
        self.notice = ""
        self._render_list()
        self._show_mode("list")

    def open_form(self) -> None:
        if self.form is None:
            return
        if self.overview is not None:
            self.form.set_overview(self.overview)
        self.form.start_new()
        self._show_mode("form")

    def open_claim(self, claim_id: str) -> None:
        self.current_id = claim_id
        self._render_detail()
        self._show_mode("detail")
        self._load_photos(claim_id)
        self.detailShown.emit(claim_id)

    # --- list --------------------------------------------------------------------------------

    def _render_list(self, *, error: bool = False) -> None:
        clear_layout(self.list_box)
        top = QHBoxLayout()
        top.addWidget(
            label("Report a loss any time; we will confirm the next step and its date.", "muted", wrap=True),
            1,
        )
        file_button = QPushButton("File a claim")
        file_button.setProperty("kind", "primary")
        file_button.setAccessibleName("File a claim")
        file_button.setEnabled(self.form is not None)
        file_button.clicked.connect(self.open_form)
        self.file_button = file_button
        top.addWidget(file_button)
        self.list_box.addLayout(top)
        draft = self.drafts.load()
        if draft and self.form is not None:
            banner = Banner(
                "info",
                "You have a claim you started but have not sent",
                "It is saved on this computer. Continue where you left off, or discard it from the form.",
            )
            resume = QPushButton("Continue the draft")
            resume.clicked.connect(self.open_form)
            banner.layout().addWidget(resume)  # type: ignore[union-attr]
            self.list_box.addWidget(banner)
        if error:
            self.list_box.addWidget(
                Banner(
                    "warning",
                    "Can't load your claims right now",
                    "We will try again when the service answers.",
                )
            )
            return
        if not self.claims:
            self.list_box.addWidget(
                EmptyState(
                    "claims",
                    "No claims on this account",
                    "If something happens, file a claim here any time: we acknowledge every claim "
                    "within one business day.",
                )
            )
            return
        for claim in self.claims:
            self.list_box.addWidget(self._claim_card(claim))

    def _claim_card(self, claim: Claim) -> Card:
        status, tone = wording.claim_status(claim.status)
        card = Card(
            f"Claim {claim.number} · {words.loss_type(claim.loss_type)}",
            f"{wording.product_line(claim.product_line)} {claim.policy_number} · "
            f"loss on {_local(claim, claim.loss_at)}",
            icon_name=wording.PRODUCT_ICONS.get(claim.product_line, "claims"),
            badge=Badge(status, tone),
        )
        card.setObjectName(f"ClaimCard-{claim.number}")
        if claim.status == "info_requested":
            card.body.addWidget(Banner("warning", "We need more information", claim.info_request))
        card.divider()
        headline, _ = words.next_step(claim)
        uploads = [e for e in self.uploads.for_claim(claim.id) if e.state != "done"] if self.uploads else []
        facts = [
            ("What happens next", headline, "value-strong"),
            ("Submitted", _local(claim, claim.submitted_at), "value"),
            (
                "Photos",
                f"{claim.photo_count}" + (f" (+{len(uploads)} uploading)" if uploads else ""),
                "value",
            ),
        ]
        if claim.can_adjust and claim.overdue:
            facts.append(("Service commitment", "Overdue", "value-danger"))
        card.facts(facts, columns=len(facts))
        row = QHBoxLayout()
        row.addStretch(1)
        view = QPushButton("View claim")
        view.setAccessibleName(f"View claim {claim.number}")
        view.clicked.connect(lambda _=False, cid=claim.id: self.open_claim(cid))
        row.addWidget(view)
        card.body.addLayout(row)
        return card

    # --- detail ------------------------------------------------------------------------------

    def _render_detail(self, *, keep_inputs: bool = False) -> None:
        claim = self.claim(self.current_id)
        kept = {}
        if keep_inputs:
            for name in ("answer", "note", "amount"):
                widget = getattr(self, f"{name}_input", None)
                with contextlib.suppress(RuntimeError):  # the widget may already be deleted
                    if isinstance(widget, QPlainTextEdit):
                        kept[name] = widget.toPlainText()
                    elif isinstance(widget, QLineEdit):
                        kept[name] = widget.text()
        clear_layout(self.detail_box)
        back = QPushButton("‹  All claims")
        back.setProperty("kind", "quiet")
        back.setAccessibleName("Back to all claims")
        back.clicked.connect(self.show_list)
        row = QHBoxLayout()
        row.addWidget(back)
        row.addStretch(1)
        self.detail_box.addLayout(row)
        if claim is None:
            self.detail_box.addWidget(EmptyState("claims", "Claim not found", "It may have been removed."))
            return
        self.title_label.setText(f"Claim {claim.number}")
        if self.notice and claim.status == "submitted":
            self.detail_box.addWidget(Banner("info", self.notice, "Keep this number for any call or letter."))

        # Summary
        status, tone = wording.claim_status(claim.status)
        summary = Card(
            words.loss_type(claim.loss_type),
            f"{wording.product_line(claim.product_line)} {claim.policy_number}",
            icon_name=wording.PRODUCT_ICONS.get(claim.product_line, "claims"),
            badge=Badge(status, tone),
        )
        summary.setObjectName("ClaimSummaryCard")
        summary.divider()
        facts = [("When", _local(claim, claim.loss_at), "value"), ("Where", claim.location, "value")]
        if claim.vehicle:
            facts.append(("Vehicle", claim.vehicle, "value"))
        facts.append(("Police report", claim.police_report or "None given", "value"))
        facts.append(("Other parties", claim.other_parties or "None given", "value"))
        facts.append(("Injuries", claim.injury_details if claim.injuries else "No one was hurt", "value"))
        summary.facts(facts, columns=3)
        summary.body.addWidget(label("What happened", "label"))
        summary.body.addWidget(label(claim.description, "value", wrap=True))
        if claim.outside_term:
            summary.body.addWidget(
                Banner(
                    "warning",
                    "The loss date is outside the policy's dates of cover",
                    f"Cover runs {wording.day(claim.policy_effective_date)} to "
                    f"{wording.day(claim.policy_expiry_date)}. Your claims handler will check whether it "
                    "is covered and explain the outcome.",
                )
            )
        if claim.approved_minor:
            summary.body.addWidget(
                label(
                    f"Approved amount: {wording.money(claim.approved_minor, claim.currency)}", "value-strong"
                )
            )
        if claim.decision_reason:
            summary.body.addWidget(
                label(f"Reason for the decision: {claim.decision_reason}", "value", wrap=True)
            )

        # What happens next
        headline, text = words.next_step(claim)
        nxt = Card("What happens next", icon_name="clock")
        nxt.setObjectName("ClaimNextCard")
        nxt.body.addWidget(label(headline, "value-strong", wrap=True))
        nxt.body.addWidget(label(text, "muted", wrap=True))
        nxt.divider()
        nxt.body.addWidget(label("OUR COMMITMENTS", "label"))
        for c in claim.sla:
            done_name, todo_name = words.STEP_NAMES.get(c.step, (c.step, c.step))
            if c.done_at is not None:
                line, role = f"✓  {done_name} {_local(claim, c.done_at)}", "value"
            elif claim.can_adjust and c.overdue:
                line, role = f"!  {todo_name} by {wording.day(c.due_date)}: overdue", "value-danger"
            else:
                line, role = f"○  {todo_name} by {wording.day(c.due_date)}", "value"
            nxt.body.addWidget(label(line, role, wrap=True))
        nxt.body.addWidget(
            label(
                "Business days where the policy is; weekends and public holidays excluded.",
                "muted",
                wrap=True,
            )
        )

        # The customer's answer to a request for information
        respond = None
        if "respond" in claim.allowed_actions:
            respond = Card("Your claims handler asked", icon_name="mail")
            respond.setObjectName("ClaimRespondCard")
            respond.body.addWidget(label(claim.info_request, "value-strong", wrap=True))
            self.answer_input = QPlainTextEdit()
            self.answer_input.setAccessibleName("Your answer")
            self.answer_input.setPlaceholderText("Your answer. Add photos below if they help.")
            self.answer_input.setFixedHeight(80)
            self.answer_input.setPlainText(kept.get("answer", ""))
            respond.body.addWidget(self.answer_input)
            self.answer_error = label("", "field-error", wrap=True)
            self.answer_error.setVisible(False)
            respond.body.addWidget(self.answer_error)
            send = QPushButton("Send answer")
            send.setProperty("kind", "primary")
            send.clicked.connect(lambda: self._act(claim.id, "respond"))
            actions = QHBoxLayout()
            actions.addStretch(1)
            actions.addWidget(send)
            respond.body.addLayout(actions)

        # Adjuster tools
        staff = None
        if claim.can_adjust:
            staff = self._adjuster_card(claim, kept)

        # Timeline
        timeline = Card("Timeline", icon_name="activity")
        timeline.setObjectName("ClaimTimelineCard")
        for step in claim.timeline:
            timeline.body.addWidget(self._timeline_row(claim, step))

        # Photos
        photos = Card("Photos", icon_name="claims")
        photos.setObjectName("ClaimPhotosCard")
        if claim.status != "closed":
            drop = DropArea()
            drop.filesChosen.connect(lambda paths, c=claim: self.add_photos(c, paths))
            photos.body.addWidget(drop)
        self.upload_rows = QVBoxLayout()
        self.upload_rows.setSpacing(0)
        photos.body.addLayout(self.upload_rows)
        self.photo_grid = QGridLayout()
        self.photo_grid.setHorizontalSpacing(14)
        self.photo_grid.setVerticalSpacing(14)
        photos.body.addLayout(self.photo_grid)
        self._render_uploads(claim.id)
        self._render_photo_grid(claim.id)

        top = QHBoxLayout()
        top.setSpacing(16)
        left = QVBoxLayout()
        left.setSpacing(16)
        right_panel = QWidget()
        right_panel.setFixedWidth(350)  # the side column wraps its words; the main one takes the rest
        right = QVBoxLayout(right_panel)
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(16)
        left.addWidget(summary)
        if respond is not None:
            left.addWidget(respond)
        left.addWidget(photos)
        left.addStretch(1)
        right.addWidget(nxt)
        if staff is not None:
            right.addWidget(staff)
        right.addWidget(timeline)
        right.addStretch(1)
        top.addLayout(left, 1)
        top.addWidget(right_panel, 0, Qt.AlignmentFlag.AlignTop)
        self.detail_box.addLayout(top)

    def _timeline_row(self, claim: Claim, step: ClaimStep) -> QWidget:
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 4, 0, 4)
        line.setSpacing(12)
        _, tone = wording.claim_status(step.status)
        dot = QLabel()
        dot.setFixedSize(12, 12)
        color = TIMELINE_DOT.get(tone, theme.BLUE)
        dot.setStyleSheet(f"background: {color}; border-radius: 6px;")
        line.addWidget(dot, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.setSpacing(2)
        title = "Customer answered" if step.kind == "response" else wording.claim_status(step.status)[0]
        if step.amount_minor:
            title += f" · {wording.money(step.amount_minor, claim.currency)}"
        text.addWidget(label(title, "value-strong"))
        text.addWidget(
            label(
                f"{words.who(step.actor_name, step.actor_role)} · {_local(claim, step.occurred_at)}", "muted"
            )
        )
        if step.note:
            text.addWidget(label(f"“{step.note}”", "value", wrap=True))
        line.addLayout(text, 1)
        row.setAccessibleName(f"{title}, {step.actor_name}, {_local(claim, step.occurred_at)}")
        return row

    def _adjuster_card(self, claim: Claim, kept: dict[str, str]) -> Card:
        card = Card(
            "Adjuster actions", "Every step is recorded and reaches the customer at once.", icon_name="user"
        )
        card.setObjectName("ClaimAdjusterCard")
        self.note_input = QLineEdit(kept.get("note", ""))
        self.note_input.setPlaceholderText("Question for the customer, or the reason for declining")
        self.note_input.setAccessibleName("Note to the customer")
        self.note_error = label("", "field-error", wrap=True)
        self.note_error.setVisible(False)
        self.amount_input = QLineEdit(kept.get("amount", ""))
        self.amount_input.setPlaceholderText("Approved amount, e.g. 1,842.50")
        self.amount_input.setAccessibleName("Approved amount")
        self.amount_error = label("", "field-error", wrap=True)
        self.amount_error.setVisible(False)
        self.action_error = label("", "field-error", wrap=True)
        self.action_error.setVisible(False)
        if {"request_info", "deny"} & set(claim.allowed_actions):
            card.body.addWidget(self.note_input)
            card.body.addWidget(self.note_error)
        if "approve" in claim.allowed_actions:
            card.body.addWidget(self.amount_input)
            card.body.addWidget(self.amount_error)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        for action in claim.allowed_actions:
            button = QPushButton(words.ACTIONS.get(action, action))
            button.setObjectName(f"action-{action}")
            if action in ("acknowledge", "start_review", "approve", "mark_paid"):
                button.setProperty("kind", "primary")
            button.clicked.connect(lambda _=False, a=action: self._act(claim.id, a))
            buttons.addWidget(button)
        buttons.addStretch(1)
        card.body.addLayout(buttons)
        card.body.addWidget(self.action_error)
        if not claim.allowed_actions:
            card.body.addWidget(label("Nothing more to do on this claim.", "muted"))
        return card

    def _field_error(self, field: str | None, message: str) -> None:
        target = {
            "answer": "answer_error",
            "note": "note_error",
            "amount": "amount_error",
        }.get(field or "", "action_error")
        widget = getattr(self, target, None)
        if widget is None:
            widget = getattr(self, "answer_error", None)
        if widget is not None:
            with contextlib.suppress(RuntimeError):
                widget.setText(message)
                widget.setVisible(True)

    @qasync.asyncSlot()
    @owned
    async def _act(self, claim_id: str, action: str) -> None:
        assert self.client is not None
        note = ""
        amount = None
        if action == "respond":
            note = self.answer_input.toPlainText().strip()
            if not note:
                self._field_error("answer", "Write your answer before sending it.")
                return
        elif action in ("request_info", "deny"):
            note = self.note_input.text().strip()
            if not note:
                code = "claim.question_required" if action == "request_info" else "claim.reason_required"
                self._field_error(*words.error_message(code))
                return
        elif action == "approve":
            amount = _amount_minor(self.amount_input.text())
            if amount is None:
                self._field_error("amount", "Enter the approved amount in dollars and cents, e.g. 1,842.50.")
                return
        try:
            updated = await self.client.move_claim(claim_id, action, note=note, amount_minor=amount)
        except ApiError as exc:
            field, message = words.error_message(exc.code, exc.detail)
            if exc.code == "claim.illegal_transition":
                await self.refresh()
            self._field_error(field if field != "answer" or action == "respond" else None, message)
            return
        except PortalError:
            self._field_error(None, "Can't reach the Portal service. Try again in a moment.")
            return
        self.claims = [updated if c.id == claim_id else c for c in self.claims]
        if self.mode == "detail" and self.current_id == claim_id:
            self._render_detail()
            self._load_photos(claim_id)

    # --- photos ------------------------------------------------------------------------------

    def add_photos(self, claim: Claim, paths: list[Path]) -> None:
        if self.uploads is not None and paths:
            self.uploads.add(claim.id, claim.number, paths)

    def _uploads_changed(self) -> None:
        if self.mode == "detail" and self.current_id:
            self._render_uploads(self.current_id)

    def _render_uploads(self, claim_id: str) -> None:
        with contextlib.suppress(RuntimeError, AttributeError):
            clear_layout(self.upload_rows)
            if self.uploads is None:
                return
            shown = {p.id for p in self._photos.get(claim_id, [])}
            for entry in self.uploads.for_claim(claim_id):
                if entry.state == "done" and entry.photo_id in shown:
                    continue  # its thumbnail is in the grid below now
                row = UploadRow(self.uploads, entry)
                self.upload_rows.addWidget(row)
                row.show()  # added to a layout already on screen: Qt leaves it hidden otherwise

    def upload_row_widgets(self) -> list[UploadRow]:
        return [w for w in self.detail_view.findChildren(UploadRow)]

    def _photo_uploaded(self, claim_id: str) -> None:
        if self.mode == "detail" and self.current_id == claim_id:
            self._load_photos(claim_id)

    def _load_photos(self, claim_id: str) -> None:
        if self.client is None:
            return
        self.tasks.spawn(self._fetch_photos(claim_id))

    async def _fetch_photos(self, claim_id: str) -> None:
        assert self.client is not None
        try:
            photos = await self.client.claim_photos(claim_id)
        except PortalError:
            return
        self._photos[claim_id] = photos
        if self.mode == "detail" and self.current_id == claim_id:
            self._render_photo_grid(claim_id)
            self._render_uploads(claim_id)
        missing = [p for p in photos if p.id not in self._thumb_bytes]
        results = await asyncio.gather(
            *(self.client.claim_photo_content(claim_id, p.id) for p in missing), return_exceptions=True
        )
        for photo, data in zip(missing, results, strict=True):
            if isinstance(data, bytes):
                self._thumb_bytes[photo.id] = data
        if missing and self.mode == "detail" and self.current_id == claim_id:
            self._render_photo_grid(claim_id)

    def _render_photo_grid(self, claim_id: str) -> None:
        with contextlib.suppress(RuntimeError, AttributeError):
            clear_layout(self.photo_grid)
            photos = self._photos.get(claim_id, [])
            if not photos:
                empty = label("No photos yet.", "muted")
                self.photo_grid.addWidget(empty, 0, 0)
                empty.show()
                return
            columns = 4
            for i, photo in enumerate(photos):
                taken = (
                    f"taken {photo.captured_at[:16].replace('T', ' ')}"
                    if photo.captured_at
                    else "no date in file"
                )
                tile = PhotoTile(photo.filename, taken)
                data = self._thumb_bytes.get(photo.id)
                if data is not None:
                    tile.thumb.load(data)
                self.photo_grid.addWidget(tile, i // columns, i % columns, Qt.AlignmentFlag.AlignLeft)
                tile.show()
            self.photo_grid.setColumnStretch(columns, 1)

    # --- filing ------------------------------------------------------------------------------

    def _filed(self, claim: Claim, photos: list[Path]) -> None:
        self.claims = [claim, *[c for c in self.claims if c.id != claim.id]]
        due = wording.day(claim.next_step_due) if claim.next_step_due else "the next business day"
        self.notice = f"Claim {claim.number} is filed. We will acknowledge it by {due}."
        if self.uploads is not None and photos:
            self.uploads.add(claim.id, claim.number, photos)
        self.open_claim(claim.id)

    def _draft_changed(self) -> None:
        if self.mode == "list":
            self._render_list()
