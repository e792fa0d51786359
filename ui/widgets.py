"""Small building blocks every page uses: cards, badges, banners, empty states, page scaffold."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from ui import theme


def label(text: str = "", role: str | None = None, *, wrap: bool = False, name: str = "") -> QLabel:
    widget = QLabel(text)
    if role:
        widget.setProperty("role", role)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(wrap)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return widget


def clear_layout(layout: QLayout) -> None:
    """Remove and delete everything in a layout (pages rebuild when fresh data arrives)."""
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            break
        child = item.widget()
        if child is not None:
            child.setParent(None)
            child.deleteLater()
        elif (inner := item.layout()) is not None:
            clear_layout(inner)


class Badge(QLabel):
    """A coloured status pill; `tone` is success / warning / danger / info / neutral."""

    def __init__(self, text: str, tone: str = "neutral") -> None:
        super().__init__(text)
        self.setProperty("badge", tone)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(f"Status: {text}")


class Card(QFrame):
    """A white rounded panel with an optional title row."""

    def __init__(
        self,
        title: str = "",
        subtitle: str = "",
        *,
        icon_name: str | None = None,
        badge: Badge | None = None,
    ) -> None:
        super().__init__()
        self.setProperty("card", True)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(20, 18, 20, 18)
        self.body.setSpacing(10)
        if title:
            head = QHBoxLayout()
            head.setSpacing(12)
            if icon_name:
                ic = QLabel()
                ic.setPixmap(theme.pixmap(icon_name, theme.BLUE, 26))
                ic.setFixedSize(40, 40)
                ic.setAlignment(Qt.AlignmentFlag.AlignCenter)
                ic.setStyleSheet("background: #EAF1FB; border-radius: 10px;")
                head.addWidget(ic, 0, Qt.AlignmentFlag.AlignTop)
            titles = QVBoxLayout()
            titles.setSpacing(2)
            titles.addWidget(label(title, name="CardTitle"))
            if subtitle:
                titles.addWidget(label(subtitle, name="CardSubtitle"))
            head.addLayout(titles, 1)
            if badge is not None:
                head.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
            self.body.addLayout(head)
            self.setAccessibleName(title)

    def divider(self) -> None:
        line = QFrame()
        line.setObjectName("CardDivider")
        self.body.addWidget(line)

    def facts(self, rows: list[tuple[str, str, str]], columns: int = 2) -> QGridLayout:
        """A grid of (label, value, role) facts: label small and grey above its value."""
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(12)
        for i, (caption, value, role) in enumerate(rows):
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(label(caption, "label"))
            cell.addWidget(label(value, role or "value", wrap=True))
            grid.addLayout(cell, i // columns, i % columns)
        for c in range(columns):
            grid.setColumnStretch(c, 1)
        self.body.addLayout(grid)
        return grid


class Banner(QFrame):
    """An alert needing attention: severity colour, icon, headline and explanation."""

    ICONS = {"critical": ("alert", theme.DANGER), "warning": ("alert", theme.WARNING)}

    def __init__(self, severity: str, headline: str, text: str = "") -> None:
        super().__init__()
        self.setProperty("banner", severity if severity in ("critical", "warning") else "info")
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 12, 16, 12)
        row.setSpacing(12)
        icon_name, color = self.ICONS.get(severity, ("info", theme.BLUE))
        ic = QLabel()
        ic.setPixmap(theme.pixmap(icon_name, color, 22))
        row.addWidget(ic, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        words.setSpacing(2)
        title = label(headline, wrap=True)
        title.setProperty("banner-title", True)
        words.addWidget(title)
        if text:
            words.addWidget(label(text, wrap=True))
        row.addLayout(words, 1)
        self.setAccessibleName(f"{headline}. {text}")


class EmptyState(QFrame):
    """What a page shows when there is nothing to list: an icon, a headline and a next step."""

    def __init__(self, icon_name: str, title: str, text: str) -> None:
        super().__init__()
        self.setProperty("card", True)
        box = QVBoxLayout(self)
        box.setContentsMargins(32, 36, 32, 36)
        box.setSpacing(8)
        ic = QLabel()
        ic.setPixmap(theme.pixmap(icon_name, "#8A9BB4", 40))
        ic.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(ic)
        t = label(title, name="EmptyTitle")
        t.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(t)
        body = label(text, wrap=True, name="EmptyText")
        body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(body)
        self.setAccessibleName(f"{title}. {text}")


class Page(QScrollArea):
    """A scrolling page with a title and subtitle; content goes into `self.content`."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        super().__init__()
        self.setObjectName("PageScroll")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("PageBody")
        outer = QVBoxLayout(body)
        outer.setContentsMargins(36, 28, 36, 32)
        outer.setSpacing(18)
        head = QVBoxLayout()
        head.setSpacing(4)
        self.title_label = label(title, name="PageTitle")
        self.subtitle_label = label(subtitle, name="PageSubtitle", wrap=True)
        head.addWidget(self.title_label)
        head.addWidget(self.subtitle_label)
        self.subtitle_label.setVisible(bool(subtitle))
        outer.addLayout(head)
        self.content = QVBoxLayout()
        self.content.setSpacing(16)
        outer.addLayout(self.content)
        outer.addStretch(1)
        self.setWidget(body)
        self.setAccessibleName(title)

    def set_subtitle(self, text: str) -> None:
        self.subtitle_label.setText(text)
        self.subtitle_label.setVisible(bool(text))

    def section(self, title: str) -> QLabel:
        heading = label(title, name="SectionTitle")
        self.content.addWidget(heading)
        return heading


