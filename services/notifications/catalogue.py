"""The notice types: which channels each uses by default and which ones the law fixes."""

from __future__ import annotations

from dataclasses import dataclass

IN_APP = "in_app"
EMAIL = "email"
SMS = "sms"
# Every notice is kept in the in-app notification centre; email and text are the customer's choice.
CHOOSABLE = (EMAIL, SMS)


@dataclass(frozen=True)
class NoticeType:
    key: str
    defaults: frozenset[str]
    # Channels the customer cannot switch off: the notice of record a regulator expects.
    locked: frozenset[str] = frozenset()

    @property
    def required(self) -> bool:
        return bool(self.locked)


def _t(key: str, *on: str, locked: tuple[str, ...] = ()) -> NoticeType:
    return NoticeType(key, frozenset(on) | frozenset(locked), frozenset(locked))


TYPES: dict[str, NoticeType] = {
    t.key: t
    for t in (
        _t("welcome", EMAIL),
        _t("payment_due", EMAIL, SMS),
        _t("autopay_upcoming", EMAIL),
        _t("payment_received", EMAIL),
        _t("payment_failed", EMAIL, SMS),
        # Notices before, on and after a cancellation for non-payment are required by law: the
        # email copy is the notice of record and cannot be switched off (text is extra).
        _t("pending_cancellation", SMS, locked=(EMAIL,)),
        _t("policy_cancelled", SMS, locked=(EMAIL,)),
        _t("policy_reinstated", locked=(EMAIL,)),
        _t("policy_changed", EMAIL),
        _t("document_ready", EMAIL),
        _t("claim_received", EMAIL, SMS),
        _t("claim_update", EMAIL, SMS),
        _t("case_update", EMAIL),
    )
}


def channel_enabled(notice: NoticeType, channel: str, choice: bool | None) -> bool:
    """Whether a channel is used: locked ones always, else the customer's choice or the default."""
    if channel == IN_APP or channel in notice.locked:
        return True
    return notice.defaults.__contains__(channel) if choice is None else choice
