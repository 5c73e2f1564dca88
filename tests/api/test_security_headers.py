"""Security headers: a strict Content-Security-Policy on HTML, nosniff and no referrer on every
response, HSTS only over HTTPS. (That the web app works under the policy is shown by the browser
tests in tests/e2e, which run against replicas sending it.)"""

from __future__ import annotations

import httpx

from tests.servers import Replica


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


async def test_html_gets_a_strict_policy_and_every_response_nosniff(embedded: Replica) -> None:
    async with httpx.AsyncClient(base_url=embedded.url) as http:
        page = await http.get("/")
        api = await http.get("/api/companions")
        docs = await http.get("/api/docs")
    assert page.headers["content-type"].startswith("text/html")
    for html in (page, docs):
        csp = directives(html.headers["content-security-policy"])
        assert csp["default-src"] == ["'self'"]
        assert csp["script-src"] == ["'self'"]  # no inline script, no eval
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["object-src"] == ["'none'"]
        assert csp["base-uri"] == ["'none'"]
        assert "'unsafe-inline'" not in html.headers["content-security-policy"]
    for response in (page, api, docs):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # plain HTTP


async def test_hsts_only_over_https(embedded: Replica) -> None:
    # The replica trusts forwarded headers from 127.0.0.1, as it would from its ingress.
    async with httpx.AsyncClient(base_url=embedded.url) as http:
        secure = await http.get("/", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")
