"""Masking of secrets before text leaves the bot: environment entries and free text such as log lines.

`mask_env` hides every value of a `KEY=value` entry. `mask_secrets` hides only what looks like a secret
(tokens with a known shape, secret-looking assignments, credentials in URLs, private key blocks) and keeps
the key, so a masked log line still reads: `DB_PASSWORD=•••`, `"token": "•••"`, `xoxb-•••`. Programs known
to take a password glued to a short flag have it masked there too: `mysql -uroot -p•••` (see `_PROGRAMS`).

Every pattern is compiled once; text without any trigger word costs one scan per pattern.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MASK", "mask_env", "mask_secrets"]

MASK = "•••"


def mask_env(entry: str) -> str:
    """`KEY=value` → `KEY=•••` (every value, even an empty one); an entry without "=" stays unchanged."""
    key, sep, _ = entry.partition("=")
    return f"{key}={MASK}" if sep else entry


# ---- key classification ---------------------------------------------------------------------------------

# A key is secret-looking when one of its words is one of these (DB_PASSWORD, apiToken, client-secret)…
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "apikey",
        "apikeys",
        "credential",
        "credentials",
        "auth",
        "privatekey",
        "secretkey",
        "accesskey",
    }
)
# … or two adjacent words are one of these pairs (API_KEY, aws_access_key, signingKey) …
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("master", "key"),
        ("license", "key"),
    }
)
# … unless its last word says the value is about the secret, not the secret (PASSWORD_FILE, token_ttl).
_SAFE_TAILS = frozenset(
    {
        "file",
        "path",
        "name",
        "dir",
        "length",
        "len",
        "count",
        "type",
        "ttl",
        "expiry",
        "expires",
        "expired",
        "expiration",
        "timeout",
        "size",
        "url",
        "uri",
        "endpoint",
        "policy",
        "min",
        "max",
        "enabled",
        "required",
        "stdin",
        "format",
        "mode",
        "source",
        "ref",
        "provider",
        "issuer",
        "algorithm",
        "alg",
        "version",
        "reset",
        "status",
        "header",
        "field",
        "method",
        "store",
        "helper",
        "limit",
        "lifetime",
        "age",
        "hint",
        "prompt",
        "changed",
        "updated",
        "created",
        "at",
    }
)
# Keys whose values are masked even when they are short words or numbers (a PIN, "letmein").
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "pass"})
_PASSWORD_SUFFIXES = ("password", "passwd", "passphrase")
# Values that are not secrets: placeholders, booleans, already-masked text.
_NOT_SECRET_VALUES = frozenset(
    {
        "",
        "null",
        "none",
        "nil",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "undefined",
        "required",
        "optional",
        "redacted",
        "[redacted]",
        "<redacted>",
        "hidden",
        "<hidden>",
        "[hidden]",
        "[filtered]",
        "masked",
        "<masked>",
        "<none>",
        "n/a",
        "-",
        "xxx",
        "xxxx",
        "sensitive",
    }
)

_KEY_PARTS = re.compile(r"[^_.\-\s]+")
_CAMEL_WORDS = re.compile(r"[A-Z]{2,}(?=[A-Z][a-z]|[^A-Za-z]|$)|[A-Z]?[a-z]+|[A-Z]+|\d+")


def _key_words(key: str) -> list[str]:
    """A key's words, split on `_ . -` and camelCase, lower-cased: "dbPassword_FILE" → db, password, file."""
    words: list[str] = []
    for part in _KEY_PARTS.findall(key):
        words.extend(word.lower() for word in _CAMEL_WORDS.findall(part))
    return words


@functools.lru_cache(maxsize=1024)
def _key_kind(key: str) -> str | None:
    """ "password" for password-like keys, "secret" for other secret-looking keys, None for ordinary keys."""
    words = _key_words(key)
    if not words or words[-1] in _SAFE_TAILS:
        return None
    if any(word in _PASSWORD_WORDS for word in words if word != "pass" or len(words) > 1):
        return "password"
    if any(word.endswith(_PASSWORD_SUFFIXES) for word in words):  # PGPASSWORD, dbpasswd: one word, no "_"
        return "password"
    if any(word in _SECRET_WORDS for word in words):
        return "secret"
    if any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words)):
        return "secret"
    return None


