"""IAM profiles as they appear under ``bridge.iam`` in config.yaml (the template contract)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ca_bundle: str | None = Field(None, description="PEM file of the corporate CA; TLS stays on")
    timeout: float = Field(15.0, gt=0, le=300, description="seconds per IAM call")


class JsonIamProfile(_Profile):
    """Declarative in-house IAM: JSON body template in, token and expiry by dotted path out."""

    kind: Literal["json"]
    url: str
    method: Literal["POST", "PUT", "GET"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict | list | str = Field(
        default_factory=lambda: {"employee_id": "{employee_id}", "password": "{password}"}
    )
    token_path: str
    expires_at_path: str | None = None
    expires_in_path: str | None = None

    @model_validator(mode="after")
    def _one_expiry(self) -> JsonIamProfile:
        if not self.expires_at_path and not self.expires_in_path:
            raise ValueError("set expires_at_path (absolute time) or expires_in_path (seconds)")
        return self


class OAuth2PasswordIamProfile(_Profile):
    """RFC 6749 resource-owner password grant, with the refresh grant when offered."""

    kind: Literal["oauth2-password"]
    token_url: str
    client_id: str
    client_secret: str | None = Field(None, description="os.environ/NAME reference")
    scope: str | None = None
    client_auth: Literal["basic", "post"] = Field(
        "basic", description="client_secret_basic (HTTP Basic) or client_secret_post (form)"
    )


IamProfile = Annotated[JsonIamProfile | OAuth2PasswordIamProfile, Field(discriminator="kind")]
