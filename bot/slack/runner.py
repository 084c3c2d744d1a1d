"""Serving Slack: Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode on a multi-threaded WSGI server.

HTTP mode serves `POST /slack/events` (slash commands, actions, events) and `GET /healthz` with waitress,
a production-grade threaded server (Bolt's `app.start()` is a single-threaded development server). In front
of Bolt sits the replay guard: a request is verified (HMAC, timestamp within 5 minutes) and its signature
recorded in SQLite; the same signature again is refused with 409 and runs nothing. Bolt verifies again.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.router import Router
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
MAX_BODY = 1024 * 1024

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _plain(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class SlackHttpApp:
    """The WSGI application of HTTP mode: health check, replay guard, then Bolt."""

    def __init__(self, bolt: WsgiApp, verifier: SignatureVerifier, store: Store, router: Router) -> None:
        self.bolt = bolt
        self.verifier = verifier
        self.store = store
        self.router = router

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method == "GET":
            return _plain(start_response, "200 OK", {"ok": True, "hosts": list(self.router.engines)})
        if path != EVENTS_PATH or method != "POST":
            return _plain(start_response, "404 Not Found", {"ok": False, "error": "not_found"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            return _plain(start_response, "413 Payload Too Large", {"ok": False, "error": "bad_length"})
        body = environ["wsgi.input"].read(length)
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        try:
            valid = self.verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        except ValueError:  # a timestamp that is not a number
            valid = False
        if not valid:
            log.warning("refused a request with a bad or stale signature")
            return _plain(start_response, "401 Unauthorized", {"ok": False, "error": "invalid_signature"})
        if not self.store.remember_request(signature):
            log.warning("refused a replayed request (signature already served)")
            return _plain(start_response, "409 Conflict", {"ok": False, "error": "replayed_request"})
        environ["wsgi.input"] = io.BytesIO(body)
        return self.bolt(environ, start_response)


def serve_http(app: App, settings: Settings, router: Router, store: Store) -> None:
    """Serve HTTP mode until interrupted."""
    import waitress  # noqa: PLC0415 - only HTTP mode needs the server

    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    wsgi = SlackHttpApp(SlackRequestHandler(app, EVENTS_PATH), SignatureVerifier(secret), store, router)
    log.info(
        "HTTP mode: %s and /healthz on %s:%s",
        EVENTS_PATH,
        settings.chatops_http_host,
        settings.chatops_http_port,
    )
    waitress.serve(
        wsgi,
        host=settings.chatops_http_host,
        port=settings.chatops_http_port,
        threads=max(8, settings.chatops_workers),
        ident="docker-chatops",
        _quiet=True,
    )


def serve_socket_mode(app: App, settings: Settings) -> None:
    """Serve Socket Mode until interrupted; the handler reconnects on `disconnect` frames by itself."""
    token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    log.info("Socket Mode: connecting through %s", settings.slack_api_url)
    handler = SocketModeHandler(app, token)
    handler.start()  # type: ignore[no-untyped-call]  # slack-bolt leaves this one untyped
