"""Guest identities: a display name in, a signed token out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.http import EndpointDoc, body, documented, respond, services


def printable_name(value: str) -> str:
    """A display name: whitespace folded, printable characters only."""
    value = " ".join(value.split())
    if not value or not value.isprintable():
        raise ValueError("must be printable text")
    return value


class GuestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=64)

    _printable = field_validator("display_name")(printable_name)


class GuestToken(BaseModel):
    token: str
    user_id: str
    display_name: str
    expires_at: int


@documented(
    EndpointDoc(
        "Issue a signed guest token",
        body=GuestRequest,
        response=GuestToken,
        auth=False,
        status=201,
        tags=("auth",),
    )
)
async def issue_guest_token(request: Request) -> Response:
    req = await body(request, GuestRequest)
    token, who, expires_at = services(request).tokens.issue_guest(req.display_name)
    return respond(
        GuestToken(
            token=token, user_id=who.user_id, display_name=who.display_name, expires_at=expires_at
        ),
        status=201,
    )


routes = [Route("/api/auth/guest", issue_guest_token, methods=["POST"])]
