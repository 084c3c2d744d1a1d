"""slack-bolt wiring: `/docker`, button actions and App Home, all through the one router.

Every listener acknowledges first, before any Docker call, then hands the work to the router's own bounded
pool (`Router.dispatch`), so Bolt's five listener threads are never held by a slow or hung engine. The
buttons that run a command (Logs, Inspect, Restart, a remedy, a prune) re-enter the router as new
invocations by the clicking user: the rules for typed commands apply to them. Paging runs nothing: a long
reply's pages are stored with it (`Store.save_pages`, for `PAGES_TTL`) and ◀ Prev / Next ▶ show one.

Everything sent to Slack here escapes what users typed and containers printed (`&`, `<`, `>`); the only
live markup is a mention of a user or channel ID taken from Slack's own payload.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.models import Change, ConfirmationResult, Outcome, PullProgress, Reply
from bot.render.blocks import (
    SlackMessage,
    escape_clipped,
    mention,
    render_audit_line,
    render_container_actions,
    render_problem,
    render_pull_progress_text,
    render_reply_pages,
)
from bot.render.blocks.buttons import (
    ActionId,
    BadButtonValue,
    PageValue,
    PickValue,
    PlanValue,
    RunValue,
    decode_value,
)
from bot.router import Invocation, Router
from bot.settings import Settings
from bot.slack.groups import GroupResolver
from bot.slack.home import HomeGate, publish_home
from bot.slack.text import door_request
from bot.store import PAGES_TTL, Store, StoredReply, new_token

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
    for action_id, listener in action_listeners(door).items():
        app.action(action_id.value)(listener)
    app.event("app_home_opened")(door.on_home_opened)
    return app


def action_listeners(door: SlackDoor) -> dict[ActionId, Callable[..., None]]:
    """The one listener of every `ActionId` (a test checks none is missing)."""
    return {
        ActionId.PAGE_PREV: door.on_page,
        ActionId.PAGE_NEXT: door.on_page,
        ActionId.RUN_LOGS: door.on_run,
        ActionId.RUN_INSPECT: door.on_run,
        ActionId.RUN_REMEDY: door.on_run,
        ActionId.RUN_RESTART: door.on_run,
        ActionId.RUN_PRUNE: door.on_run,
        ActionId.PLAN_CONFIRM: door.on_plan,
        ActionId.PLAN_APPROVE: door.on_plan,
        ActionId.PLAN_CANCEL: door.on_cancel,
        ActionId.PS_PICK: door.on_pick,
    }


class SlackDoor:
    """The listeners; each one acks, then dispatches to the router and answers through `respond`."""

    def __init__(
        self,
        settings: Settings,
        router: Router,
        groups: GroupResolver | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.router = router
        self.groups = groups or GroupResolver(settings.file.group_ids())
        self.store = store or router.store
        self.home = HomeGate()

    def _invocation(
        self,
        client: WebClient,
        text: str,
        user_id: str,
        channel_id: str,
        team_id: str,
        *,
        is_dm: bool,
        **extra: Any,
    ) -> Invocation:
        """An invocation by IDs only, with the user's groups (for group-bound roles) resolved and cached;
        `is_dm` is what Slack's payload says of the conversation (`is_dm_command`, `is_dm_click`)."""
        return Invocation(
            text=text,
            user_id=user_id,
            channel_id=channel_id,
            team_id=team_id,
            groups=self.groups.groups_of(client, user_id),
            is_dm=is_dm,
            **extra,
        )

    def _clicker(self, body: dict[str, Any]) -> Invocation:
        """The clicking user, for the audit rows of clicks that run no command."""
        user_id, channel_id, team_id = _who(body)
        return Invocation(
            "",
            user_id=user_id,
            channel_id=channel_id,
            team_id=team_id,
            is_dm=is_dm_click(body),
            source="slack-click",
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
            is_dm=is_dm_command(command),
            source="slack",
            progress=ProgressPoster(respond, private=request.private),
        )
        self.router.dispatch(
            invocation,
            self.settings.chatops_command_timeout,
            self._answer(invocation, respond, client, private=request.private, as_file=request.as_file),
        )

    def on_run(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """Logs, Inspect, Restart, a remedy, a prune: the button's command, run as the clicking user."""
        ack()
        run = _decoded(action, RunValue)
        if run is None:
            log.warning("ignoring a malformed %s action", action.get("action_id"))
            self.router.note_click(
                self._clicker(body), f"{action.get('action_id')} (malformed value)", outcome="refused"
            )
            return
        invocation = self._invocation(
            client,
            run.text,
            *_who(body),
            is_dm=is_dm_click(body),
            host=run.host or None,
            source="slack-action",
        )
        # a click on a private (ephemeral) answer stays private
        private = _clicked_ephemeral(body)
        self.router.dispatch(
            invocation,
            self.settings.chatops_command_timeout,
            self._answer(invocation, respond, client, private=private),
        )

    def on_page(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """◀ Prev / Next ▶: show a stored page of the reply in place; nothing runs again. Audited."""
        ack()
        clicker = self._clicker(body)
        action_id = str(action.get("action_id", ""))
        paging = _decoded(action, PageValue)
        reply_id, page = (paging.reply_id, paging.page) if paging is not None else ("", 0)
        stored = self.store.stored_reply(reply_id) if reply_id else None
        refusal = _page_refusal(stored, clicker)
        if stored is None or refusal is not None:
            what = "unknown or expired reply" if stored is None else "not the clicker's reply"
            self.router.note_click(clicker, f"{action_id} ({what}); nothing ran", outcome="refused")
            respond(text=refusal or PAGES_GONE, response_type="ephemeral", replace_original=False)
            return
        shown = min(max(page, 0), len(stored.pages) - 1)
        content = json.loads(stored.pages[shown])
        self.router.note_click(clicker, f"page {shown + 1} of {len(stored.pages)}: {stored.text}")
        private = stored.private or _clicked_ephemeral(body)
        respond(
            text=str(content["text"]),
            blocks=content["blocks"],
            response_type="ephemeral" if private else "in_channel",
            replace_original=True,
        )

    def on_plan(
        self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """Confirm or Approve: the stored plan (not the click's text) is re-authorized, re-planned, run."""
        ack()
        plan = _decoded(action, PlanValue)
        if plan is None:
            clicker = self._clicker(body)
            self.router.note_click(clicker, "plan (malformed value); nothing ran", outcome="refused")
            return
        token = plan.token
        invocation = self._invocation(
            client,
            "",
            *_who(body),
            is_dm=is_dm_click(body),
            source="slack-click",
            plan_id=token,
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
        clicker = self._clicker(body)
        plan = _decoded(action, PlanValue)
        if plan is not None and self.router.cancel(plan.token, clicker):
            respond(text=f"Cancelled by {mention(clicker.user_id)}; nothing ran.", replace_original=True)
        else:
            respond(
                text="This plan is not yours to cancel, or it was already settled.",
                response_type="ephemeral",
                replace_original=False,
            )

    def on_pick(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """A container picked in a `ps` answer: offer Logs and Inspect for it, to the picker only."""
        ack()
        clicker = self._clicker(body)
        picked = _decoded({**action, "value": (action.get("selected_option") or {}).get("value")}, PickValue)
        if picked is None:
            self.router.note_click(clicker, "pick (malformed value)", outcome="refused")
            return
        name, host = picked.name, picked.host
        self.router.note_click(clicker, f"pick {name} on {host}")
        respond(
            text=escape_clipped(f"{name} on {host}", 300),
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
        replace: bool = False,
    ) -> Callable[[Reply], None]:
        def deliver(reply: Reply) -> None:
            ok = reply.outcome is Outcome.OK
            problem = reply.problem
            gate = reply.outcome is Outcome.NEEDS_CONFIRMATION
            two_person = gate and any(
                isinstance(step.result, ConfirmationResult) and step.result.approval == "two-person"
                for step in reply.steps
            )
            public = (ok and not private) or two_person
            if ok or gate or problem is None:
                # the plan too: only its requester may confirm, but a second person must see an approval
                reply_id = new_token()
                pages = render_reply_pages(
                    reply,
                    user_id=invocation.user_id,
                    host=reply.host,
                    force_file=as_file and not gate,
                    reply_id=reply_id,
                )
                message = pages[0]
                if len(pages) > 1:
                    self._keep_pages(reply_id, invocation, reply, pages, private=not public)
            else:
                message = render_problem(problem, text=reply.text, host=reply.host)
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

    def _keep_pages(
        self, reply_id: str, invocation: Invocation, reply: Reply, pages: list[SlackMessage], *, private: bool
    ) -> None:
        """Store every page of a long reply for its paging buttons (a failure only costs the paging)."""
        try:
            self.store.save_pages(
                reply_id,
                team_id=invocation.team_id,
                channel_id=invocation.channel_id,
                user_id=invocation.user_id,
                text=reply.text,
                private=private,
                pages=[json.dumps({"text": page.text, "blocks": page.blocks}) for page in pages],
                ttl=PAGES_TTL,
            )
        except Exception:
            log.exception("storing the pages of a reply failed; its paging buttons will say so")

    def _audit_line(self, client: WebClient, invocation: Invocation, reply: Reply) -> None:
        """One line per mutating action in CHATOPS_AUDIT_CHANNEL, when set."""
        channel = self.settings.chatops_audit_channel
        acted = any(isinstance(step.result, Change) for step in reply.steps)
        if channel is None or not (acted or (invocation.plan_id and reply.outcome is Outcome.FAILED)):
            return
        line = render_audit_line(
            user_id=invocation.user_id,  # the door's invocation: the one who typed or clicked
            text=reply.text,
            host=reply.host,
            channel_id=invocation.channel_id,
            outcome=reply.outcome.value,
        )
        try:
            client.chat_postMessage(channel=channel, text=line)
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


PAGES_GONE = (
    f"These pages are no longer kept (a reply's pages are kept for {PAGES_TTL / 60:.0f} minutes); "
    "nothing was run. Run the command again for a fresh answer."
)
PAGES_NOT_HERE = "These pages belong to another conversation; nothing was run."


def _page_refusal(stored: StoredReply | None, clicker: Invocation) -> str | None:
    """Why `clicker` may not see these stored pages (another team or channel, someone else's private
    answer); None when they may."""
    if stored is None:
        return None
    if stored.team_id != clicker.team_id or (clicker.channel_id and stored.channel_id != clicker.channel_id):
        return PAGES_NOT_HERE
    if stored.private and stored.user_id != clicker.user_id:
        return PAGES_NOT_HERE
    return None


_V = TypeVar("_V", RunValue, PageValue, PlanValue, PickValue)


def _decoded(action: dict[str, Any], shape: type[_V]) -> _V | None:
    """The click's value as the bot wrote it for this action, or None for anything else."""
    try:
        value = decode_value(str(action.get("action_id", "")), action.get("value"))
    except BadButtonValue:
        return None
    return value if isinstance(value, shape) else None


def _clicked_ephemeral(body: dict[str, Any]) -> bool:
    """True when the click came from an ephemeral message (an answer only its requester sees)."""
    return bool((body.get("container") or {}).get("is_ephemeral"))


# How Slack names a direct message: `channel_name` of a slash command and `channel.name` of an interaction
# say "directmessage" (a group DM's name starts "mpdm-"); events say `channel_type` "im" or "mpim".
_DM_NAME = "directmessage"
_GROUP_DM_PREFIX = "mpdm-"
_DM_TYPES = frozenset({"im", "mpim"})


def _dm_name(name: object) -> bool:
    return isinstance(name, str) and (name == _DM_NAME or name.startswith(_GROUP_DM_PREFIX))


def is_dm_command(command: dict[str, Any]) -> bool:
    """True when a slash command was typed in a direct message (one-to-one or group), as Slack says."""
    return _dm_name(command.get("channel_name")) or command.get("channel_type") in _DM_TYPES


def is_dm_click(body: dict[str, Any]) -> bool:
    """True when a button was clicked in a direct message (one-to-one or group), as Slack says."""
    channel = body.get("channel") or {}
    return _dm_name(channel.get("name")) or body.get("channel_type") in _DM_TYPES


def _who(body: dict[str, Any]) -> tuple[str, str, str]:
    """(user ID, channel ID, team ID) of an interaction payload."""
    user = body.get("user") or {}
    channel = body.get("channel") or {}
    team = body.get("team") or {}
    return str(user.get("id", "")), str(channel.get("id", "")), str(team.get("id", ""))


MAX_PROGRESS_POSTS = 3  # a response_url takes 5 posts: keep room for the answer


class ProgressPoster:
    """A pull's progress posted as the message and replaced in place, a few times at most."""

    def __init__(self, respond: Respond, *, private: bool) -> None:
        self.respond = respond
        self.private = private
        self.posted = 0

    def __call__(self, progress: PullProgress) -> None:
        if self.posted >= MAX_PROGRESS_POSTS:
            return
        self.posted += 1
        try:
            self.respond(
                text=render_pull_progress_text(progress),
                response_type="ephemeral" if self.private else "in_channel",
                replace_original=self.posted > 1,
            )
        except Exception:
            log.warning("a progress update could not be posted")
