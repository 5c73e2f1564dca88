"""Security headers on every HTTP response: a strict Content-Security-Policy on HTML, and
nosniff, no referrer and (over HTTPS) HSTS on everything."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings


def media_origins(settings: Settings) -> list[str]:
    """Where the tutor's audio is played from, besides this origin: the S3 endpoint its
    presigned URLs point at."""
    if settings.s3_bucket is None:
        return []
    if settings.s3_endpoint_url:
        parts = urlsplit(settings.s3_endpoint_url)
        return [f"{parts.scheme}://{parts.netloc}"]
    region = settings.s3_region
    return [f"https://{settings.s3_bucket}.s3.{region}.amazonaws.com", "https://*.amazonaws.com"]


def content_security_policy(settings: Settings) -> str:
    # The app is one bundle of scripts and styles from this origin; it talks to this origin
    # (REST, Socket.IO over ws/wss, which 'self' covers), shows avatars and video, and plays
    # audio from here or from storage.
    media = " ".join(["'self'", "blob:", *media_origins(settings)])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            f"media-src {media}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.csp = content_security_policy(settings)
        self.hsts = (
            f"max-age={settings.hsts_max_age_seconds}; includeSubDomains"
            if settings.hsts_max_age_seconds
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = self.csp
                if self.hsts and scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = self.hsts
            await send(message)

        await self.app(scope, receive, send_with_headers)
