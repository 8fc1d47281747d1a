"""What every response and request of the web app goes through.

- Security headers: a Content-Security-Policy that allows scripts, styles, fonts and
  connections from this site only (plotly and the API docs need inline styles, nothing
  needs inline scripts), no framing, no content-type sniffing, no referrer; on every
  response, errors included (a 500 is answered here, since starlette's own error
  middleware sits outside every other).
- The Host header must name this server (TrustedHostMiddleware): a page of another site
  cannot reach it through DNS rebinding.
- Write requests carry at most MAX_REQUEST_BYTES (413 otherwise, before the body is read).
- Sessions: a signed, expiring cookie (itsdangerous) naming the user and a fingerprint of
  their token, never the token itself; a new token (`users add`) ends old sessions.
  The CSRF token of a form is an HMAC of the session's random id.

Cookies are not scoped by port: any other server on 127.0.0.1 (another tracker, or
anything else) can read and set this one's cookies. So a session is checked against the
server side: the workspace records each session it issues (workflow.open_session) until
it is signed out or expires, and a cookie whose id it does not hold is refused, however
well signed: signing out ends a session everywhere its cookie was copied to, and a cookie
planted from another port is no session unless this very workspace issued it and it is
still live. The cookie's name ends with a tag of the workspace's secret, so two trackers
on one host never overwrite each other's sessions. (A `__Host-` cookie prefix would not
do: it requires `Secure`, which clients other than Chromium refuse over plain http on
127.0.0.1.)
"""

from __future__ import annotations

import hashlib
import hmac
import json

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from talent_tracker.annotations import workflow
from talent_tracker.limits import MAX_REQUEST_BYTES
from talent_tracker.store.workspace import Workspace

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
    """Adds HEADERS to every HTTP response, and answers an error no handler answered (500)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in HEADERS if h[0] not in names)]
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            # starlette's ServerErrorMiddleware, outside every middleware, would answer it
            # without these headers; it still logs the error, and sends nothing more
            if not started:
                body = b"Internal Server Error"
                await with_headers({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
            raise


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


SESSION_SECONDS = 12 * 3600


class Sessions:
    """A workspace's sign-in sessions: signed, expiring cookies keyed by its secret, each
    good only while the workspace holds its record (see the module's docstring)."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self.secret = workspace.secret()
        self.serializer = URLSafeTimedSerializer(self.secret, salt="talent-tracker session")
        # the cookie's name: this workspace's own, so two trackers on one host keep theirs
        self.cookie = "tt_session_" + hmac.new(self.secret, b"cookie name", hashlib.sha256).hexdigest()[:12]

    def issue(self, name: str, token_sha256: str) -> str:
        session_id = workflow.open_session(self.workspace, name, SESSION_SECONDS)
        return self.serializer.dumps({"u": name, "k": token_sha256[:16], "s": session_id})

    def read(self, cookie: str | None) -> dict | None:
        """The session's fields, or None if the cookie is missing, forged, expired, signed
        out, or not issued by this workspace."""
        if not cookie or len(cookie) > 1000:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        if not (isinstance(data, dict) and {"u", "k", "s"} <= set(data)
                and all(isinstance(data[k], str) for k in ("u", "k", "s"))):
            return None
        return data if workflow.session_live(self.workspace.connection(), data["s"], data["u"]) else None

    def end(self, session: dict) -> None:
        workflow.end_session(self.workspace, session["s"])

    def csrf(self, session: dict | None) -> str:
        sid = (session or {}).get("s", "")
        return hmac.new(self.secret, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_ok(self, session: dict | None, token: object) -> bool:
        return session is not None and hmac.compare_digest(str(token or ""), self.csrf(session))
