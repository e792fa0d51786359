"""How documents print money, dates and free text."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "CAD": "CA$"}


def pdf_money(amount_minor: int, currency: str = "USD") -> str:
    """Integer minor units to a display amount ("$1,488.00"); no float on the way."""
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 100)
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = f"{major:,}.{minor:02d}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def pdf_date(value: date | None) -> str:
    """A business date as printed on documents ("Nov 23, 2026")."""
    return value.strftime("%b %d, %Y").replace(" 0", " ") if value else "—"


def pdf_datetime(value: datetime, time_zone: str = "UTC") -> str:
    """An aware instant shown in the policy's zone, with the zone named."""
    local = value.astimezone(ZoneInfo(time_zone))
    return local.strftime("%b %d, %Y %H:%M ") + (local.tzname() or time_zone)


def escape(text: object) -> str:
    """Paragraph text is mini-markup: escape what the data could contain."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
