"""Sign-in API shapes."""

from __future__ import annotations

from pydantic import Field

from services.schemas_common import RequestModel, ResponseModel


class SignInRequest(RequestModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(RequestModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class AccountRef(ResponseModel):
    id: str
    name: str


class Me(ResponseModel):
    id: str
    email: str
    full_name: str
    role: str
    branch_id: str | None
    accounts: list[AccountRef]


class TokenPairOut(ResponseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: Me
