"""Every Block Kit payload the bot sends is built in this package and passes `enforce_limits`.

- `limits`: Slack's limits, the one check, and the escaping and clipping helpers all the others use;
- `reply`: a command's `Reply` as messages and pages, confirmation buttons, problems, the audit line;
- `notification`: an event notification with its Logs / Inspect / Restart buttons, and the digest of a burst;
- `home`: the App Home dashboard.
"""

from bot.render.blocks.limits import (
    PAGE_TEXT_BUDGET,
    SlackLimitError,
    enforce_limits,
    escape_clipped,
    escape_code,
    escape_code_clipped,
    escape_mrkdwn,
    limit_violations,
    slack_length,
)
from bot.render.blocks.reply import (
    CHUNKS_PER_PAGE,
    MAX_PAGES,
    FileAttachment,
    SlackMessage,
    channel_link,
    full_text,
    is_user_id,
    mention,
    render_audit_line,
    render_container_actions,
    render_in_progress,
    render_problem,
    render_pull_progress_text,
    render_reply,
    render_reply_pages,
    slack_refs,
    split_body,
    status_emoji,
)

__all__ = [
    "CHUNKS_PER_PAGE",
    "MAX_PAGES",
    "PAGE_TEXT_BUDGET",
    "FileAttachment",
    "SlackLimitError",
    "SlackMessage",
    "channel_link",
    "enforce_limits",
    "escape_clipped",
    "escape_code",
    "escape_code_clipped",
    "escape_mrkdwn",
    "full_text",
    "is_user_id",
    "limit_violations",
    "mention",
    "render_audit_line",
    "render_container_actions",
    "render_in_progress",
    "render_problem",
    "render_pull_progress_text",
    "render_reply",
    "render_reply_pages",
    "slack_length",
    "slack_refs",
    "split_body",
    "status_emoji",
]
