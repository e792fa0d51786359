"""Notice wording from resources/notifications: in-app text, SMS, and email (plain + branded HTML)."""

from __future__ import annotations

import base64
import html
import json
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

RESOURCES = Path(__file__).resolve().parent.parent.parent / "resources"
TEMPLATES = RESOURCES / "notifications"
SMS_MAX = 480  # three concatenated SMS segments; longer texts are cut at a word

CURRENCY_SIGNS = {"USD": "$", "GBP": "£", "EUR": "€", "CAD": "CA$"}

FAILURE_REASONS = {
    "card_declined": "the card was declined",
    "expired_card": "the card has expired",
    "insufficient_funds": "the card has insufficient funds",
    "incorrect_cvc": "the security code was not accepted",
    "processing_error": "the card issuer had a processing error",
    "authentication_required": "the bank asked for confirmation",
    "canceled": "the payment was cancelled",
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@cache
def branding() -> dict[str, Any]:
    return json.loads((RESOURCES / "documents" / "branding.json").read_text(encoding="utf-8"))


@cache
def _wording() -> dict[str, dict[str, str]]:
    with (TEMPLATES / "notices.toml").open("rb") as fh:
        return tomllib.load(fh)


@cache
def _layout(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


@cache
def _logo_data_uri() -> str:
    svg = (RESOURCES / "icons" / "logo-white.svg").read_bytes()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def money(amount_minor: int | None, currency: str | None) -> str:
    """Integer minor units to display text: 12345 USD -> $123.45 (no floats on the way)."""
    if amount_minor is None:
        return ""
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(int(amount_minor)), 100)
    symbol = CURRENCY_SIGNS.get((currency or "").upper(), f"{currency} " if currency else "")
    return f"{sign}{symbol}{whole:,}.{cents:02d}"


def day(value: object) -> str:
    """A business date as people read it: Mon 7 Dec 2026."""
    if isinstance(value, str) and value:
        try:
            parsed = date.fromisoformat(value[:10])
        except ValueError:
            return value
        value = parsed
    if isinstance(value, date):
        return f"{value:%a} {value.day} {value:%b %Y}"
    return "" if value is None else str(value)


def fields(data: dict[str, Any]) -> dict[str, str]:
    """The notice's data as template values (money and dates formatted, brand facts added)."""
    out = {k: "" if v is None else str(v) for k, v in data.items()}
    brand = branding()
    out.setdefault("phone", brand["phone"])
    if "amount_minor" in data:
        out["amount"] = money(data.get("amount_minor"), data.get("currency"))
    for key in ("due_date", "cancel_on", "cancelled_on", "reinstate_until", "acknowledge_by", "review_by"):
        if key in data:
            out[key] = day(data[key])
    if "failure_code" in data:
        out["reason"] = FAILURE_REASONS.get(str(data["failure_code"]), "the card issuer refused it")
    return out


def _fill(text: str, values: dict[str, str]) -> str:
    # Two passes: stage texts themselves hold $names (amount, dates).
    once = Template(text).safe_substitute(values)
    return Template(once).safe_substitute(values)


def wording(notice_type: str, data: dict[str, Any]) -> dict[str, str]:
    """title, body, detail, action and sms of a notice, filled in."""
    values = fields(data)
    return {k: _fill(v, values) for k, v in _wording()[notice_type].items()}


def in_app(notice_type: str, data: dict[str, Any]) -> tuple[str, str]:
    """Title and text shown in the notification centre."""
    w = wording(notice_type, data)
    return w["title"][:200], w["body"]


def sms_text(notice_type: str, data: dict[str, Any]) -> str:
    text = " ".join(wording(notice_type, data)["sms"].split())
    if len(text) <= SMS_MAX:
        return text
    return text[: SMS_MAX - 1].rsplit(" ", 1)[0] + "…"


def _facts(data: dict[str, Any]) -> list[tuple[str, str]]:
    values = fields(data)
    rows = [
        ("Policy", values.get("policy_number", "")),
        ("Claim", values.get("claim_number", "")),
        ("Amount", values.get("amount", "")),
        ("Due date", values.get("due_date", "")),
        ("Cancellation date", values.get("cancel_on", "")),
        ("Receipt", values.get("receipt_number", "")),
    ]
    return [(k, v) for k, v in rows if v]


def email(notice_type: str, data: dict[str, Any], *, full_name: str, required: bool) -> RenderedEmail:
    """Subject, plain text and branded HTML of one notice."""
    w = wording(notice_type, data)
    brand = branding()
    colors = brand["colors"]
    prefs_text = (
        "This notice is required by law, so it is always sent by email."
        if required
        else "You can choose which notices we send by email or text in the Portal app: "
        "the bell, then Notification settings."
    )
    facts = _facts(data)
    common = {
        "short_name": brand["short_name"],
        "insurer_name": brand["insurer_name"],
        "insurer_code": brand["insurer_code"],
        "address": ", ".join(brand["address_lines"]),
        "phone": brand["phone"],
        "website": brand["website"],
    }
    text = _layout("email.txt").safe_substitute(
        common,
        title=w["title"],
        full_name=full_name,
        body=w["body"],
        detail=w["detail"],
        action=w["action"],
        facts="\n".join(f"{k}: {v}" for k, v in facts) + ("\n" if facts else ""),
        required_line="IMPORTANT NOTICE\n" if required else "",
        preferences_note=prefs_text,
    )
    esc = {k: html.escape(v) for k, v in common.items()}
    fact_rows = "".join(
        f'<tr><td style="padding:6px 16px 6px 0;color:{colors["muted"]};font-size:13px;">'
        f"{html.escape(k)}</td>"
        f'<td style="padding:6px 0;font-size:14px;font-weight:bold;">{html.escape(v)}</td></tr>'
        for k, v in facts
    )
    facts_html = (
        f'<table role="presentation" cellpadding="0" cellspacing="0" style="margin:4px 0 18px 0;'
        f'border-top:1px solid {colors["rule"]};border-bottom:1px solid {colors["rule"]};width:100%;">'
        f"{fact_rows}</table>"
        if facts
        else ""
    )
    badge = (
        '<div style="display:inline-block;margin:0 0 12px 0;padding:3px 10px;border-radius:10px;'
        'background:#FBEAEA;color:#A8231B;font-size:12px;font-weight:bold;">Important notice</div>'
        if required
        else ""
    )
    logo = f'<img src="{_logo_data_uri()}" width="32" height="32" alt="{esc["short_name"]}">'
    body_html = _layout("email.html").safe_substitute(
        esc,
        **{k: colors[k] for k in ("primary", "navy", "text", "muted", "rule", "band")},
        title=html.escape(w["title"]),
        full_name=html.escape(full_name),
        body=html.escape(w["body"]),
        detail=html.escape(w["detail"]),
        action=html.escape(w["action"]),
        facts=facts_html,
        required_badge=badge,
        logo=logo,
        preferences_note=html.escape(prefs_text),
    )
    return RenderedEmail(subject=w["title"], text=text, html=body_html)