def two_columns(widgets: list[QWidget], columns: int = 2) -> QGridLayout:
    """Lay cards out in a grid that fills each row before starting the next."""
    grid = QGridLayout()
    grid.setHorizontalSpacing(16)
    grid.setVerticalSpacing(16)
    for i, w in enumerate(widgets):
        grid.addWidget(w, i // columns, i % columns)
    for c in range(columns):
        grid.setColumnStretch(c, 1)
    return grid


class ComboBox(QComboBox):
    """A drop-down whose list shows every item in full.

    Qt's default combo delegate ignores the theme's item rules (row height, padding), and the
    list is only as wide as the closed box, so long items were cut and rows looked squeezed
    under the frame. A styled delegate takes the theme's rules; the list widens to its longest
    item when it opens (never wider than the screen).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setItemDelegate(QStyledItemDelegate(self))
        self.setMaxVisibleItems(12)

    def showPopup(self) -> None:
        view = self.view()
        wanted = view.sizeHintForColumn(0) + view.verticalScrollBar().sizeHint().width() + 8
        screen = self.screen().availableGeometry().width() if self.screen() else wanted
        view.setMinimumWidth(min(max(wanted, self.width()), screen - 40))
        super().showPopup()


class ResponsiveColumns(QWidget):
    """Cards side by side while there is room, one under the other when the window is narrow
    (two fixed columns overflowed a 1024-pixel window and cut the right-hand card)."""

    def __init__(self, widgets: list[QWidget], columns: int = 2, min_column_width: int = 380) -> None:
        super().__init__()
        self.items = widgets
        self.columns = columns
        self.min_column_width = min_column_width
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(16)
        self.grid.setVerticalSpacing(16)
        self._shown = 0
        # Take the width the page offers rather than demand two columns' worth: otherwise the
        # two-column minimum widens the page and the narrow layout never gets its chance.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._arrange(columns)

    def _arrange(self, columns: int) -> None:
        if columns == self._shown:
            return
        self._shown = columns
        for w in self.items:
            self.grid.removeWidget(w)
        for c in range(max(self.columns, 1)):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)
        for i, w in enumerate(self.items):
            self.grid.addWidget(w, i // columns, i % columns)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        fit = max(1, min(self.columns, self.width() // self.min_column_width))
        self._arrange(fit)
