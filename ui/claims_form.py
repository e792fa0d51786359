"""The claim form (first notice of loss): fields, inline errors, photos, and a draft kept as you type."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import qasync
from PySide6.QtCore import QDateTime, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from portal_app.client import AccountOverview, ApiError, PolicySummary, PortalClient, PortalError
from ui import claims_wording as words
from ui import error_wording, theme, wording
from ui.claims_state import DraftStore
from ui.claims_uploads import DropArea, Thumb
from ui.formatting import this_computer, time_in
from ui.tasks import TaskScope
from ui.widgets import Banner, Card, ComboBox, clear_layout, label

# Multi-line fields and the invalid state, matched to the theme's QLineEdit look (drop-downs and
# date fields are styled by the theme itself: resources/theme/portal.qss).
FORM_QSS = """
QPlainTextEdit {
    font-size: 14px; border: 1px solid #C5CFDC; border-radius: 7px; background: #FFFFFF;
    selection-background-color: #2F6FD0; padding: 6px 8px;
}
QPlainTextEdit:focus { border: 2px solid #2F6FD0; }
QComboBox[invalid="true"], QDateTimeEdit[invalid="true"], QPlainTextEdit[invalid="true"] {
    border: 2px solid #C0392B;
}
"""

FORM_QSS = FORM_QSS.replace("@ICONS@", theme.ICONS_DIR.as_posix())

FIELD_ORDER = (
    "policy_id",
    "vehicle",
    "loss_at",
    "loss_type",
    "location",
    "description",
    "other_parties",
    "police_report",
    "injury_details",
)
DRAFT_DELAY_MS = 400


def _banner(severity: str) -> tuple[Banner, QLabel, QLabel]:
    """A hidden Banner whose headline and text are filled in later."""
    banner = Banner(severity, "-", "-")
    labels = [w for w in banner.findChildren(QLabel) if w.text() == "-"]
    banner.setVisible(False)
    return banner, labels[0], labels[1]


def _set_invalid(widget: QWidget, on: bool) -> None:
    widget.setProperty("invalid", on)
    theme.repolish(widget)


# The photo formats the service accepts (claim.photo_type_not_allowed), by their first bytes.
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")


def photo_kind(head: bytes) -> str | None:
    """'jpeg', 'png', 'webp' or 'heic' from a file's first 16 bytes; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "heic"
    return None


def _photo_kinds(paths: list[Path]) -> list[str | None]:
    """Runs in a worker thread: the kind of each file, or 'missing'."""
    kinds: list[str | None] = []
    for path in paths:
        try:
            with path.open("rb") as f:
                kinds.append(photo_kind(f.read(16)))
        except OSError:
            kinds.append("missing")
    return kinds


class ClaimForm(QWidget):
    """File a claim for one account.

    Threading/async rule: Qt thread only; `submit` is an asyncSlot awaiting PortalClient on the
    qasync loop. Every edit schedules a draft save (debounced) to the DraftStore, so the form
    comes back as it was after a restart or a crash.
    """

    submitted = Signal(object, list)  # Claim, list[Path] of photos to upload
    closed = Signal()
    draftChanged = Signal()

    def __init__(self, client: PortalClient, account_id: str, drafts: DraftStore) -> None:
        super().__init__()
        self.client = client
        self.account_id = account_id
        self.drafts = drafts
        self.overview: AccountOverview | None = None
        self.photos: list[Path] = []
        self.errors: dict[str, QLabel] = {}
        self.inputs: dict[str, QWidget] = {}
        self._restoring = False
        self.busy = False
        self.saved_at: datetime | None = None
        self.tasks = TaskScope()  # photo checks; cancelled with the page (ClaimsPage.shutdown)
        self.setStyleSheet(FORM_QSS)

        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(DRAFT_DELAY_MS)
        self._save_timer.timeout.connect(self.save_draft)

        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(16)

        self.form_error, self.form_error_title, self.form_error_text = _banner("critical")
        self.form_error_title.setText("We could not file the claim")
        box.addWidget(self.form_error)

        details = Card("What happened", "Tell us what you know now; you can add photos and details later.")
        details.setObjectName("ClaimDetailsCard")
        grid = QGridLayout()
        grid.setHorizontalSpacing(20)
        grid.setVerticalSpacing(14)

        self.policy = ComboBox()
        self.policy.setAccessibleName("Policy")
        self.vehicle = QLineEdit()
        self.vehicle.setPlaceholderText("e.g. 2021 Subaru Outback, plate IL AB 12345")
        self.vehicle.setAccessibleName("Vehicle")
        self.loss_at = QDateTimeEdit()
        self.loss_at.setCalendarPopup(True)
        self.loss_at.setDisplayFormat("d MMM yyyy  HH:mm")
        self.loss_at.setAccessibleName("Date and time of the loss")
        self.loss_type = ComboBox()
        self.loss_type.setAccessibleName("Type of loss")
        self.loss_type.addItem("Choose…", "")
        for code, text in words.LOSS_TYPES.items():
            self.loss_type.addItem(text, code)
        self.location = QLineEdit()
        self.location.setPlaceholderText("Street and town, or a landmark")
        self.location.setAccessibleName("Where it happened")
        self.description = QPlainTextEdit()
        self.description.setPlaceholderText("What happened, and what was damaged")
        self.description.setAccessibleName("Description")
        self.description.setFixedHeight(96)
        self.other_parties = QPlainTextEdit()
        self.other_parties.setPlaceholderText("Names, plates, insurers of anyone else involved")
        self.other_parties.setAccessibleName("Other parties")
        self.other_parties.setFixedHeight(64)
        self.police_report = QLineEdit()
        self.police_report.setPlaceholderText("If the police attended")
        self.police_report.setAccessibleName("Police report number")
        self.injuries = QCheckBox("Someone was hurt")
        self.injuries.setAccessibleName("Someone was hurt")
        self.injury_details = QPlainTextEdit()
        self.injury_details.setPlaceholderText("Who was hurt, and how")
        self.injury_details.setAccessibleName("Injury details")
        self.injury_details.setFixedHeight(64)

        self.vehicle_cell = self._field(grid, 0, 1, "Vehicle", self.vehicle, "vehicle")
        self._field(grid, 0, 0, "Policy", self.policy, "policy_id")
        self.loss_zone = label("", "muted")
        self._field(grid, 1, 0, "Date and time of the loss", self.loss_at, "loss_at", hint=self.loss_zone)
        self._field(grid, 1, 1, "Type of loss", self.loss_type, "loss_type")
        self._field(grid, 2, 0, "Where it happened", self.location, "location", span=2)
        self._field(grid, 3, 0, "Description", self.description, "description", span=2)
        self._field(grid, 4, 0, "Other parties (optional)", self.other_parties, "other_parties")
        self._field(grid, 4, 1, "Police report number (optional)", self.police_report, "police_report")
        injuries_box = QVBoxLayout()
        injuries_box.setSpacing(6)
        injuries_box.addWidget(self.injuries)
        injuries_box.addWidget(self.injury_details)
        self.errors["injury_details"] = self._error_label()
        injuries_box.addWidget(self.errors["injury_details"])
        self.inputs["injury_details"] = self.injury_details
        grid.addLayout(injuries_box, 5, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        details.body.addLayout(grid)
        self.term_note, self.term_title, self.term_text = _banner("warning")
        self.term_text.setText("You can still file it: your claims handler will check whether it is covered.")
        details.body.addWidget(self.term_note)
        box.addWidget(details)

        photos = Card(
            "Photos", "Damage, the scene, the other vehicle's plate, receipts. Add more any time later."
        )
        self.drop = DropArea()
        self.drop.filesChosen.connect(self.add_photos)
        photos.body.addWidget(self.drop)
        self.photo_error = self._error_label()
        self.photo_error.setObjectName("PhotoRefused")
        photos.body.addWidget(self.photo_error)
        self.photo_list = QVBoxLayout()
        self.photo_list.setSpacing(0)
        photos.body.addLayout(self.photo_list)
        box.addWidget(photos)

        footer = QHBoxLayout()
        footer.setSpacing(12)
        self.draft_note = label("", "muted")
        footer.addWidget(self.draft_note, 1)
        self.discard_button = QPushButton("Discard draft")
        self.discard_button.setProperty("kind", "quiet")
        self.discard_button.clicked.connect(self.discard)
        footer.addWidget(self.discard_button)
        self.close_button = QPushButton("Back to claims")
        self.close_button.clicked.connect(self.closed.emit)
        footer.addWidget(self.close_button)
        self.submit_button = QPushButton("Submit claim")
        self.submit_button.setProperty("kind", "primary")
        self.submit_button.setAccessibleName("Submit claim")
        self.submit_button.clicked.connect(self.submit)
        footer.addWidget(self.submit_button)
        box.addLayout(footer)

        for widget in (self.vehicle, self.location, self.police_report):
            widget.textChanged.connect(self._edited)
        for editor in (self.description, self.other_parties, self.injury_details):
            editor.textChanged.connect(self._edited)
        self.loss_at.dateTimeChanged.connect(self._edited)
        self.loss_type.currentIndexChanged.connect(self._edited)
        self.policy.currentIndexChanged.connect(self._policy_changed)
        self.injuries.toggled.connect(self._edited)
        # A field's message goes as soon as the person changes that field (it stayed red before).
        for key, input_widget in self.inputs.items():
            self._clear_on_change(key, input_widget)
        self._sync_visibility()

    # --- layout helpers ----------------------------------------------------------------------

    def _error_label(self) -> QLabel:
        error = label("", "field-error", wrap=True)
        error.setVisible(False)
        return error

    def _field(
        self,
        grid: QGridLayout,
        row: int,
        col: int,
        caption: str,
        widget: QWidget,
        key: str,
        *,
        span: int = 1,
        hint: QLabel | None = None,
    ) -> QWidget:
        cell = QWidget()
        box = QVBoxLayout(cell)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(5)
        title = label(caption, "field-label")
        title.setBuddy(widget)
        box.addWidget(title)
        box.addWidget(widget)
        if hint is not None:
            box.addWidget(hint)
        self.errors[key] = self._error_label()
        box.addWidget(self.errors[key])
        box.addStretch(1)
        self.inputs[key] = widget
        grid.addWidget(cell, row, col, 1, span)
        return cell

    # --- data --------------------------------------------------------------------------------

    def selected_policy(self) -> PolicySummary | None:
        if self.overview is None:
            return None
        return self.overview.policy(self.policy.currentData() or "")

    def set_overview(self, overview: AccountOverview) -> None:
        """Offer this account's policies; keep what is selected (or restore the draft's choice)."""
        self.overview = overview
        current = self.policy.currentData()
        self._restoring = True
        try:
            self.policy.clear()
            for p in overview.policies:
                self.policy.addItem(f"{wording.product_line(p.product_line)} · {p.number}", p.id)
            index = self.policy.findData(current) if current else -1
            self.policy.setCurrentIndex(max(index, 0))
        finally:
            self._restoring = False
        self._sync_visibility()

    def start_new(self) -> None:
        """Open the form: restore the saved draft, or start blank with the time set to now."""
        draft = self.drafts.load()
        if draft:
            self.restore(draft)
        else:
            self.reset()

    def reset(self) -> None:
        self._restoring = True
        try:
            for w in (self.vehicle, self.location, self.police_report):
                w.clear()
            for t in (self.description, self.other_parties, self.injury_details):
                t.clear()
            self.loss_type.setCurrentIndex(0)
            self.injuries.setChecked(False)
            self._set_loss_time(None)
            self.photos = []
            self._render_photos()
            self.saved_at = None
        finally:
            self._restoring = False
        self.clear_errors()
        self._sync_visibility()
        self.draft_note.setText("Your answers are saved on this computer as you type.")

    def gather(self) -> dict[str, Any]:
        """The form as a draft: only what the person typed or chose; nothing secret."""
        return {
            "policy_id": self.policy.currentData() or "",
            "vehicle": self.vehicle.text(),
            "loss_at": self.loss_at.dateTime().toString(Qt.DateFormat.ISODate),
            "loss_type": self.loss_type.currentData() or "",
            "location": self.location.text(),
            "description": self.description.toPlainText(),
            "other_parties": self.other_parties.toPlainText(),
            "police_report": self.police_report.text(),
            "injuries": self.injuries.isChecked(),
            "injury_details": self.injury_details.toPlainText(),
            "photos": [str(p) for p in self.photos],
            "saved_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        }

    def restore(self, draft: dict[str, Any]) -> None:
        self._restoring = True
        try:
            index = self.policy.findData(draft.get("policy_id") or "")
            if index >= 0:
                self.policy.setCurrentIndex(index)
            self.vehicle.setText(str(draft.get("vehicle") or ""))
            self._set_loss_time(str(draft.get("loss_at") or "") or None)
            self.loss_type.setCurrentIndex(max(self.loss_type.findData(draft.get("loss_type") or ""), 0))
            self.location.setText(str(draft.get("location") or ""))
            self.description.setPlainText(str(draft.get("description") or ""))
            self.other_parties.setPlainText(str(draft.get("other_parties") or ""))
            self.police_report.setText(str(draft.get("police_report") or ""))
            self.injuries.setChecked(bool(draft.get("injuries")))
            self.injury_details.setPlainText(str(draft.get("injury_details") or ""))
            self.photos = [Path(p) for p in draft.get("photos") or [] if isinstance(p, str)]
            self._render_photos()
        finally:
            self._restoring = False
        self._sync_visibility()
        saved = str(draft.get("saved_at") or "")
        when = ""
        if saved:
            try:
                when = " " + time_in(datetime.fromisoformat(saved), this_computer())
            except ValueError:
                when = ""
        self.draft_note.setText(f"Draft restored from{when or ' earlier'}: carry on where you left off.")

    def _set_loss_time(self, iso: str | None) -> None:
        value = QDateTime.fromString(iso, Qt.DateFormat.ISODate) if iso else QDateTime()
        if not value.isValid():
            now = self._policy_now().replace(second=0, microsecond=0)
            value = QDateTime(now)
        self.loss_at.setDateTime(value)

    def _policy_now(self) -> datetime:
        policy = self.selected_policy()
        zone = ZoneInfo(policy.time_zone) if policy else None
        return datetime.now(zone).replace(tzinfo=None) if zone else datetime.now()

    def loss_at_aware(self) -> datetime | None:
        """The entered wall time, read in the policy's time zone (where the dates of cover live)."""
        policy = self.selected_policy()
        if policy is None:
            return None
        naive = self.loss_at.dateTime().toPython()
        assert isinstance(naive, datetime)
        return naive.replace(tzinfo=ZoneInfo(policy.time_zone))

    # --- reacting ----------------------------------------------------------------------------

    def _policy_changed(self) -> None:
        self._sync_visibility()
        self._edited()

    def _edited(self) -> None:
        self._sync_visibility()
        if self._restoring:
            return
        self._save_timer.start()

    def _sync_visibility(self) -> None:
        policy = self.selected_policy()
        self.vehicle_cell.setVisible(policy is None or policy.product_line == "auto")
        self.injury_details.setVisible(self.injuries.isChecked())
        if policy is not None:
            city = policy.time_zone.rsplit("/", 1)[-1].replace("_", " ")
            self.loss_zone.setText(f"Local time where the policy is ({city})")
        self._check_term()

    def _check_term(self) -> None:
        policy = self.selected_policy()
        when = self.loss_at_aware()
        outside = (
            policy is not None
            and when is not None
            and not (policy.effective_date <= when.date() <= policy.expiry_date)  # type: ignore[operator]
        )
        if outside and policy is not None:
            self.term_title.setText(
                f"The date is outside the cover of {policy.number} "
                f"({wording.day(policy.effective_date)} to {wording.day(policy.expiry_date)})"
            )
        self.term_note.setVisible(outside)

    def save_draft(self) -> None:
        self._save_timer.stop()
        try:
            self.drafts.save(self.gather())
        except OSError:
            self.draft_note.setText(
                "Could not save a draft on this computer; your answers are kept while it is open."
            )
            return
        self.saved_at = datetime.now()
        self.draft_note.setText(f"Draft saved at {self.saved_at:%H:%M} · kept on this computer")
        self.draftChanged.emit()

    def discard(self) -> None:
        self._save_timer.stop()
        self.drafts.clear()
        self.reset()
        self.draftChanged.emit()

    # --- photos ------------------------------------------------------------------------------

    def add_photos(self, paths: list[Path]) -> asyncio.Future[None] | None:
        """Add the files that are photos; refuse the others at once, next to the drop area.

        The first bytes of each file are read off the GUI thread (a slow or network folder must
        not freeze the window); the draft takes only what the service will accept as a photo,
        so a text file is refused now, not after submit with a pointless Retry.
        """
        return self.tasks.spawn(self._add_checked(list(paths)))

    async def _add_checked(self, paths: list[Path]) -> None:
        kinds = await asyncio.to_thread(_photo_kinds, paths)
        known = {p.resolve() for p in self.photos}
        refused: list[str] = []
        for path, kind in zip(paths, kinds, strict=True):
            if kind == "missing":
                refused.append(f"{path.name}: {error_wording.message('upload.missing')}")
            elif kind is None:
                refused.append(f"{path.name}: {error_wording.message('claim.photo_type_not_allowed')}")
            elif path.resolve() not in known:
                self.photos.append(path)
                known.add(path.resolve())
        self.photo_error.setText("\n".join(refused))
        self.photo_error.setVisible(bool(refused))
        self._render_photos()
        self._edited()

    def remove_photo(self, path: Path) -> None:
        self.photo_error.setVisible(False)
        self.photos = [p for p in self.photos if p != path]
        self._render_photos()
        self._edited()

    def _render_photos(self) -> None:
        clear_layout(self.photo_list)
        for path in self.photos:
            row = QFrame()
            row.setObjectName("ListRow")
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 8, 0, 8)
            line.setSpacing(12)
            thumb = Thumb(40)
            thumb.load(path)
            line.addWidget(thumb)
            try:
                size = words.file_size(path.stat().st_size)
            except OSError:
                size = "no longer on this computer"
            line.addWidget(label(path.name, "value"), 1)
            line.addWidget(label(size, "muted"))
            remove = QPushButton("Remove")
            remove.setProperty("kind", "quiet")
            remove.setAccessibleName(f"Remove {path.name}")
            remove.clicked.connect(lambda _=False, p=path: self.remove_photo(p))
            line.addWidget(remove)
            self.photo_list.addWidget(row)
            row.show()

    # --- submitting --------------------------------------------------------------------------

    def _clear_on_change(self, key: str, widget: QWidget) -> None:
        def clear(*_args: object) -> None:
            self.clear_error(key)

        for signal_name in ("textChanged", "dateTimeChanged", "currentIndexChanged", "toggled"):
            signal = getattr(widget, signal_name, None)
            if signal is not None:
                signal.connect(clear)
                return

    def clear_error(self, key: str) -> None:
        error = self.errors.get(key)
        if error is not None and error.isVisible():
            error.setVisible(False)
            if key in self.inputs:
                _set_invalid(self.inputs[key], False)

    def clear_errors(self) -> None:
        for key, error in self.errors.items():
            error.setVisible(False)
            if key in self.inputs:
                _set_invalid(self.inputs[key], False)
        self.form_error.setVisible(False)

    def show_error(self, field: str | None, message: str) -> None:
        if field and field in self.errors:
            self.errors[field].setText(message)
            self.errors[field].setVisible(True)
            if field in self.inputs:
                _set_invalid(self.inputs[field], True)
            return
        self.form_error_text.setText(message)
        self.form_error.setVisible(True)

    def validate(self) -> dict[str, str]:
        """Checks we can make without the service, worded like the service's own."""
        problems: dict[str, str] = {}
        policy = self.selected_policy()
        if policy is None:
            problems["policy_id"] = "Choose the policy this claim is for."
        elif policy.product_line == "auto" and not self.vehicle.text().strip():
            problems["vehicle"] = "Say which vehicle was involved."
        when = self.loss_at_aware()
        if when is not None and when > datetime.now(when.tzinfo) + timedelta(minutes=5):
            problems["loss_at"] = "The date and time of the loss cannot be in the future."
        if not self.loss_type.currentData():
            problems["loss_type"] = "Choose what happened from the list."
        if len(self.location.text().strip()) < 3:
            problems["location"] = "Say where it happened."
        if len(self.description.toPlainText().strip()) < 10:
            problems["description"] = "Describe what happened in a sentence or two."
        if self.injuries.isChecked() and not self.injury_details.toPlainText().strip():
            problems["injury_details"] = "Tell us briefly who was hurt and how."
        return problems

    def body(self) -> dict[str, Any]:
        policy = self.selected_policy()
        when = self.loss_at_aware()
        assert policy is not None and when is not None
        return {
            "account_id": self.account_id,
            "policy_id": policy.id,
            "loss_type": self.loss_type.currentData(),
            "loss_at": when.isoformat(),
            "location": self.location.text().strip(),
            "description": self.description.toPlainText().strip(),
            "vehicle": self.vehicle.text().strip() if policy.product_line == "auto" else "",
            "other_parties": self.other_parties.toPlainText().strip(),
            "police_report": self.police_report.text().strip(),
            "injuries": self.injuries.isChecked(),
            "injury_details": self.injury_details.toPlainText().strip() if self.injuries.isChecked() else "",
        }

    @qasync.asyncSlot()
    async def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        problems = self.validate()
        if problems:
            for field, message in problems.items():
                self.show_error(field, message)
            first = next(f for f in FIELD_ORDER if f in problems)
            self.inputs[first].setFocus()
            return
        self.save_draft()  # whatever happens next, what was typed is safe
        self.busy = True
        self.submit_button.setEnabled(False)
        self.submit_button.setText("Submitting…")
        try:
            claim = await self.client.file_claim(**self.body())
        except ApiError as exc:
            if exc.code == "request.invalid" and exc.field_errors:
                for fe in exc.field_errors:
                    self.show_error(fe.field.split(".")[0], fe.message)
            else:
                where, message = words.error_message(exc.code, exc.detail)
                self.show_error(where, message)
            return
        except PortalError:
            self.show_error(
                None, "Can't reach the Portal service. Your draft is saved; try again in a moment."
            )
            return
        finally:
            self.busy = False
            self.submit_button.setEnabled(True)
            self.submit_button.setText("Submit claim")
        photos = list(self.photos)
        self.drafts.clear()
        self.reset()
        self.draftChanged.emit()
        self.submitted.emit(claim, photos)