def _is_placeholder(value: str) -> bool:
    """Values nobody needs hidden: empty, booleans, placeholders, `$VAR` references, already-masked text."""
    lowered = value.lower()
    return (
        lowered in _NOT_SECRET_VALUES
        or MASK in value
        or set(value) <= {"*"}
        or value.startswith(("$", "{{", "%("))
    )


def _looks_like_credential(value: str) -> bool:
    """A value that reads like a credential rather than a word: has digits or symbols, or is long."""
    if len(value) >= 16:
        return True
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    return len(value) >= 6 and has_alpha and (has_digit or has_symbol)


def _looks_random(blob: str) -> bool:
    """A long blob with the variety of a random key (hex digest, base64 secret), not a word or a number."""
    return (
        len(blob) >= 20
        and any(c.isdigit() for c in blob)
        and any(c.isalpha() for c in blob)
        and len(set(blob)) >= 10
    )


# ---- patterns ---------------------------------------------------------------------------------------------
#
# Except for private key blocks, every pattern runs on a lower-cased copy of the text (case-sensitive matching
# is several times faster than re.IGNORECASE) and the replacement reads the original text at the same offsets.
# Patterns start with a literal or a small set of letters, never with \b or a look-behind, so that the regex
# engine can skip ahead quickly; the callbacks check what precedes a match instead.

