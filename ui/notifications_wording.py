"""Words for notifications in the app: type names, icons, and messages from the API's codes."""

from __future__ import annotations

from datetime import UTC, datetime

from ui import error_wording

# (label in settings, icon in the centre) per notice type, in the order settings lists them.
TYPES: dict[str, tuple[str, str]] = {
    "welcome": ("Welcome to Portal", "user"),
    "payment_due": ("Payment due soon", "calendar"),
    "autopay_upcoming": ("Autopay will charge your card", "payments"),
    "payment_received": ("Payment received", "check"),
    "payment_failed": ("Payment failed", "alert"),
    "pending_cancellation": ("Policy about to be cancelled", "alert"),
    "policy_cancelled": ("Policy cancelled", "alert"),
    "policy_reinstated": ("Policy reinstated", "policies"),
    "policy_changed": ("Policy changed", "policies"),
    "document_ready": ("New document ready", "documents"),
    "claim_received": ("Claim received", "claims"),
    "claim_update": ("Claim status changed or more information needed", "claims"),
    "case_update": ("Updates on your complaints and requests", "mail"),
}


def type_label(notice_type: str) -> str:
    return TYPES.get(notice_type, (notice_type.replace("_", " ").capitalize(), "info"))[0]


def type_icon(notice_type: str) -> str:
    return TYPES.get(notice_type, ("", "info"))[1]


def error_text(code: str | None, fallback: str = "Something went wrong. Please try again.") -> str:
    return error_wording.message(code, fallback)


def when_text(when: datetime | None, now: datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', then the date: as people say it."""
    if when is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 24 * 3600:
        return f"{int(seconds // 3600)} h ago"
    local = when.astimezone()
    if seconds < 48 * 3600:
        return f"yesterday, {local:%H:%M}"
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"
