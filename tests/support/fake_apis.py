"""Real HTTP servers on 127.0.0.1 that stand in for the third-party APIs stepline users call.

Each API checks credentials the way its real counterpart does and records every request it
receives, so tests can assert on what went over the wire. The servers run an aiohttp
application in a background thread with its own event loop, so a test may drive workflows with
the blocking ``StateMachine.run`` (which runs its own loop) or with ``run_async``.

The APIs (paths mirror the real services' shapes; nothing here talks to them):

* licensing (Keygen-like): ``Authorization: Bearer <key>`` sent as an API-key connection header.
* payments (Stripe/Paddle-like): OAuth client credentials at ``/oauth/token`` and Bearer tokens
  that expire or can be revoked, to exercise refresh.
* SMS (Twilio-like): Basic auth and a URL-encoded form body.
* chat (Slack-like incoming webhook): JSON POST answering ``ok`` as text.
* misbehaving endpoints: flaky (503 twice, then 200), hanging, any status code (with
  ``Retry-After`` on 429/503), a huge body, a binary body, and a slow one that counts the
  requests in flight (``max_in_flight``; each takes ``slow_seconds``).
* repairable endpoints (``/repairable/{key}``): 500 while ``key`` is in ``broken``, then
  200 with the key and the request body — an outage a test fixes (for redrive).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["FakeApis", "Recorded", "Secrets"]


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Secrets:
    """Every credential the fake APIs accept; tests scan outputs for each of these values."""

    license_key: str = field(default_factory=lambda: "lic-" + secrets.token_hex(12))
    client_id: str = field(default_factory=lambda: "client-" + secrets.token_hex(6))
    client_secret: str = field(default_factory=lambda: "cs-" + secrets.token_hex(12))
    sms_user: str = field(default_factory=lambda: "AC" + secrets.token_hex(8))
    sms_password: str = field(default_factory=lambda: "pw-" + secrets.token_hex(12))
    webhook_signing: str = field(default_factory=lambda: "whsec-" + secrets.token_hex(12))

    def values(self) -> list[str]:
        return [
            self.license_key,
            self.client_secret,
            self.sms_password,
            self.webhook_signing,
            # The Basic header forms are secrets too.
            base64.b64encode(f"{self.sms_user}:{self.sms_password}".encode()).decode(),
            base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode(),
        ]


class FakeApis:
    """The fake third-party APIs on one loopback server.

    Args:
        ssl_context: Serve HTTPS with this server context (plain HTTP when ``None``).
        token_lifetime: ``expires_in`` of the OAuth tokens issued, in seconds.
    """

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, token_lifetime: int = 3600
    ) -> None:
        self.secrets = Secrets()
        self.requests: list[Recorded] = []
        self.tokens_issued: list[str] = []
        self.valid_tokens: set[str] = set()
        self.token_lifetime = token_lifetime
        self.flaky_failures = 2
        self.sms_failures = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.slow_seconds = 0.02
        self._flaky_counts: dict[str, int] = {}
        self._ssl = ssl_context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.hang_release = threading.Event()
        self.broken: set[str] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeApis:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake API server did not start within 10 s")
        return self

    def __exit__(self, *exc: object) -> None:
        self.hang_release.set()
        loop = self._loop
        if loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _serve(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._runner = web.AppRunner(self._app(), access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        loop.run_forever()
        loop.close()

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/oauth/token", self._token)
        app.router.add_get("/oauth/token", self._token)
        app.router.add_post("/v1/accounts/acme/licenses", self._create_license)
        app.router.add_get("/v1/accounts/acme/users/{id}", self._get_user)
        app.router.add_post("/v1/charges", self._charge)
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._send_sms)
        app.router.add_post("/services/T000/B000/hook", self._chat)
        app.router.add_route("*", "/flaky/{key}", self._flaky)
        app.router.add_route("*", "/hang", self._hang)
        app.router.add_route("*", "/status/{code}", self._status)
        app.router.add_get("/huge", self._huge)
        app.router.add_get("/binary", self._binary)
        app.router.add_route("*", "/echo", self._echo)
        app.router.add_route("*", "/slow", self._slow)
        app.router.add_route("*", "/repairable/{key}", self._repairable)
        return app

    # ------------------------------------------------------------------ helpers

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                request.query_string,
                {k: v for k, v in request.headers.items()},
                body,
            )
        )
        return await handler(request)

    def recorded(self, path_prefix: str) -> list[Recorded]:
        """The requests whose path starts with ``path_prefix``, in arrival order."""
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def api_key_connection(self, events: Any, name: str) -> str:
        """Create a connection sending this server's license key (API key) through an
        EventBridge client (``events``); its ARN."""
        answer = events.create_connection(
            Name=name,
            AuthorizationType="API_KEY",
            AuthParameters={
                "ApiKeyAuthParameters": {
                    "ApiKeyName": "Authorization",
                    "ApiKeyValue": f"Bearer {self.secrets.license_key}",
                }
            },
        )
        return str(answer["ConnectionArn"])

    def revoke_tokens(self) -> None:
        """Make every issued token invalid, as a provider rotating keys would."""
        self.valid_tokens.clear()

    def _basic(self, request: web.Request) -> tuple[str, str] | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user, password

    @staticmethod
    def _error(status: int, message: str) -> web.Response:
        return web.json_response({"error": {"message": message}}, status=status)

    # ------------------------------------------------------------------ OAuth

    async def _token(self, request: web.Request) -> web.Response:
        if self._basic(request) != (self.secrets.client_id, self.secrets.client_secret):
            return self._error(401, "invalid_client")
        form = dict(request.query) if request.method == "GET" else dict(await request.post())
        if form.get("grant_type") != "client_credentials":
            return self._error(400, "unsupported_grant_type")
        token = "tok-" + secrets.token_hex(12)
        self.tokens_issued.append(token)
        self.valid_tokens.add(token)
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        )

    def _bearer_ok(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.valid_tokens

    # ------------------------------------------------------------------ licensing

    async def _create_license(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.secrets.license_key}":
            return self._error(401, "invalid license key")
        payload = await request.json()
        attributes = payload["data"]["attributes"]
        user = payload["data"]["relationships"]["user"]["data"]["id"]
        return web.json_response(
            {
                "data": {
                    "id": "lic_" + secrets.token_hex(4),
                    "type": "licenses",
                    "attributes": {"key": "KEY-" + attributes["name"].upper(), "status": "ACTIVE"},
                    "relationships": {"user": {"data": {"id": user}}},
                }
            },
            status=201,
            content_type="application/vnd.api+json",
        )

    async def _get_user(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.secrets.license_key}":
            return self._error(401, "invalid license key")
        user_id = request.match_info["id"]
        if user_id == "missing":
            return self._error(404, "no such user")
        return web.json_response(
            {"data": {"id": user_id, "attributes": {"email": f"{user_id}@example.test"}}},
            content_type="application/vnd.api+json",
        )

    # ------------------------------------------------------------------ payments

    async def _charge(self, request: web.Request) -> web.Response:
        if not self._bearer_ok(request):
            return self._error(401, "token expired or invalid")
        payload = await request.json()
        return web.json_response(
            {"id": "ch_" + secrets.token_hex(4), "amount": payload["amount"], "paid": True}
        )

    # ------------------------------------------------------------------ SMS

    async def _send_sms(self, request: web.Request) -> web.Response:
        if self._basic(request) != (self.secrets.sms_user, self.secrets.sms_password):
            return self._error(401, "authenticate")
        if self.sms_failures > 0:
            self.sms_failures -= 1
            return self._error(503, "carrier busy")
        if request.match_info["sid"] != self.secrets.sms_user:
            return self._error(404, "no such account")
        if request.content_type != "application/x-www-form-urlencoded":
            return self._error(400, "form body expected")
        form = await request.post()
        return web.json_response(
            {"sid": "SM" + secrets.token_hex(8), "to": form["To"], "body": form["Body"]},
            status=201,
        )

    # ------------------------------------------------------------------ chat

    async def _chat(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Signing-Secret") != self.secrets.webhook_signing:
            return web.Response(status=403, text="invalid_token")
        payload = await request.json()
        if not isinstance(payload.get("text"), str):
            return web.Response(status=400, text="no_text")
        return web.Response(text="ok")

    # ------------------------------------------------------------------ misbehaving

    async def _flaky(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        count = self._flaky_counts[key] = self._flaky_counts.get(key, 0) + 1
        if count <= self.flaky_failures:
            return web.Response(status=503, text="try again")
        return web.json_response({"attempt": count})

    async def _hang(self, request: web.Request) -> web.Response:
        deadline = time.monotonic() + 30
        while not self.hang_release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return web.Response(text="late")

    async def _status(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        headers = {"Retry-After": "7"} if code in (429, 503) else {}
        return web.json_response({"status": code}, status=code, headers=headers)

    async def _huge(self, request: web.Request) -> web.Response:
        return web.Response(text="x" * 300_000)

    async def _binary(self, request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)), content_type="image/png")

    async def _slow(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.slow_seconds)
        finally:
            self.in_flight -= 1
        return web.json_response({"ok": True})

    async def _repairable(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if key in self.broken:
            return web.json_response({"error": f"{key} is down"}, status=500)
        body = await request.read()
        return web.json_response({"key": key, "body": json.loads(body) if body else None})

    async def _echo(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "method": request.method,
                "query": request.query_string,
                "headers": dict(request.headers),
                "body": (await request.read()).decode(errors="replace"),
            }
        )