_PRIVATE_KEY = re.compile(
    # -----BEGIN … PRIVATE KEY----- up to its END line; without an END line, the base64 run that follows.
    # The body (base64, "Proc-Type:"/"DEK-Info:" headers, literal "\n" in JSON) stops at the next "-----".
    r"(?P<begin>-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)"
    r"(?:(?P<body>(?:[A-Za-z0-9+/=\s:,\\]|-(?!----))*+)(?P<end>-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)"
    r"|(?P<tail>(?:[ \t]*(?:\r?\n|\\r?\\n)?[ \t]*"
    r"(?:Proc-Type:[^\n\\]*|DEK-Info:[^\n\\]*|[A-Za-z0-9+/=]{16,}))*))",
    re.DOTALL,
)
# Tokens with a recognisable shape: the prefix that says what kind of token it was stays.
_SLACK_TOKEN = re.compile(r"(?P<prefix>xox[a-z](?:\.xox[a-z])?-|xapp-)(?P<secret>[a-z0-9\-]{8,}+)")
_CODE_HOST_TOKEN = re.compile(r"(?P<prefix>gh[pousr]_|github_pat_|glpat-)(?P<secret>[a-z0-9_\-]{16,}+)")
_STRIPE_KEY = re.compile(r"(?P<prefix>[sr]k_(?:live|test)_)(?P<secret>[a-z0-9]{8,}+)")
# Cloud key ids are matched in the original text: they are upper case ("Asia/Tokyo" is a time zone).
_CLOUD_KEY = re.compile(
    r"(?P<prefix>AKIA|ASIA)(?P<secret>[A-Z0-9]{16})(?![A-Za-z0-9])|(?P<google>AIza)[A-Za-z0-9_\-]{35}"
)
_SLACK_WEBHOOK = re.compile(r"(?P<keep>hooks\.slack\.com/(?:services|workflows|triggers)/)[a-z0-9/_\-]++")
# The look-behind after "eyj" keeps a run like "eyjeyjeyj…" from being rescanned at every "eyj".
_JWT = re.compile(r"eyj(?<![a-z0-9_\-]eyj)[a-z0-9_\-]{8,}+\.[a-z0-9_\-]{8,}+\.[a-z0-9_\-]*+")
# scheme://user:password@host → scheme://user:•••@host (the scheme is left of the match)
_URL_CREDENTIALS = re.compile(r"(?P<keep>://[^\s:/@\"'<>]*:)(?P<secret>[^\s@/\"'<>]++)(?=@)")
# Authorization: Bearer xyz / Proxy-Authorization: Basic xyz (the whole credential after the scheme).
_AUTHORIZATION = re.compile(
    r"(?P<keep>authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:(?:bearer|basic|token|digest|negotiate|bot|aws4-hmac-sha256)[ \t]+)?)"
    r"(?P<secret>[^\s\"',;]++)"
)
_BEARER = re.compile(r"(?P<keep>bearer[ \t]+)(?P<secret>[a-z0-9._~+/=\-]{16,}+)")
# key=value, key: value, "key": "value", key => 'value', --flag=value. The match starts at a trigger word;
# the rest of the key to its left is read back from the text and the whole key is judged by _key_kind.
# Keys are bounded (64 characters after the trigger) so that a long run of trigger words stays linear.
_TRIGGER = r"(?:pass|pwd|secret|token|key|auth|credential)"
_ASSIGNMENT = re.compile(
    _TRIGGER + r"[\w.\-]{0,64}+"
    r"(?P<sep>\\?[\"']?[ \t]*(?:=>|[:=])[ \t]*)"
    r"(?P<value>\\\"[^\"\n]*?\\\"|\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s,;&\"'<>(){}\[\]]+)"
)
# --password hunter2: a command-line flag and its separate value.
_FLAG = re.compile(
    r"-(?<![\w\-]-)(?P<key>-?[\w\-]{0,64}?"
    + _TRIGGER
    + r"[\w\-]{0,64}+)(?P<sep>[ \t]++)(?P<value>[^\s\-][^\s]*+)"
)
# "the API key is 3f9a…", "signature 8c1e…": a long random blob after a key-ish word.
# A bare "key" counts only after a qualifier ("API key", "signing key"): a cache key is no secret.
_KEYWORD_BLOB = re.compile(
    r"(?P<keep>(?P<word>key|secret|token|password|passphrase|signature|hmac|credentials?)"
    r"(?:[ \t]+(?:is|was)|[ \t]*[=:])?[ \t]+)"
    r"(?P<secret>[a-z0-9+/_=\-]{20,}+)"
)
# ---- passwords glued to a short flag: `mysql -uroot -pSECRET` ----------------------------------------------
#
# `-pSECRET` cannot be judged by its shape: `docker run -p8080:80`, `ps -p 1`, `mkdir -p dir`, `mysql -P3306`
# are no secrets. So it is judged by the program: only after the name of a program listed in `_PROGRAMS`,
# within the same shell command, is its password flag's glued value masked.


@dataclass(frozen=True, slots=True)
class _PasswordFlag:
    """How a program takes a password on its command line.

    `letter`: the short flag whose glued value is the password, case-sensitive (mysql's `-p` is the password,
    `-P` the port). Only the glued form counts: for mysql a lone `-p` prompts and the next word is the
    database. `long_option`: a long option whose abbreviations (at least "pass": `--pass=`, `--passwo=`) also
    carry the password after "=" (the full `--password=…` is masked by the assignment rule anyway).
    """

    letter: str
    long_option: str | None = None


