"""Serving Slack: Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode on a multi-threaded WSGI server.

HTTP mode serves `POST /slack/events` (slash commands, actions, events) and `GET /healthz` with waitress,
a production-grade threaded server (Bolt's `app.start()` is a single-threaded development server). In front
of Bolt sits the replay guard: a request is verified (HMAC, timestamp within 5 minutes) and its signature
recorded in SQLite; the same signature again is refused with 409 and runs nothing. Bolt verifies again.

One request runs once, whatever the door: a delivery is remembered in SQLite by every key it carries
(`delivery_keys`: the Socket Mode `envelope_id`, the payload's `trigger_id` — slash commands and
interactions — and an event's `event_id`), so a Slack retry (`retry_attempt`/`retry_reason`, or
`X-Slack-Retry-Num` over HTTP) is acknowledged, so that Slack stops retrying, and runs nothing — also after
a restart of the bot.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.router import Router
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
MAX_BODY = 1024 * 1024
KEY_MAX = 200  # characters of one delivery key (Slack's ids are far shorter)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def delivery_keys(payload: Mapping[str, Any], envelope_id: str | None = None) -> list[str]:
    """What identifies one delivery for the dedupe: `envelope:ID`, `trigger:ID`, `event:ID` (those present).

    Slack redelivers the same payload (same `trigger_id` or `event_id`) when it thinks a delivery failed,
    over Socket Mode within the same envelope id or a new one, over HTTP with a fresh signature.
    """
    keys = [f"envelope:{envelope_id}"] if envelope_id else []
    for field, kind in (("trigger_id", "trigger"), ("event_id", "event")):
        value = payload.get(field)
        if isinstance(value, str) and value:
            keys.append(f"{kind}:{value}")
    return [key[:KEY_MAX] for key in keys]


def http_payload(body: bytes, content_type: str) -> dict[str, Any]:
    """The payload of an HTTP-mode request: the JSON body (events), the `payload` field (interactions), or
    the form (slash commands); {} when it cannot be read (Bolt then answers it as it sees fit)."""
    try:
        if content_type.split(";", maxsplit=1)[0].strip().lower() == "application/json":
            parsed: Any = json.loads(body)
        else:
            form = {key: values[0] for key, values in parse_qs(body.decode("utf-8")).items() if values}
            parsed = json.loads(form["payload"]) if "payload" in form else form
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


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
        keys = delivery_keys(http_payload(body, str(environ.get("CONTENT_TYPE", ""))))
        if not self.store.remember_delivery(keys):
            retry = environ.get("HTTP_X_SLACK_RETRY_NUM", "")
            log.warning("acknowledged a redelivered request (retry %s); it ran before, nothing runs", retry)
            start_response("200 OK", [("Content-Length", "0")])  # an empty 200: Slack shows nothing
            return [b""]
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


class OnceSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler, with every envelope remembered before it runs: a redelivered one is
    acknowledged (Slack then stops retrying) and runs nothing.

    slack-sdk's client hands each envelope to its request listeners, and `SocketModeHandler` registers its
    `handle` as one in its constructor; overriding `handle` puts the check in front of Bolt's dispatch.
    """

    def __init__(self, app: App, app_token: str, store: Store) -> None:
        super().__init__(app, app_token)
        self.store = store

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]  # as Bolt's own
        """Run `req` through Bolt unless its envelope, trigger or event was delivered before."""
        if not self.store.remember_delivery(delivery_keys(req.payload, req.envelope_id)):
            log.warning(
                "acknowledged a redelivered %s envelope (retry_attempt %s, %s); nothing runs",
                req.type,
                req.retry_attempt,
                req.retry_reason or "no reason given",
            )
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        super().handle(client, req)


def serve_socket_mode(app: App, settings: Settings, store: Store) -> None:
    """Serve Socket Mode until interrupted; the handler reconnects on `disconnect` frames by itself."""
    token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    log.info("Socket Mode: connecting through %s", settings.slack_api_url)
    handler = OnceSocketModeHandler(app, token, store)
    handler.start()  # type: ignore[no-untyped-call]  # slack-bolt leaves this one untyped
