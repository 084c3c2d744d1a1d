"""A local stand-in for Slack's Web API, reached over a real socket on 127.0.0.1.

It answers the methods the bot uses the way Slack documents them (``ok``/``error`` bodies, HTTP 200 for API
errors, HTTP 429 with ``Retry-After`` when rate limited), hands out ``upload_url`` and ``response_url`` values
that point back to itself, and records every request so tests can assert on what the bot sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from .markup import live_markup
from .server import LOCALHOST, BackgroundServer

MAX_BODY_BYTES = 64 * 1024 * 1024
MESSAGE_BLOCK_LIMIT = 50  # chat.postMessage, chat.update, chat.postEphemeral, response_url
VIEW_BLOCK_LIMIT = 100  # views.publish (App Home)
SECTION_TEXT_LIMIT = 3000
RESPONSE_URL_MAX_POSTS = 5
RESPONSE_URL_TTL = 30 * 60.0
_API_METHOD = re.compile(r"^[A-Za-z]+(?:\.[A-Za-z]+)+$")

JsonDict = dict[str, Any]
_T = TypeVar("_T")


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the fake received, with the answer it gave."""

    http_method: str
    path: str  # "/api/chat.postMessage", "/upload/F0000000001", "/response/<id>"
    api_method: str | None  # "chat.postMessage" for Web API calls, else None
    headers: dict[str, str]  # names in lower case
    body: JsonDict  # parsed form or JSON body (query parameters merged in)
    raw: bytes
    token: str | None
    status: int
    answer: JsonDict | None
    time: float  # time.monotonic()


@dataclass(frozen=True)
class Message:
    """A message the app sent: chat.postMessage, chat.update, chat.postEphemeral or a response_url post."""

    kind: str  # "chat.postMessage" | "chat.update" | "chat.postEphemeral" | "response_url"
    channel: str | None
    ts: str | None
    text: str | None
    blocks: list[JsonDict]
    thread_ts: str | None = None
    user: str | None = None  # the one person who sees an ephemeral message
    response_id: str | None = None
    response_type: str | None = None
    replace_original: bool = False
    delete_original: bool = False
    body: JsonDict = field(default_factory=dict)
    time: float = 0.0


@dataclass(frozen=True)
class Upload:
    """A file started with files.getUploadURLExternal, its bytes, and its completion metadata."""

    file_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None
    completed: bool = False
    title: str | None = None
    channel_id: str | None = None
    channels: tuple[str, ...] = ()
    initial_comment: str | None = None
    thread_ts: str | None = None


@dataclass(frozen=True)
class PublishedView:
    """An App Home view published with views.publish."""

    user_id: str
    view_id: str
    view: JsonDict
    time: float


@dataclass
class _ResponseSlot:
    response_id: str
    channel_id: str | None
    user_id: str | None
    created: float
    max_posts: int
    ttl: float
    posts: int = 0


@dataclass(frozen=True)
class _Fault:
    status: int
    error: str
    retry_after: int | None


@dataclass
class _Answer:
    status: int
    body: JsonDict | str
    headers: dict[str, str] = field(default_factory=dict)


class _ApiError(Exception):
    def __init__(self, error: str, status: int = HTTPStatus.OK) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


def matches(pattern: str, path: str, api_method: str | None) -> bool:
    """Whether a request path matches a pattern.

    "chat.postMessage", "/chat.postMessage" and "/api/chat.postMessage" all name the Web API method; a
    pattern ending in "/" matches by prefix ("/response/" is every response_url post); anything else must
    equal the path.
    """
    if api_method is not None and pattern.lstrip("/").removeprefix("api/") == api_method:
        return True
    if pattern.endswith("/"):
        return path.startswith(pattern)
    return path == pattern