_MYSQL_CLIENTS = (  # MySQL's and MariaDB's client programs: --password[=pw], -p[pw]
    "mysql",
    "mysqladmin",
    "mysqlbinlog",
    "mysqlcheck",
    "mysqldump",
    "mysqlimport",
    "mysqlpump",
    "mysqlshow",
    "mysqlslap",
    "mysql_upgrade",
    "mariadb",
    "mariadb-admin",
    "mariadb-backup",
    "mariabackup",
    "mariadb-binlog",
    "mariadb-check",
    "mariadb-dump",
    "mariadb-import",
    "mariadb-show",
    "mariadb-slap",
    "mariadb-upgrade",
)
_ARCHIVERS = ("7z", "7za", "7zr", "7zz", "rar", "unrar")  # -p{password}
_PROGRAMS: dict[str, _PasswordFlag] = {
    **dict.fromkeys(_MYSQL_CLIENTS, _PasswordFlag("p", "password")),
    **dict.fromkeys(_ARCHIVERS, _PasswordFlag("p")),
    "sshpass": _PasswordFlag("p"),  # sshpass -pSECRET ssh host: getopt takes a glued value too
}
_PROGRAM_TRIGGERS = ("mysql", "mariadb", "mariabackup", "7z", "rar", "sshpass")
# A program name is a whole word (`/usr/bin/mysql` counts, `xmysql` and `mysql.cnf` do not) followed by a
# blank. Its arguments run to the end of the line or to a shell separator (`;`, `&`, `|`, a backtick or a
# parenthesis) outside quotes; a word that starts like a flag (`-pa;b`, from an exec-form command) runs to
# the next blank, separators included, so that no part of a glued value is left out.
_QUOTED = r"'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\""
_PROGRAM_NAME = "|".join(  # the look-behind after each name: not the tail of a longer word
    rf"{re.escape(name)}(?<![\w.\-]{re.escape(name)})" for name in sorted(_PROGRAMS, key=len, reverse=True)
)
_FLAG_WORD = rf"--?[a-z](?:{_QUOTED})?+[^\s]*+"
_PLAIN_WORD = rf"(?:{_QUOTED}|[^\s;&|`()'\"])++"
_PROGRAM = re.compile(
    rf"(?P<program>{_PROGRAM_NAME})(?=[ \t])(?P<args>(?:[ \t]++(?:{_FLAG_WORD}|{_PLAIN_WORD}))*+)"
)
# In the original text of the arguments: `-pVALUE` or `--name=VALUE`. The value is one quoted string (then
# only quotes may follow it before a blank: `sh -c 'mysql -p"pw"'`) or everything up to the next blank, of
# which the callback drops what closes the word in a shell: quotes (the end of a `sh -c '…'` around the
# command) and separators (`mysql -pX; ls`); a separator inside the word (`-pa;b`) is part of the value.
_WORD_TRAILERS = "'\";&|)`"
_GLUED_FLAG = re.compile(
    r"(?<![^ \t'\"])(?P<flag>-[A-Za-z]|--[A-Za-z][\w\-]*=)"
    rf"(?P<value>(?:{_QUOTED})(?=['\"]*+(?:\s|$))|[^\s]+)"
)


def _glued_password(flag: str, option: _PasswordFlag) -> bool:
    """Whether `flag` ("-p" or "--name=") carries the program's password glued to it."""
    if not flag.startswith("--"):
        return flag[1] == option.letter
    name = flag[2:-1].lower()
    return option.long_option is not None and len(name) >= 4 and option.long_option.startswith(name)


def _mask_program_flags(found: _Found) -> str:
    """Mask the first glued password of a listed program, and its abbreviated long password options.

    Only the first short flag counts: a program's own options come before the command it runs
    (`sshpass -pSECRET ssh -p2222 host`). A value that is a placeholder (`-p$MYSQL_ROOT_PASSWORD`) stays.
    """
    option = _PROGRAMS[found.group("program").lower()]
    args = found.group("args")
    parts: list[str] = []
    done = 0
    short_seen = False
    for match in _GLUED_FLAG.finditer(args):
        flag, value = match.group("flag"), match.group("value")
        if not _glued_password(flag, option) or (short_seen and not flag.startswith("--")):
            continue
        short_seen = short_seen or not flag.startswith("--")
        quote = value[0] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else ""
        inner = value[1:-1] if quote else value.rstrip(_WORD_TRAILERS)
        if not inner or _is_placeholder(inner):
            continue
        parts.append(args[done : match.start("value")] + f"{quote}{MASK}{quote}")
        done = match.start("value") + (len(value) if quote else len(inner))
    if not parts:
        return found.group()
    return found.group("program") + "".join(parts) + args[done:]


_KEY_QUALIFIER = re.compile(r"(?:api|access|secret|private|signing|encryption|master|auth|session)[ _\-]?$")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_FLAG_CHARS = _WORD_CHARS | {"-"}
_KEY_CHARS = _WORD_CHARS | {".", "-"}


