"""What every response and request of the web app goes through.

- Security headers: a Content-Security-Policy that allows scripts, styles, fonts and
  connections from this site only (plotly and the API docs need inline styles, nothing
  needs inline scripts), no framing, no content-type sniffing, no referrer.
- The Host header must name this server (TrustedHostMiddleware): a page of another site
  cannot reach it through DNS rebinding.
- Write requests carry at most MAX_REQUEST_BYTES (413 otherwise, before the body is read).
- Sessions: a signed, expiring cookie (itsdangerous) naming the user and a fingerprint of
  their token, never the token itself; a new token (`users add`) ends old sessions.
  The CSRF token of a form is an HMAC of the session's random id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..limits import MAX_REQUEST_BYTES

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # "no-referrer" would make browsers send `Origin: null`
    (b"cross-origin-opener-policy", b"same-origin"),
]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class SecurityHeaders:
    """Adds HEADERS to every HTTP response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in HEADERS if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuses a write whose body is larger than `limit` bytes (413), by its declared
    length before reading, and by counting while reading a body of unknown length."""

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _json(send, 413, f"the request body may hold at most {self.limit:,} bytes")
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, f"the request body may hold at most {self.limit:,} bytes")
            return message

        await self.app(scope, counted, send)


async def _json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def allowed_hosts(host: str, extra: list[str] | None = None) -> list[str]:
    """The names the Host header may carry: the listen address, loopback names, and any
    names given with --allow-host (needed when serving on 0.0.0.0 behind a name)."""
    names = {host, "localhost", "127.0.0.1", "::1"} | set(extra or ())
    names.discard("0.0.0.0")
    names.discard("::")
    return sorted(names)


SESSION_COOKIE = "tt_session"
SESSION_SECONDS = 12 * 3600


class Sessions:
    """Signed, expiring session cookies, keyed by the workspace's secret."""

    def __init__(self, secret: bytes):
        self.secret = secret
        self.serializer = URLSafeTimedSerializer(secret, salt="talent-tracker session")

    def issue(self, name: str, token_sha256: str) -> str:
        return self.serializer.dumps({"u": name, "k": token_sha256[:16], "s": secrets.token_hex(16)})

    def read(self, cookie: str | None) -> dict | None:
        """The session's fields, or None if the cookie is missing, forged or expired."""
        if not cookie or len(cookie) > 1000:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and {"u", "k", "s"} <= set(data) else None

    def csrf(self, session: dict | None) -> str:
        sid = (session or {}).get("s", "")
        return hmac.new(self.secret, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_ok(self, session: dict | None, token: object) -> bool:
        return session is not None and hmac.compare_digest(str(token or ""), self.csrf(session))
