"""Sign-in API shapes."""

from __future__ import annotations

from pydantic import Field, model_validator

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


# --- single sign-on (OpenID Connect) -----------------------------------------------------------

PKCE = r"^[A-Za-z0-9._~-]{43,128}$"


class OidcConfigOut(ResponseModel):
    enabled: bool
    provider_name: str | None
    staff_password_sign_in: bool
    loopback_port: int


class OidcStartRequest(RequestModel):
    redirect_uri: str = Field(min_length=10, max_length=200)
    code_challenge: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$")


class OidcStartOut(ResponseModel):
    authorization_url: str
    state: str


class OidcExchangeRequest(RequestModel):
    # Optional here so a missing state is refused (and audited) as auth.oidc_state_invalid.
    state: str | None = Field(default=None, max_length=2000)
    code_verifier: str = Field(pattern=PKCE)
    redirect_uri: str = Field(min_length=10, max_length=200)
    code: str | None = Field(default=None, min_length=1, max_length=2000)
    id_token: str | None = Field(default=None, min_length=1, max_length=20000)

    @model_validator(mode="after")
    def _code_or_token(self) -> OidcExchangeRequest:
        if (self.code is None) == (self.id_token is None):
            raise ValueError("send exactly one of code and id_token")
        return self


class OidcSignOutOut(ResponseModel):
    end_session_url: str | None