def _parse_blocks(value: Any, limit: int) -> list[JsonDict]:
    """Blocks come as a JSON string (form bodies) or a list (JSON bodies); enforce Slack's limits."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise _ApiError("invalid_blocks_format") from exc
    if not isinstance(value, list) or not all(isinstance(block, dict) for block in value):
        raise _ApiError("invalid_blocks_format")
    if len(value) > limit:
        raise _ApiError("invalid_blocks")
    for block in value:
        text = block.get("text")
        if (
            block.get("type") == "section"
            and isinstance(text, dict)
            and not 1 <= len(str(text.get("text", ""))) <= SECTION_TEXT_LIMIT
        ):
            raise _ApiError("invalid_blocks")
        fields = block.get("fields")
        if isinstance(fields, list) and len(fields) > 10:
            raise _ApiError("invalid_blocks")
    return value


def _parse_json_arg(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise _ApiError("invalid_arguments") from exc
    return value


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in {"1", "true"})


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads: nothing outlives stop()
    block_on_close = True

    def __init__(self, fake: FakeWebApi) -> None:
        self.fake = fake
        super().__init__((LOCALHOST, 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    timeout = 10  # seconds a client may take to send its request: no handler thread waits forever
    server_version = "FakeSlack/1.0"

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests assert on the recorded requests instead."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(_Answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"ok": False, "error": "too_large"}))
            return
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.fake._dispatch(self.command, self.path, headers, raw)
        self._send(answer)

    def _send(self, answer: _Answer) -> None:
        if isinstance(answer.body, str):
            payload = answer.body.encode("utf-8")
            content_type = "text/plain; charset=utf-8"
        else:
            payload = json.dumps(answer.body).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class FakeWebApi(BackgroundServer[_HttpServer]):
    """Slack's Web API on 127.0.0.1, a free port, in a background thread.

    Use it as a context manager (``with FakeWebApi() as slack:``) or call start()/stop(). Point slack-sdk at
    it with ``WebClient(base_url=slack.api_url, token=slack.bot_token)``.
    """

    description = "the fake Slack Web API"
    thread_name = "fake-slack-web"

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",  # noqa: S107 - a fake's token, never a real one
        app_token: str = "xapp-test",  # noqa: S107 - same
        team_id: str = "T123",
        team_name: str = "Fake Team",
        team_domain: str = "fake",
        bot_user_id: str = "U0BOT",
        bot_user_name: str = "chatops",
        bot_id: str = "B0BOT",
        app_id: str = "A1",
        connections_open: Callable[[], str] | None = None,
    ) -> None:
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_user_name = bot_user_name
        self.bot_id = bot_id
        self.app_id = app_id
        self._connections_open = connections_open
        self._cond = threading.Condition(threading.RLock())
        self._requests: list[RecordedRequest] = []
        self._messages: list[Message] = []
        self._uploads: dict[str, Upload] = {}
        self._views: list[PublishedView] = []
        self._view_ids: dict[str, str] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._users: set[str] = set()  # users who took part: an app may mention them (see live_markup)
        self._channels: set[str] = set()
        self._posted: set[tuple[str, str]] = set()  # (channel, ts) of messages chat.update may edit
        self._responses: dict[str, _ResponseSlot] = {}
        self._faults: list[tuple[str, deque[_Fault]]] = []
        self._half: dict[str, tuple[int, int]] = {}  # pattern -> (calls seen, retry_after)
        self._ts_micros = int(time.time()) * 1_000_000
        self._ids = 0
        self.errors: list[BaseException] = []  # exceptions inside the fake itself: a test may assert none
        self._methods: dict[str, Callable[[JsonDict, str], JsonDict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "views.publish": self._views_publish,
            "usergroups.users.list": self._usergroups_users_list,
            "apps.connections.open": self._apps_connections_open,
        }

    # ------------------------------------------------------------------ lifecycle

    def _make_server(self) -> _HttpServer:
        return _HttpServer(self)

    def _serve(self, server: _HttpServer) -> None:
        server.serve_forever(poll_interval=0.05)

    def _shutdown(self, server: _HttpServer) -> None:
        server.shutdown()
        server.server_close()  # joins every handler thread (block_on_close)

    def _bound_port(self, server: _HttpServer) -> int:
        return int(server.server_address[1])

    @property
    def api_url(self) -> str:
        """The base URL to give slack-sdk / Bolt: http://127.0.0.1:PORT/api/."""
        return f"{self.url}/api/"

    # ------------------------------------------------------------------ configuration

    def set_usergroup(self, usergroup_id: str, user_ids: list[str]) -> None:
        """usergroups.users.list answers these members for this group; an unknown group is no_such_subteam."""
        with self._cond:
            self._usergroups[usergroup_id] = list(user_ids)
            self._users.update(user_ids)

    def allow_mentions(self, *, users: tuple[str, ...] = (), channels: tuple[str, ...] = ()) -> None:
        """Count these users and channels as part of the conversation: `<@U…>`/`<#C…>` of them is no leak.

        new_response_url() and the Socket Mode sends register their user and channel already.
        """
        with self._cond:
            self._users.update(users)
            self._channels.update(channels)

    def new_response_url(
        self,
        *,
        channel_id: str | None = "C123",
        user_id: str | None = "U123",
        max_posts: int = RESPONSE_URL_MAX_POSTS,
        ttl: float = RESPONSE_URL_TTL,
    ) -> str:
        """A response_url back to here, http://127.0.0.1:PORT/response/<id>: max_posts posts within ttl s."""
        response_id = uuid.uuid4().hex
        with self._cond:
            self._responses[response_id] = _ResponseSlot(
                response_id, channel_id, user_id, time.monotonic(), max_posts, ttl
            )
            self._users.update([user_id] if user_id else [])
            self._channels.update([channel_id] if channel_id else [])
        return f"{self.url}/response/{response_id}"

    def rate_limit(self, path: str, count: int = 1, retry_after: int = 1) -> None:
        """The next `count` calls matching `path` answer 429 {"ok": false, "error": "ratelimited"}."""
        self._add_fault(path, _Fault(HTTPStatus.TOO_MANY_REQUESTS, "ratelimited", retry_after), count)

    def fail_next(self, path: str, error: str, count: int = 1, status: int = HTTPStatus.OK) -> None:
        """The next `count` calls matching `path` answer {"ok": false, "error": error} with `status`."""
        self._add_fault(path, _Fault(status, error, None), count)

    def fail_half(self, path: str, retry_after: int = 1) -> None:
        """From now on every other call matching `path` (the 1st, 3rd, 5th...) answers 429 ratelimited."""
        with self._cond:
            self._half[path] = (0, retry_after)

    def clear_faults(self) -> None:
        """Forget every rate_limit / fail_next / fail_half still pending."""
        with self._cond:
            self._faults.clear()
            self._half.clear()

    def clear(self) -> None:
        """Forget what was recorded (requests, messages, uploads, views); configuration stays."""
        with self._cond:
            self._requests.clear()
            self._messages.clear()
            self._uploads.clear()
            self._views.clear()
            self.errors.clear()

    def _add_fault(self, path: str, fault: _Fault, count: int) -> None:
        with self._cond:
            self._faults.append((path, deque([fault] * count)))

    # ------------------------------------------------------------------ what was recorded

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        """Every request in arrival order, or those matching `path` (see matches())."""
        with self._cond:
            return [r for r in self._requests if path is None or matches(path, r.path, r.api_method)]

    def wait_for(
        self,
        path: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[RecordedRequest], bool] | None = None,
    ) -> list[RecordedRequest]:
        """Block until at least `count` requests match `path` (and `predicate`); return them all.

        Raises TimeoutError, naming what did arrive, when they have not after `timeout` seconds.
        """

        def found() -> list[RecordedRequest]:
            return [
                r
                for r in self._requests
                if matches(path, r.path, r.api_method) and (predicate is None or predicate(r))
            ]

        return self._wait(found, count, timeout, lambda: f"{count} request(s) to {path}")

    def messages(self, channel: str | None = None) -> list[Message]:
        """Messages in order (postMessage, update, ephemeral, response_url posts), or those in one channel."""
        with self._cond:
            return [m for m in self._messages if channel is None or m.channel == channel]

    def wait_for_messages(
        self,
        count: int = 1,
        channel: str | None = None,
        timeout: float = 5.0,
        predicate: Callable[[Message], bool] | None = None,
    ) -> list[Message]:
        """Block until `count` messages (in `channel`, matching `predicate`) arrived; return them all."""

        def found() -> list[Message]:
            return [
                m
                for m in self._messages
                if (channel is None or m.channel == channel) and (predicate is None or predicate(m))
            ]

        return self._wait(found, count, timeout, lambda: f"{count} message(s) in {channel or 'any channel'}")

    def responses(self, response: str) -> list[Message]:
        """The posts made to one response_url, given as its id or the whole URL."""
        response_id = response.rstrip("/").rsplit("/", 1)[-1]
        with self._cond:
            return [m for m in self._messages if m.response_id == response_id]

    def uploads(self) -> list[Upload]:
        """Files in the order their upload URL was asked for, with the bytes received and their metadata."""
        with self._cond:
            return list(self._uploads.values())

    def views(self, user_id: str | None = None) -> list[PublishedView]:
        """Views published with views.publish, in order, optionally for one user."""
        with self._cond:
            return [v for v in self._views if user_id is None or v.user_id == user_id]

    def live_markup(self) -> list[str]:
        """Every live mention or link in what the app sent (messages, response_url posts, App Home views,
        file comments) other than `<@U…>`/`<#C…>` of a user or channel that took part; [] when the app
        escaped everything it should have (see fakes/markup.py)."""
        with self._cond:
            users, channels = set(self._users), set(self._channels)
            messages, views, uploads = list(self._messages), list(self._views), list(self._uploads.values())
        found: list[str] = []
        for message in messages:
            attachments = message.body.get("attachments")
            if isinstance(attachments, str):
                try:
                    attachments = json.loads(attachments)
                except json.JSONDecodeError:
                    attachments = None
            payload = {
                "text": message.text,
                "blocks": message.blocks,
                "attachments": attachments,
                "mrkdwn": message.body.get("mrkdwn"),
            }
            label = f"{message.kind} to {message.channel or message.response_id}"
            found += live_markup(payload, users=users, channels=channels, label=label)
        for view in views:
            found += live_markup(view.view, users=users, channels=channels, label=f"home of {view.user_id}")
        for upload in uploads:
            payload = {"initial_comment": upload.initial_comment}
            found += live_markup(payload, users=users, channels=channels, label=f"file {upload.file_id}")
        return found

    def _wait(
        self, found: Callable[[], list[_T]], count: int, timeout: float, what: Callable[[], str]
    ) -> list[_T]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                items = found()
                if len(items) >= count:
                    return items
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{r.http_method} {r.path} -> {r.status}" for r in self._requests[-20:]]
                    raise TimeoutError(
                        f"waited {timeout} s for {what()}, got {len(items)}; last requests: {seen}"
                    )
                self._cond.wait(remaining)

    # ------------------------------------------------------------------ request handling

    def _dispatch(self, http_method: str, target: str, headers: dict[str, str], raw: bytes) -> _Answer:
        parts = urlsplit(target)
        path = parts.path
        segments = path.strip("/").split("/")
        api_method: str | None = None
        if (len(segments) == 1 or (len(segments) == 2 and segments[0] == "api")) and _API_METHOD.match(
            segments[-1]
        ):
            api_method = segments[-1]
        body: JsonDict = {}
        token: str | None = None
        try:
            if http_method not in {"GET", "POST"}:
                answer = _Answer(HTTPStatus.METHOD_NOT_ALLOWED, {"ok": False, "error": "method_not_allowed"})
            elif api_method is not None:
                body, token = self._parse_api_request(parts.query, headers, raw)
                answer = self._api_call(api_method, path, body, token)
            elif segments[0] == "upload" and len(segments) == 2 and http_method == "POST":
                answer = self._fault(path, None) or self._receive_upload(segments[1], raw)
            elif segments[0] == "response" and len(segments) == 2 and http_method == "POST":
                body = self._parse_response_body(headers, raw)
                answer = self._fault(path, None) or self._post_response(segments[1], body)
            else:
                answer = _Answer(HTTPStatus.NOT_FOUND, {"ok": False, "error": "not_found"})
        except _ApiError as exc:
            answer = _Answer(exc.status, {"ok": False, "error": exc.error})
        except Exception as exc:  # a bug in the fake must show up in the test, not kill the server thread
            with self._cond:
                self.errors.append(exc)
            answer = _Answer(HTTPStatus.INTERNAL_SERVER_ERROR, {"ok": False, "error": "fake_internal_error"})
        record = RecordedRequest(
            http_method=http_method,
            path=path,
            api_method=api_method,
            headers=headers,
            body=body,
            raw=raw,
            token=token,
            status=int(answer.status),
            answer=answer.body if isinstance(answer.body, dict) else None,
            time=time.monotonic(),
        )
        with self._cond:
            self._requests.append(record)
            self._cond.notify_all()
        return answer

    @staticmethod
    def _parse_api_request(query: str, headers: dict[str, str], raw: bytes) -> tuple[JsonDict, str | None]:
        """Form or JSON body plus query arguments; the token from `Authorization: Bearer` or a form field.

        Like Slack, a JSON body cannot carry the token: it must come in the Authorization header.
        """
        body: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if raw:
            if content_type == "application/json":
                try:
                    parsed = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    raise _ApiError("invalid_json") from exc
                if not isinstance(parsed, dict):
                    raise _ApiError("invalid_json")
                body.update(parsed)
            elif content_type in {"application/x-www-form-urlencoded", ""}:
                body.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            else:
                raise _ApiError("invalid_post_type")
        form_token = None if content_type == "application/json" else body.get("token")
        authorization = headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        return body, token or form_token or None

    def _api_call(self, api_method: str, path: str, body: JsonDict, token: str | None) -> _Answer:
        handler = self._methods.get(api_method)
        if handler is None:
            return _Answer(HTTPStatus.NOT_FOUND, {"ok": False, "error": "unknown_method"})
        if not token:
            raise _ApiError("not_authed")
        if token not in {self.bot_token, self.app_token}:
            raise _ApiError("invalid_auth")
        if (api_method == "apps.connections.open") != (token == self.app_token):
            raise _ApiError("not_allowed_token_type")
        fault = self._fault(path, api_method)
        if fault is not None:
            return fault
        return _Answer(HTTPStatus.OK, handler(body, token))

    def _fault(self, path: str, api_method: str | None) -> _Answer | None:
        with self._cond:
            chosen: _Fault | None = None
            for pattern, queue in self._faults:
                if queue and matches(pattern, path, api_method):
                    chosen = queue.popleft()
                    break
            if chosen is None:
                for pattern, (seen, retry_after) in list(self._half.items()):
                    if matches(pattern, path, api_method):
                        self._half[pattern] = (seen + 1, retry_after)
                        if seen % 2 == 0:
                            chosen = _Fault(HTTPStatus.TOO_MANY_REQUESTS, "ratelimited", retry_after)
                        break
            self._faults = [(p, q) for p, q in self._faults if q]
        if chosen is None:
            return None
        headers = {"Retry-After": str(chosen.retry_after)} if chosen.retry_after is not None else {}
        return _Answer(chosen.status, {"ok": False, "error": chosen.error}, headers)

    def _next_ts(self) -> str:
        with self._cond:
            self._ts_micros += 100
            micros = self._ts_micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        with self._cond:
            self._ids += 1
            return f"{prefix}{self._ids:010d}"

    def _add_message(self, message: Message) -> None:
        with self._cond:
            self._messages.append(message)
            if message.kind == "chat.postMessage" and message.channel and message.ts:
                self._posted.add((message.channel, message.ts))
            self._cond.notify_all()

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, body: JsonDict, token: str) -> JsonDict:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_user_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _message_content(self, body: JsonDict) -> tuple[str | None, list[JsonDict]]:
        text = body.get("text")
        blocks = _parse_blocks(body.get("blocks"), MESSAGE_BLOCK_LIMIT)
        if not text and not blocks and not body.get("attachments"):
            raise _ApiError("no_text")
        return (str(text) if text is not None else None), blocks

    def _bot_message(self, text: str | None, blocks: list[JsonDict], ts: str) -> JsonDict:
        message: JsonDict = {
            "type": "message",
            "subtype": "bot_message",
            "text": text or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
        }
        if blocks:
            message["blocks"] = blocks
        return message

    def _chat_post_message(self, body: JsonDict, token: str) -> JsonDict:
        channel = str(body.get("channel") or "")
        if not channel:
            raise _ApiError("channel_not_found")
        text, blocks = self._message_content(body)
        ts = self._next_ts()
        thread_ts = body.get("thread_ts") or None
        self._add_message(
            Message(
                "chat.postMessage",
                channel,
                ts,
                text,
                blocks,
                thread_ts=thread_ts,
                body=body,
                time=time.monotonic(),
            )
        )
        message = self._bot_message(text, blocks, ts)
        if thread_ts:
            message["thread_ts"] = thread_ts
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, body: JsonDict, token: str) -> JsonDict:
        channel, ts = str(body.get("channel") or ""), str(body.get("ts") or "")
        if not channel:
            raise _ApiError("channel_not_found")
        with self._cond:
            known = (channel, ts) in self._posted
        if not known:
            raise _ApiError("message_not_found")
        text, blocks = self._message_content(body)
        self._add_message(Message("chat.update", channel, ts, text, blocks, body=body, time=time.monotonic()))
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": text or "",
            "message": self._bot_message(text, blocks, ts),
        }

    def _chat_post_ephemeral(self, body: JsonDict, token: str) -> JsonDict:
        channel, user = str(body.get("channel") or ""), str(body.get("user") or "")
        if not channel:
            raise _ApiError("channel_not_found")
        if not user:
            raise _ApiError("user_not_in_channel")
        text, blocks = self._message_content(body)
        ts = self._next_ts()
        self._add_message(
            Message(
                "chat.postEphemeral",
                channel,
                ts,
                text,
                blocks,
                thread_ts=body.get("thread_ts") or None,
                user=user,
                body=body,
                time=time.monotonic(),
            )
        )
        return {"ok": True, "message_ts": ts}

    def _files_get_upload_url_external(self, body: JsonDict, token: str) -> JsonDict:
        filename = str(body.get("filename") or "")
        try:
            length = int(body.get("length", ""))
        except ValueError as exc:
            raise _ApiError("invalid_arguments") from exc
        if not filename or length < 0:
            raise _ApiError("invalid_arguments")
        file_id = self._next_id("F")
        upload = Upload(
            file_id, filename, length, alt_txt=body.get("alt_txt"), snippet_type=body.get("snippet_type")
        )
        with self._cond:
            self._uploads[file_id] = upload
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _receive_upload(self, file_id: str, raw: bytes) -> _Answer:
        with self._cond:
            upload = self._uploads.get(file_id)
            if upload is None:
                return _Answer(HTTPStatus.NOT_FOUND, "Not Found")
            self._uploads[file_id] = replace(upload, data=raw)
            self._cond.notify_all()
        return _Answer(HTTPStatus.OK, f"OK - {len(raw)}")

    def _files_complete_upload_external(self, body: JsonDict, token: str) -> JsonDict:
        files = _parse_json_arg(body.get("files"))
        if (
            not isinstance(files, list)
            or not files
            or not all(isinstance(f, dict) and f.get("id") for f in files)
        ):
            raise _ApiError("invalid_arguments")
        channels_arg = body.get("channels") or ""
        channels = tuple(c for c in str(channels_arg).split(",") if c) if channels_arg else ()
        answered: list[JsonDict] = []
        with self._cond:
            for item in files:
                upload = self._uploads.get(str(item["id"]))
                if upload is None or upload.data is None:
                    raise _ApiError("file_not_found")
            for item in files:
                upload = self._uploads[str(item["id"])]
                title = str(item.get("title") or upload.filename)
                self._uploads[upload.file_id] = replace(
                    upload,
                    completed=True,
                    title=title,
                    channel_id=body.get("channel_id") or None,
                    channels=channels,
                    initial_comment=body.get("initial_comment") or None,
                    thread_ts=body.get("thread_ts") or None,
                )
                answered.append({"id": upload.file_id, "title": title})
            self._cond.notify_all()
        return {"ok": True, "files": answered}

    def _views_publish(self, body: JsonDict, token: str) -> JsonDict:
        user_id = str(body.get("user_id") or "")
        view = _parse_json_arg(body.get("view"))
        if not user_id or not isinstance(view, dict) or view.get("type") != "home":
            raise _ApiError("invalid_arguments")
        blocks = _parse_blocks(view.get("blocks"), VIEW_BLOCK_LIMIT)
        with self._cond:
            view_id = self._view_ids.get(user_id)
        if view_id is None:
            view_id = self._next_id("V")
            with self._cond:
                self._view_ids[user_id] = view_id
        published: JsonDict = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "home",
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": uuid.uuid4().hex[:20],
            "external_id": view.get("external_id", ""),
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }
        with self._cond:
            self._views.append(PublishedView(user_id, view_id, published, time.monotonic()))
            self._cond.notify_all()
        return {"ok": True, "view": published}

    def _usergroups_users_list(self, body: JsonDict, token: str) -> JsonDict:
        usergroup = str(body.get("usergroup") or "")
        if not usergroup:
            raise _ApiError("invalid_arguments")
        with self._cond:
            users = self._usergroups.get(usergroup)
        if users is None:
            raise _ApiError("no_such_subteam")
        return {"ok": True, "users": list(users)}

    def _apps_connections_open(self, body: JsonDict, token: str) -> JsonDict:
        if self._connections_open is None:
            raise _ApiError("fake_socket_mode_not_started")
        return {"ok": True, "url": self._connections_open()}

    # ------------------------------------------------------------------ response_url

    @staticmethod
    def _parse_response_body(headers: dict[str, str], raw: bytes) -> JsonDict:
        try:
            parsed = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _ApiError("invalid_payload", HTTPStatus.BAD_REQUEST) from exc
        if not isinstance(parsed, dict):
            raise _ApiError("invalid_payload", HTTPStatus.BAD_REQUEST)
        return parsed

    def _post_response(self, response_id: str, body: JsonDict) -> _Answer:
        with self._cond:
            slot = self._responses.get(response_id)
            if slot is None:
                raise _ApiError("invalid_url", HTTPStatus.NOT_FOUND)
            if time.monotonic() - slot.created > slot.ttl:
                raise _ApiError("expired_url", HTTPStatus.NOT_FOUND)
            if slot.posts >= slot.max_posts:
                raise _ApiError("used_up", HTTPStatus.NOT_FOUND)
            delete_original = _flag(body.get("delete_original"))
            try:
                blocks = _parse_blocks(body.get("blocks"), MESSAGE_BLOCK_LIMIT)
            except _ApiError as exc:
                raise _ApiError(exc.error, HTTPStatus.BAD_REQUEST) from exc
            text = body.get("text")
            if not text and not blocks and not body.get("attachments") and not delete_original:
                raise _ApiError("no_text", HTTPStatus.BAD_REQUEST)
            slot.posts += 1
            self._add_message(
                Message(
                    "response_url",
                    slot.channel_id,
                    None,
                    str(text) if text is not None else None,
                    blocks,
                    thread_ts=body.get("thread_ts") or None,
                    user=slot.user_id,
                    response_id=response_id,
                    response_type=body.get("response_type") or "ephemeral",
                    replace_original=_flag(body.get("replace_original")),
                    delete_original=delete_original,
                    body=body,
                    time=time.monotonic(),
                )
            )
        return _Answer(HTTPStatus.OK, {"ok": True})