class _Found:
    """A match found in the lower-cased copy, read back from the original text at the same offsets."""

    __slots__ = ("match", "text")

    def __init__(self, match: re.Match[str], text: str) -> None:
        self.match = match
        self.text = text

    def group(self, name: str | int = 0) -> str:
        """The original text of a group ("" when the group did not take part)."""
        start, end = self.match.span(name)
        return self.text[start:end] if start >= 0 else ""

    def follows(self, chars: frozenset[str]) -> bool:
        """Whether the character before the match is one of `chars` (False at the start of the text)."""
        start = self.match.start()
        return start > 0 and self.text[start - 1] in chars

    def key_start(self) -> int:
        """Where the key that holds the match begins: walk left over key characters."""
        start = self.match.start()
        while start > 0 and self.text[start - 1] in _KEY_CHARS:
            start -= 1
        return start


def _mask_private_key(match: re.Match[str]) -> str:
    body = match.group("body")
    if body is None:
        tail = match.group("tail")
        if not tail.strip():
            return match.group(0)
        lead = tail[: len(tail) - len(tail.lstrip())]
        return match.group("begin") + lead + MASK + tail[len(tail.rstrip()) :]
    if not body.strip():
        return match.group(0)
    lead = body[: len(body) - len(body.lstrip())]
    trail = body[len(body.rstrip()) :]
    return match.group("begin") + lead + MASK + trail + match.group("end")


def _mask_prefixed_token(found: _Found) -> str:
    """Keep the prefix that names the kind of token (`xoxb-•••`, `ghp_•••`, `AKIA•••`)."""
    if found.follows(_WORD_CHARS):
        return found.group()
    if "google" in found.match.re.groupindex and found.match.start("google") >= 0:
        return "AIza" + MASK
    return found.group("prefix") + MASK


def _keep_and_mask(found: _Found) -> str:
    return found.group("keep") + MASK


def _mask_token_word(found: _Found) -> str:
    """Mask a match that must start a word (a JWT, "Authorization:"); keep the "keep" group if any."""
    if found.follows(_WORD_CHARS):
        return found.group()
    return (found.group("keep") if "keep" in found.match.re.groupindex else "") + MASK


def _mask_bearer(found: _Found) -> str:
    if found.follows(_WORD_CHARS) or not any(c.isdigit() for c in found.group("secret")):
        return found.group()
    return found.group("keep") + MASK


def _mask_assignment(found: _Found) -> str:
    match = found.match
    key = found.text[found.key_start() : match.start("sep")]
    sep = found.group("sep")
    value = found.group("value")
    whole = found.group()
    kind = _key_kind(key)
    if kind is None:
        return whole
    quote = ""
    inner = value
    if len(value) >= 4 and value.startswith('\\"') and value.endswith('\\"'):
        quote, inner = '\\"', value[2:-2]
    elif len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        quote, inner = value[0], value[1:-1]
    if _is_placeholder(inner):
        return whole
    if kind == "secret" and not quote:
        if inner.isdigit():  # token counts, key ids: numbers are rarely secrets outside passwords
            return whole
        if "=" not in sep and not _looks_like_credential(inner):
            return whole  # "invalid token: please log in again" is prose, not a credential
    return found.text[match.start() : match.start("sep")] + f"{sep}{quote}{MASK}{quote}"


def _mask_flag(found: _Found) -> str:
    if found.follows(_FLAG_CHARS):
        return found.group()
    key = "-" + found.group("key")
    kind = _key_kind(key.lstrip("-"))
    value = found.group("value")
    if kind is None or _is_placeholder(value):
        return found.group()
    if kind == "secret" and not _looks_like_credential(value):
        return found.group()
    return f"{key}{found.group('sep')}{MASK}"


def _mask_keyword_blob(found: _Found) -> str:
    if found.follows(_WORD_CHARS) or not _looks_random(found.group("secret")):
        return found.group()
    if found.group("word").lower() == "key":
        before = found.text[max(0, found.match.start() - 12) : found.match.start()].lower()
        if not _KEY_QUALIFIER.search(before):
            return found.group()
    return found.group("keep") + MASK


