"""Pydantic building blocks shared by every domain's API schemas.

The constrained types below are the one place where the API's bounds live, so validation and the
OpenAPI document say the same thing: a value outside them is refused with 422 `request.invalid`
before any handler (or database driver) sees it. Integers stay within signed 64 bits everywhere
(SQLite and PostgreSQL both overflow beyond that) and within what makes business sense.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from datetime import date
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, Strict

INT64_MAX = 2**63 - 1

# Opaque ids are "<prefix>_<urlsafe base64>" (services.db.base.new_id); Stripe's are "pm_...".
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ID_MAX = 64
# The client chooses one per payment confirmation (services.payments.charging.REQUEST_KEY).
REQUEST_KEY_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
# Money: integer minor units. 10 million in major units is far above any premium, claim or refund.
MINOR_UNITS_MAX = 1_000_000_000


class RequestModel(BaseModel):
    """Request bodies refuse unknown fields and surrounding whitespace."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# What str.strip() removes, spelt out: regex engines (and fuzzers' generators) disagree about \s.
_SPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())
_SPACE_CLASS = _SPACE.replace("\x1c\x1d\x1e\x1f", "\x1c-\x1f")


def trimmed_min(low: int) -> dict[str, Any]:
    """Document "at least `low` characters after trimming", a rule the service checks with its own code.

    The service refuses a too-short text with a specific code (e.g. case.subject_too_short) the UI
    words next to the field, so pydantic does not check it; the document still has to say it, or a
    client (or fuzzer) reading it sends "  " and is surprised by the 422.
    """
    if low <= 1:
        return {"pattern": f"[^{_SPACE_CLASS}]"}
    edge, middle = f"[^{_SPACE_CLASS}]", "[\\s\\S]{" + str(low - 2) + ",}"
    return {"minLength": low, "pattern": f"^[{_SPACE_CLASS}]*{edge}{middle}{edge}[{_SPACE_CLASS}]*$"}


@functools.cache
def _categories_class(categories: frozenset[str]) -> str:
    """The inside of a regex character class holding every code point of the given categories."""
    ranges: list[tuple[int, int]] = []
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp)) in categories:
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    # Literal characters (JSON escapes them), so any regex dialect reads the class.
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


def filename_rules(schema: dict[str, Any]) -> None:
    """Document a photo's file name: 1-255 characters, no folder separators or control characters.

    services.claims.photos.check_filename refuses the rest with claim.photo_filename_invalid.
    A callable, so the scan of all of Unicode runs when the document is built, not at import.
    """
    forbidden = _categories_class(frozenset({"Cc", "Cf", "Zl", "Zp"}))
    schema.update({"minLength": 1, "maxLength": 255, "pattern": f"^[^/\\\\{forbidden}]+$"})


def text(high: int, *, low: int = 0, checked_by_service: bool = False) -> Any:
    """A free text field of at most `high` characters (at least `low` after trimming)."""
    if checked_by_service:
        return Field(max_length=high, json_schema_extra=trimmed_min(low))
    return Field(min_length=low, max_length=high) if low else Field(max_length=high)


def one_of(*values: str, default: Any = ...) -> Any:
    """One of a fixed list, refused by the service with its own code (e.g. case.category_unknown)."""
    # Any short text reaches the service, which names the refusal; the document lists the values.
    return Field(default, max_length=100, json_schema_extra={"enum": list(values)})


# A JSON true or false: not "yes", 1 or "on", which pydantic would otherwise read as true.
Flag = Annotated[bool, Strict()]

# Ids in a body or query. Syntax only: an id that matches but does not exist is a 404.
IdStr = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
RequestKey = Annotated[str, Field(pattern=REQUEST_KEY_PATTERN, min_length=8, max_length=64)]
MinorUnits = Annotated[int, Field(ge=1, le=MINOR_UNITS_MAX)]
MinorUnitsOrZero = Annotated[int, Field(ge=0, le=MINOR_UNITS_MAX)]
PaymentDayOfMonth = Annotated[int, Field(ge=1, le=28)]

# Path and query parameters (FastAPI needs Path/Query, not Field, for those).
PathId = Annotated[str, Path(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
QueryId = Annotated[str, Query(min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)]
# An audit sequence number: the feed resumes after it (0 = from the start).
Seq = Annotated[int, Query(ge=0, le=INT64_MAX)]


def page_size(high: int) -> Any:
    """A page size between 1 and `high`."""
    return Query(ge=1, le=high)


_NUMBER = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")


def _iso_text(value: Any) -> Any:
    # pydantic reads a bare number as a Unix time; the document promises ISO-8601 text, so refuse it.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("use an ISO-8601 date or date-time")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]
# With its offset: "2026-11-23T09:15:02Z". A naive time would be read in nobody's zone.
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
