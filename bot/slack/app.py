"""slack-bolt wiring: `/docker`, button actions and App Home, all through the one router.

Every listener acknowledges first, before any Docker call, then hands the work to the router's own bounded
pool (`Router.dispatch`), so Bolt's five listener threads are never held by a slow or hung engine. Clicks
re-enter the router as new invocations by the clicking user: the rules for typed commands apply to them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.models import Outcome, Reply
from bot.render.blocks import SlackMessage, render_container_actions, render_problem, render_reply
from bot.router import Invocation, Router
from bot.settings import Settings
from bot.slack.home import publish_home
from bot.slack.text import door_request

log = logging.getLogger(__name__)


def web_client(settings: Settings) -> WebClient:
    """A Web API client on SLACK_API_URL that waits out 429s (`Retry-After`) instead of failing."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def build_app(settings: Settings, router: Router) -> App:
    """The Bolt app with every listener registered; `auth.test` runs once here (Bolt's own check)."""
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = App(
        client=web_client(settings),
        signing_secret=secret,
        request_verification_enabled=secret is not None,
        process_before_response=False,
        logger=logging.getLogger("slack_bolt"),
    )
    door = SlackDoor(settings, router)
    app.command(settings.chatops_slash_command)(door.on_command)
    app.action("page_prev")(door.on_rerun)
    app.action("page_next")(door.on_rerun)
    app.action("run_logs")(door.on_rerun)
    app.action("run_inspect")(door.on_rerun)
    app.action("ps_pick")(door.on_pick)
    app.event("app_home_opened")(door.on_home_opened)
    return app


class SlackDoor:
    """The listeners; each one acks, then dispatches to the router and answers through `respond`."""

    def __init__(self, settings: Settings, router: Router) -> None:
        self.settings = settings
        self.router = router

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """`/docker TEXT`: ack at once, run on the pool, answer in the channel (errors ephemeral)."""
        ack()
        request = door_request(str(command.get("text", "")))
        invocation = Invocation(
            text=request.text,
            user_id=str(command.get("user_id", "")),
            channel_id=str(command.get("channel_id", "")),
            team_id=str(command.get("team_id", "")),
            source="slack",
        )
        self.router.dispatch(
            invocation,
            self.settings.chatops_command_timeout,
            self._answer(invocation, respond, client, private=request.private, as_file=request.as_file),
        )

    def on_rerun(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """Paging and per-container buttons: the button's command, run again as the clicking user."""
        ack()
        try:
            value = json.loads(str(action.get("value", "")))
            text, host, page = str(value["text"]), value.get("host"), int(value.get("page", 0))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed %s action", action.get("action_id"))
            return
        invocation = Invocation(
            text=text,
            user_id=str(body.get("user", {}).get("id", "")),
            channel_id=str((body.get("channel") or {}).get("id", "")),
            team_id=str((body.get("team") or {}).get("id", "")),
            host=str(host) if host else None,
            source="slack-action",
        )
        paging = str(action.get("action_id", "")).startswith("page_")
        self.router.dispatch(
            invocation,
            self.settings.chatops_command_timeout,
            self._answer(invocation, respond, client, page=page, replace=paging),
        )

    def on_pick(self, ack: Ack, action: dict[str, Any], respond: Respond) -> None:
        """A container picked in a `ps` answer: offer Logs and Inspect for it, to the picker only."""
        ack()
        try:
            value = json.loads(str((action.get("selected_option") or {}).get("value", "")))
            name, host = str(value["name"]), str(value["host"])
        except (ValueError, KeyError, TypeError):
            return
        respond(
            text=f"{name} on {host}",
            blocks=render_container_actions(name, host),
            response_type="ephemeral",
            replace_original=False,
        )

    def on_home_opened(self, event: dict[str, Any], client: WebClient) -> None:
        """App Home: a dashboard per host, rendered from the same router answers."""
        if event.get("tab", "home") != "home":
            return
        user_id = str(event.get("user", ""))
        self.router.background(lambda: publish_home(client, self.router, user_id))

    def _answer(
        self,
        invocation: Invocation,
        respond: Respond,
        client: WebClient,
        *,
        private: bool = False,
        as_file: bool = False,
        page: int = 0,
        replace: bool = False,
    ) -> Callable[[Reply], None]:
        def deliver(reply: Reply) -> None:
            ok = reply.outcome is Outcome.OK
            problem = reply.problem
            if ok or problem is None:
                message = render_reply(
                    reply, user_id=invocation.user_id, host=reply.host, page=page, force_file=as_file
                )
            else:
                message = render_problem(problem, text=reply.text, host=reply.host)
            public = ok and not private
            respond(
                text=message.text,
                blocks=message.blocks,
                response_type="in_channel" if public else "ephemeral",
                replace_original=replace,
            )
            if message.attachment is not None:
                self._upload(client, invocation, message, public=public)

        return deliver

    def _upload(
        self, client: WebClient, invocation: Invocation, message: SlackMessage, *, public: bool
    ) -> None:
        """Large answers: the full text as a file (files_upload_v2), shared in the channel when public."""
        attachment = message.attachment
        if attachment is None or not public:  # a file shared in the channel would undo --private
            return
        try:
            client.files_upload_v2(
                channel=invocation.channel_id,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title,
            )
        except Exception:
            log.exception("uploading %s failed", attachment.filename)
