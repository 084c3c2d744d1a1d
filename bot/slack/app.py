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

from bot.models import ActionResult, ConfirmationResult, Outcome, Reply
from bot.render.blocks import SlackMessage, render_container_actions, render_problem, render_reply
from bot.router import Invocation, Router
from bot.settings import Settings
from bot.slack.groups import GroupResolver
from bot.slack.home import HomeGate, publish_home
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
    app.action("run_remedy")(door.on_rerun)
    app.action("run_restart")(door.on_rerun)
    app.action("run_prune")(door.on_rerun)
    app.action("plan_confirm")(door.on_plan)
    app.action("plan_approve")(door.on_plan)
    app.action("plan_cancel")(door.on_cancel)
    app.action("ps_pick")(door.on_pick)
    app.event("app_home_opened")(door.on_home_opened)
    return app


class SlackDoor:
    """The listeners; each one acks, then dispatches to the router and answers through `respond`."""

    def __init__(self, settings: Settings, router: Router, groups: GroupResolver | None = None) -> None:
        self.settings = settings
        self.router = router
        self.groups = groups or GroupResolver(settings.file.group_ids())
        self.home = HomeGate()

    def _invocation(
        self, client: WebClient, text: str, user_id: str, channel_id: str, team_id: str, **extra: Any
    ) -> Invocation:
        """An invocation by IDs only, with the user's groups (for group-bound roles) resolved and cached."""
        return Invocation(
            text=text,
            user_id=user_id,
            channel_id=channel_id,
            team_id=team_id,
            groups=self.groups.groups_of(client, user_id),
            is_dm=channel_id.startswith("D"),
            **extra,
        )

    def on_command(self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """`/docker TEXT`: ack at once, run on the pool, answer in the channel (errors ephemeral)."""
        ack()
        request = door_request(str(command.get("text", "")))
        invocation = self._invocation(
            client,
            request.text,
            str(command.get("user_id", "")),
            str(command.get("channel_id", "")),
            str(command.get("team_id", "")),
            source="slack",
            progress=ProgressPoster(respond, private=request.private),
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
            user_id, channel_id, team_id = _who(body)
            clicker = Invocation(
                "", user_id=user_id, channel_id=channel_id, team_id=team_id, source="slack-click"
            )
            self.router.note_click(clicker, f"{action.get('action_id')} (malformed value)", outcome="refused")
            return
        invocation = self._invocation(
            client,
            text,
            *_who(body),
            host=str(host) if host else None,
            source="slack-action",
        )
        paging = str(action.get("action_id", "")).startswith("page_")
        # a click on a private (ephemeral) answer stays private: paging, Logs, Inspect alike
        private = bool((body.get("container") or {}).get("is_ephemeral"))
        self.router.dispatch(
            invocation,
            self.settings.chatops_command_timeout,
            self._answer(invocation, respond, client, private=private, page=page, replace=paging),
        )

    def on_plan(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """Confirm or Approve: the stored plan (not the click's text) is re-authorized, re-planned, run."""
        ack()
        token = str(action.get("value", ""))
        invocation = self._invocation(
            client,
            "",
            *_who(body),
            source="slack-click",
            confirmation=token,
            progress=ProgressPoster(respond, private=False),
        )
        self.router.dispatch(
            invocation,
            self.settings.chatops_command_timeout,
            self._answer(invocation, respond, client, replace=True),
        )

    def on_cancel(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """Cancel: the plan can no longer run; the message says who cancelled it."""
        ack()
        user_id, channel_id, team_id = _who(body)
        clicker = Invocation(
            text="", user_id=user_id, channel_id=channel_id, team_id=team_id, source="slack-click"
        )
        if self.router.cancel(str(action.get("value", "")), clicker):
            respond(text=f"Cancelled by <@{user_id}>; nothing ran.", replace_original=True)
        else:
            respond(
                text="This plan is not yours to cancel, or it was already settled.",
                response_type="ephemeral",
                replace_original=False,
            )

    def on_pick(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """A container picked in a `ps` answer: offer Logs and Inspect for it, to the picker only."""
        ack()
        user_id, channel_id, team_id = _who(body)
        clicker = Invocation(
            text="", user_id=user_id, channel_id=channel_id, team_id=team_id, source="slack-click"
        )
        try:
            value = json.loads(str((action.get("selected_option") or {}).get("value", "")))
            name, host = str(value["name"]), str(value["host"])
        except (ValueError, KeyError, TypeError):
            self.router.note_click(clicker, "pick (malformed value)", outcome="refused")
            return
        self.router.note_click(clicker, f"pick {name} on {host}")
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
        if not user_id or not self.home.claim(user_id):
            return

        def build() -> None:
            published = False
            try:
                publish_home(client, self.router, user_id)
                published = True
            finally:
                self.home.release(user_id, published=published)

        if not self.router.background(build):
            self.home.release(user_id, published=False)

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
            gate = reply.outcome is Outcome.NEEDS_CONFIRMATION
            two_person = gate and any(
                isinstance(step.result, ConfirmationResult) and step.result.approval == "two-person"
                for step in reply.steps
            )
            if gate:  # the plan: only its requester may confirm, but a second person must see an approval
                message = render_reply(reply, user_id=invocation.user_id, host=reply.host, page=page)
            public = (ok and not private) or two_person
            if isinstance(invocation.progress, ProgressPoster) and invocation.progress.posted:
                replace_original = True  # the answer takes the place of the progress line
            else:
                replace_original = replace
            respond(
                text=message.text,
                blocks=message.blocks,
                response_type="in_channel" if public else "ephemeral",
                replace_original=replace_original,
            )
            if message.attachment is not None:
                self._upload(client, invocation, message, public=public)
            self._audit_line(client, invocation, reply)

        return deliver

    def _audit_line(self, client: WebClient, invocation: Invocation, reply: Reply) -> None:
        """One line per mutating action in CHATOPS_AUDIT_CHANNEL, when set."""
        channel = self.settings.chatops_audit_channel
        acted = any(isinstance(step.result, ActionResult) for step in reply.steps)
        if channel is None or not (acted or (invocation.confirmation and reply.outcome is Outcome.FAILED)):
            return
        who = invocation.confirmed_by
        text = reply.text.replace("`", "'")
        line = f"<@{who}> ran `{text}` on *{reply.host}* in <#{invocation.channel_id}>: {reply.outcome.value}"
        try:
            client.chat_postMessage(channel=channel, text=line[:3000])
        except Exception:
            log.exception("posting to the audit channel failed")

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


def _who(body: dict[str, Any]) -> tuple[str, str, str]:
    """(user ID, channel ID, team ID) of an interaction payload."""
    user = body.get("user") or {}
    channel = body.get("channel") or {}
    team = body.get("team") or {}
    return str(user.get("id", "")), str(channel.get("id", "")), str(team.get("id", ""))


MAX_PROGRESS_POSTS = 3  # a response_url takes 5 posts: keep room for the answer


class ProgressPoster:
    """Progress lines (`pull`) posted as the message and replaced in place, a few times at most."""

    def __init__(self, respond: Respond, *, private: bool) -> None:
        self.respond = respond
        self.private = private
        self.posted = 0

    def __call__(self, line: str) -> None:
        if self.posted >= MAX_PROGRESS_POSTS:
            return
        self.posted += 1
        try:
            self.respond(
                text=f":hourglass_flowing_sand: {line}"[:3000],
                response_type="ephemeral" if self.private else "in_channel",
                replace_original=self.posted > 1,
            )
        except Exception:
            log.warning("a progress update could not be posted")
