"""How the client writes money, dates and times: one place, so every page says it the same way.

- Money: integer minor units with the currency's symbol and thousands grouping ("$1,240.00"),
  never through a float and never through the process locale (the C locale drops the grouping,
  which is how one page said "$1240.00" while another said "$1,240.00").
- Dates: one style, "12 Nov 2026" (no 03/04 puzzles in any locale); `QT_DATE_FORMAT` is the same
  style for QDateEdit.
- Times: service times are UTC; a person reads them in the policy's time zone (business dates,
  SLA deadlines and due dates are computed there), always labelled with the zone's abbreviation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "CAD": "CA$"}
QT_DATE_FORMAT = "d MMM yyyy"
NONE = "—"


def money(amount_minor: int, currency: str = "USD") -> str:
    """Integer minor units as "$1,240.00" (every currency we sell in has two decimals)."""
    code = (currency or "USD").upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    sign = "-" if amount_minor < 0 else ""
    units, cents = divmod(abs(amount_minor), 100)
    text = f"{units:,}.{cents:02d}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code}"


def amount_text(amount_minor: int) -> str:
    """An amount for an editable field: "465.00", no symbol, no grouping (easy to retype)."""
    units, cents = divmod(abs(amount_minor), 100)
    return f"{'-' if amount_minor < 0 else ''}{units}.{cents:02d}"


def parse_amount(text: str) -> int | None:
    """'1,234.50' or '$1,234.5' -> 123450 minor units; None when it is not an amount."""
    raw = text.strip().replace(",", "").replace(" ", "")
    for symbol in sorted(CURRENCY_SYMBOLS.values(), key=len, reverse=True):
        raw = raw.replace(symbol, "")
    whole, _, frac = raw.partition(".")
    if not whole and not frac:
        return None
    if not (whole or "0").isdigit() or (frac and not frac.isdigit()) or len(frac) > 2:
        return None
    return int(whole or "0") * 100 + int((frac + "00")[:2])


def day(value: date | None) -> str:
    """A calendar date: "12 Nov 2026"."""
    if value is None:
        return NONE
    return f"{value.day} {value:%b %Y}"


def zone(name: str | None) -> tzinfo:
    """The IANA zone by name; UTC when missing or unknown (then the label says UTC)."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def account_zone(zones: Iterable[str | None]) -> tzinfo:
    """The zone an account's times are shown in: its policies' zone (the first one named)."""
    return zone(next((z for z in zones if z), None))


def time_in(value: datetime | None, where: tzinfo | str | None, *, seconds: bool = False) -> str:
    """A service time in the policy's zone, labelled: "12 Nov 2026, 15:04 CST"."""
    if value is None:
        return NONE
    tz = zone(where) if isinstance(where, str) or where is None else where
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # the service sends UTC; a bare value is UTC too
    local = value.astimezone(tz)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{day(local.date())}, {clock} {zone_label(local)}"


def zone_label(local: datetime) -> str:
    """The zone's abbreviation at that moment (CST/CDT, GMT/BST), or its UTC offset."""
    name = local.tzname() or ""
    if name and not name.startswith(("+", "-")):
        return name
    offset = local.utcoffset()
    if offset is None:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"
