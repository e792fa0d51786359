"""`GET /api/v1/insurer`: the insurer profile, public (the sign-in window shows its phone)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.pdf import load_branding

router = APIRouter(tags=["insurer"])


class InsurerProfile(BaseModel):
    """The insurer as the customer sees it on every screen and document."""

    name: str
    short_name: str
    phone: str
    phone_hours: str
    claims_phone: str
    email: str
    website: str
    address_lines: list[str]


@router.get("/insurer", response_model=InsurerProfile)
async def insurer_profile() -> InsurerProfile:
    """The insurer's name, phone lines (claims 24/7), email, website and postal address."""
    b = load_branding()
    return InsurerProfile(
        name=b.insurer_name,
        short_name=b.short_name,
        phone=b.phone,
        phone_hours=b.phone_hours,
        claims_phone=b.claims_phone,
        email=b.email,
        website=b.website,
        address_lines=list(b.address_lines),
    )