# Each rule runs only on lines holding one of its trigger words (lower case): most log lines hold none.
_SECRET_KEY_TRIGGERS = ("pass", "pwd", "secret", "token", "key", "auth", "credential")
_BLOB_WORDS = ("key", "secret", "token", "password", "passphrase", "signature", "hmac", "credential")


@dataclass(frozen=True, slots=True)
class _Rule:
    """A pattern, its replacement, and the words (lower case unless `on_original`) it cannot match without."""

    pattern: re.Pattern[str]
    replace: Callable[[_Found], str]
    triggers: tuple[str, ...]
    on_original: bool = False


_RULES = (
    _Rule(_AUTHORIZATION, _mask_token_word, ("authorization",)),
    _Rule(_URL_CREDENTIALS, _keep_and_mask, ("://",)),
    _Rule(_ASSIGNMENT, _mask_assignment, _SECRET_KEY_TRIGGERS),
    _Rule(_FLAG, _mask_flag, _SECRET_KEY_TRIGGERS),
    _Rule(_PROGRAM, _mask_program_flags, _PROGRAM_TRIGGERS),
    _Rule(_SLACK_TOKEN, _mask_prefixed_token, ("xox", "xapp-")),
    _Rule(
        _CODE_HOST_TOKEN,
        _mask_prefixed_token,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-"),
    ),
    _Rule(_STRIPE_KEY, _mask_prefixed_token, ("k_live_", "k_test_")),
    _Rule(_CLOUD_KEY, _mask_prefixed_token, ("AKIA", "ASIA", "AIza"), on_original=True),
    _Rule(_SLACK_WEBHOOK, _keep_and_mask, ("hooks.slack.com",)),
    _Rule(_JWT, _mask_token_word, ("eyj",)),
    _Rule(_BEARER, _mask_bearer, ("bearer",)),
    _Rule(_KEYWORD_BLOB, _mask_keyword_blob, _BLOB_WORDS),
)


def _lower(text: str) -> str:
    """Lower-case `text` without changing its length (a few letters, like "İ", grow when lower-cased)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _apply(text: str, lowered: str) -> str:
    """Apply every rule whose trigger occurs in the text (`lowered` is `_lower(text)`).

    Masking only ever removes trigger words, so which triggers occur is looked up once, in the input.
    """
    seen: dict[tuple[str, bool], bool] = {}
    original, original_lowered = text, lowered

    def occurs(trigger: str, on_original: bool) -> bool:
        hit = seen.get((trigger, on_original))
        if hit is None:
            hit = seen[trigger, on_original] = trigger in (original if on_original else original_lowered)
        return hit

    for rule in _RULES:
        if not any(occurs(trigger, rule.on_original) for trigger in rule.triggers):
            continue
        haystack = text if rule.on_original else lowered
        parts: list[str] = []
        done = 0
        for match in rule.pattern.finditer(haystack):
            parts.append(text[done : match.start()])
            parts.append(rule.replace(_Found(match, text)))
            done = match.end()
        if parts:
            parts.append(text[done:])
            text = "".join(parts)
            lowered = _lower(text)
    return text


def mask_secrets(text: str) -> str:
    """Replace what looks like a secret in free text with "•••", keeping keys and token prefixes readable.

    Covers Slack, GitHub, GitLab, Stripe, Google and AWS key shapes, JWTs, private key blocks, credentials in
    URLs, `Authorization:` headers, secret-looking assignments (`password=…`, `"token": "…"`, `--secret …`),
    long random blobs after key-ish words, and the password glued to a short flag of a program known to take
    it that way (`mysql -uroot -p•••`, see `_PROGRAMS`). Ordinary text — container IDs, digests, timestamps,
    commit URLs, "password reset email sent" — is left alone. Works on one line or many (private key blocks
    span lines).
    """
    lowered = _lower(text)
    if "private key" in lowered:
        text = _PRIVATE_KEY.sub(_mask_private_key, text)
        lowered = _lower(text)
    return _apply(text, lowered)
