"""Guest identities: a display name in, a signed token out."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.api.http import EndpointDoc, body, documented, respond, services

# Refused in a display name: control characters, and the invisible and direction-changing format
# characters used to spoof a name. (Lone surrogates too, below: they are not text, cannot even be
# stored, and a pattern naming them is one schemathesis and other tools cannot use.)
NOT_TEXT = (
    r"\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    r"\ufeff\ufff9-\uffff"
)
# The rule, in the syntax both Python and the OpenAPI document (ECMA-262) read: none of the
# above, and at least one character that is not a space. Runs of spaces become one space.
DISPLAY_NAME_PATTERN = rf"^[^{NOT_TEXT}]*[^\s{NOT_TEXT}][^{NOT_TEXT}]*$"
_DISPLAY_NAME = re.compile(DISPLAY_NAME_PATTERN)


def _has_surrogate(value: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in value)


def printable_name(value: str) -> str:
    """A display name (guest tokens, profiles): the rule above, runs of spaces folded."""
    if not _DISPLAY_NAME.fullmatch(value) or _has_surrogate(value):
        raise ValueError(
            "must be text with at least one visible character (no control or invisible "
            "formatting characters)"
        )
    return " ".join(value.split())


class GuestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(
        min_length=1, max_length=64, json_schema_extra={"pattern": DISPLAY_NAME_PATTERN}
    )

    _text = field_validator("display_name")(printable_name)


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
