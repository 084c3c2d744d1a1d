"""Masking of secrets before text leaves the bot: environment entries and free text such as log lines.

`mask_env` hides every value of a `KEY=value` entry. `mask_secrets` hides only what looks like a secret
(tokens with a known shape, secret-looking assignments, credentials in URLs, `Authorization` headers,
cookies, private key blocks) and keeps the key, so a masked log line still reads: `DB_PASSWORD=•••`,
`"token": "•••"`, `xoxb-•••`, `auth=Basic •••`. A mask always covers the whole credential: an
authentication scheme (`Basic`, `Bearer`, `Digest`…) stays readable, the credential after it never does,
and after an authentication header or key (`X-Auth: Basic •••`) it is masked whatever it looks like.
Programs known to take a password on their command line have it masked there: `mysql -uroot -p•••`,
`curl -u admin:•••`, `redis-cli -a •••`, `smbclient -U bob%•••`, `htpasswd -b file user •••` (see
`_PROGRAMS`); so are Redis's `requirepass •••` and `AUTH •••`, and the signatures of presigned URLs
(`&X-Amz-Signature=•••`, `&sig=•••`).

`SecretMaskingFilter` applies `mask_secrets` to what a log record prints; `mask_log_handlers` installs it.

Every pattern is compiled once; text without any trigger word costs one scan per trigger word.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["MASK", "SecretMaskingFilter", "mask_env", "mask_log_handlers", "mask_secrets"]

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
        ("account", "key"),  # Azure: AccountKey=…
        ("subscription", "key"),  # Azure API Management: Ocp-Apim-Subscription-Key
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
_PASSWORD_WORDS = frozenset(
    {"password", "passwd", "pwd", "passphrase", "pass", "requirepass", "masterauth"}  # the last two: Redis
)
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
    if words == ["pass"]:  # `pass=hunter2` in a log line, but `pass: 2` may count passes: judged as a secret
        return "secret"
    if any(word in _PASSWORD_WORDS for word in words if word != "pass" or len(words) > 1):
        return "password"
    if any(word.endswith(_PASSWORD_SUFFIXES) for word in words):  # PGPASSWORD, dbpasswd: one word, no "_"
        return "password"
    if any(word in _SECRET_WORDS for word in words):
        return "secret"
    if any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words)):
        return "secret"
    return None


# A key with one of these words names an authentication header or setting (`X-Auth`, `X-Custom-Auth-Header`,
# `proxy_authorization`): after an authentication scheme its value is a credential whatever it looks like.
# "authenticated" or "authenticate" are other words (`X-Goog-Authenticated-User-Email` names a user,
# `WWW-Authenticate` a challenge).
_AUTH_KEY_WORDS = frozenset({"auth", "authorization", "authorisation"})
# Last words of such a key that name where the credential is carried, not something about it.
_CARRIER_TAILS = frozenset({"header", "field"})
# Schemes that are everyday nouns too ("auth: token refreshed", "auth: bot connected"): after a ":" their
# credential must read like one even after an authentication key.
_WORDLIKE_SCHEMES = frozenset({"token", "bot"})
# Words after a scheme that are prose, not a credential: "auth: bearer token required", "X-Auth: basic only".
_PROSE_AFTER_SCHEME = frozenset(
    {
        "ok",
        "only",
        "failed",
        "failure",
        "error",
        "expired",
        "invalid",
        "missing",
        "denied",
        "refused",
        "rejected",
        "success",
        "successful",
        "succeeded",
        "enabled",
        "disabled",
        "supported",
        "unsupported",
        "realm",
        "token",
        "auth",
        "authentication",
        "credentials",
        "scheme",
        "is",
        "was",
        "not",
    }
)


def _is_auth_key(key: str) -> bool:
    """Whether `key` names an authentication header or setting (`X-Auth`, `X-Custom-Auth-Header`), so that a
    scheme after it (`Basic …`) starts a credential. Keys about one (`auth_method`, `AUTH_TYPE`) are not."""
    words = _key_words(key)
    if not words or (words[-1] in _SAFE_TAILS and words[-1] not in _CARRIER_TAILS):
        return False
    return any(word in _AUTH_KEY_WORDS for word in words)


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
_SLACK_WEBHOOK = re.compile(r"(?P<keep>hooks\.slack\.com/(?:services|workflows|triggers)/)[a-z0-9/_\-]++")
# The look-behind after "eyj" keeps a run like "eyjeyjeyj…" from being rescanned at every "eyj".
_JWT = re.compile(r"eyj(?<![a-z0-9_\-]eyj)[a-z0-9_\-]{8,}+\.[a-z0-9_\-]{8,}+\.[a-z0-9_\-]*+")
# scheme://user:password@host → scheme://user:•••@host (the scheme is left of the match). The authority runs
# to the next "/" or blank; its last "@" ends the user information (a raw "@" in a password, `P@ss`, is
# common) and the first ":" before that ends the user.
_URL_AUTHORITY = re.compile(r"://(?P<authority>[^\s/\"'<>]++)")
_QUOTED = r"'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\""
# Authentication schemes (RFC 9110 and the IANA registry, plus `token`, `bot` and `apikey` as APIs use
# them): after one of them comes the credential, which a mask must cover whole.
_AUTH_SCHEME = (
    r"(?:basic|bearer|digest|token|negotiate|ntlm|bot|dpop|hoba|mutual|vapid|gnap|apikey"
    r"|scram-sha-(?:1|256)|aws4-hmac-sha256)"
)
# One `name=value` of a credential's parameter list (Digest, AWS4): the value plain, quoted, or quoted with
# escaped quotes inside a JSON string. No blank around "=": `YWRt…= next` is a token68 and the next word.
_AUTH_PARAM = (
    r"[a-z0-9_\-]++="
    r"(?:\\\"(?:[^\"\\\n]|\\[^\"\n])*+\\\"|\"(?:[^\"\\\n]|\\.)*+\"|[^\s,\"'\\\]]*+)"
)
_AUTH_PARAMS = rf"{_AUTH_PARAM}(?:[ \t]*+,[ \t]*+{_AUTH_PARAM})*+"
# A credential after a scheme where the key alone does not prove it is one (`auth=`, `X-Auth:`, `--token`):
# a parameter list that cannot be an ordinary field (a quoted first value or a comma-separated list), or one
# token68-like word that ends where a value ends (`auth=basic user=bob` is a method and another field).
_SCHEME_CREDENTIAL = (
    rf"[a-z0-9_\-]++=(?:\\\"(?:[^\"\\\n]|\\[^\"\n])*+\\\"|\"(?:[^\"\\\n]|\\.)*+\")"
    rf"(?:[ \t]*+,[ \t]*+{_AUTH_PARAM})*+"
    rf"|{_AUTH_PARAM}(?:[ \t]*+,[ \t]*+{_AUTH_PARAM})++"
    r"|[^\s\"'`,;=&\[\](){}<>\\]++=*+(?=[\s\"'`,;&\])}<>\\]|$)"
)
# Authorization: Bearer xyz / Proxy-Authorization: Basic xyz / "authorization":["Digest username=…"]: the
# whole credential after the scheme (a Digest or AWS4 parameter list up to its end).
_AUTHORIZATION = re.compile(
    r"(?P<keep>authorization[\"']?[ \t]*[:=][ \t]*\[?[\"']?"
    rf"(?:{_AUTH_SCHEME}[ \t]++)?)"
    rf"(?P<secret>{_AUTH_PARAMS}|[^\s\"',;\]]++)"
)
# Cookie: sid=…; theme=… / Set-Cookie: sid=…; Path=/; HttpOnly: every cookie is a bearer credential as far as
# a log reader can tell, so every value is masked; names and Set-Cookie attributes stay.
_COOKIE = re.compile(r"(?P<keep>cookie[\"']?[ \t]*[:=][ \t]*\[?[\"']?)(?P<cookies>[^\n\"'\]]++)")
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]++")  # RFC 9110's token
_COOKIE_ATTRIBUTES = frozenset(
    {"expires", "max-age", "domain", "path", "samesite", "secure", "httponly", "priority", "partitioned"}
)
_BEARER = re.compile(r"(?P<keep>bearer[ \t]+)(?P<secret>[a-z0-9._~+/=\-]{16,}+)")
# key=value, key: value, "key": "value", key => 'value', --flag=value, auth=Basic xyz. The match starts at a
# trigger word; the rest of the key to its left is read back from the text and the whole key is judged by
# _key_kind. Keys are bounded (64 characters after the trigger) so that a long run of trigger words stays
# linear.
_TRIGGER = r"(?:pass|pwd|secret|token|key|auth|credential)"
_ASSIGNMENT = re.compile(
    _TRIGGER + r"[\w.\-]{0,64}+"
    r"(?P<sep>\\?[\"']?[ \t]*(?:=>|[:=])[ \t]*)"
    rf"(?P<value>(?P<scheme>{_AUTH_SCHEME})[ \t]++(?P<credential>{_SCHEME_CREDENTIAL})"
    r"|\\\"[^\"\n]*?\\\"|\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s,;&\"'<>(){}\[\]]+)"
)
# --password hunter2, --password "two words", --auth-token Bearer xyz: a flag and its separate value.
_FLAG = re.compile(
    r"-(?<![\w\-]-)(?P<key>-?[\w\-]{0,64}?" + _TRIGGER + r"[\w\-]{0,64}+)(?P<sep>[ \t]++)"
    rf"(?P<value>(?P<scheme>{_AUTH_SCHEME})[ \t]++(?P<credential>{_SCHEME_CREDENTIAL})"
    rf"|{_QUOTED}|[^\s\-][^\s]*+)"
)
# SQL as databases log it: ALTER ROLE app PASSWORD 'pw', CREATE USER … IDENTIFIED [WITH plugin] BY 'pw'.
_SQL_PASSWORD = re.compile(r"(?P<keep>password[ \t]++')(?P<secret>[^'\n]++)(?=')")
_SQL_IDENTIFIED_BY = re.compile(
    r"(?P<keep>identified[ \t]++(?:with[ \t]++[\w\-]++[ \t]++)?by[ \t]++')(?P<secret>[^'\n]++)(?=')"
)
# "the API key is 3f9a…", "signature 8c1e…", "client_secret 3f9a…": a long random blob after a key-ish word.
# A bare "key" counts only after a qualifier ("API key", "signing key"): a cache key is no secret.
_KEYWORD_BLOB = re.compile(
    r"(?P<keep>(?P<word>key|secret|token|password|passphrase|signature|hmac|credentials?)"
    r"(?:[ \t]+(?:is|was)|[ \t]*[=:])?[ \t]+)"
    r"(?P<secret>[a-z0-9+/_=\-]{20,}+)"
)

# Presigned URLs carry their signature in the query: `&X-Amz-Signature=…` (S3), `&X-Goog-Signature=…` (Cloud
# Storage), `&sig=…` (an Azure SAS), `&Signature=…` (S3's older form). `X-Amz-Credential`,
# `X-Amz-Security-Token` and `X-Goog-Credential` are secret-looking keys of their own (the assignment rule).
_QUERY_SIGNATURE = re.compile(r"(?P<word>sig(?:nature)?+)=(?P<secret>[^\s&#\"'<>]++)")
_QUERY_SIGNATURE_KEYS = frozenset({"sig", "signature"})
_QUERY_SEPARATORS = frozenset("?&;")  # ";": a query written into HTML or Slack text as "&amp;"
# The end of a command after its last word: closing quotes, then the end of the line or of the text, a
# shell separator or an escaped line break (`"AUTH pw\r\n"` in a script).
_COMMAND_END = re.compile(r"[\"']*+[ \t]*+(?:[\r\n;&|`)]|\\[rn]|\Z)")
# Redis: `requirepass pw` and `masterauth pw` in redis.conf, `CONFIG SET requirepass "pw"` (and as MONITOR
# prints it, `"config" "set" "requirepass" "pw"`), a Sentinel's `sentinel auth-pass mymaster pw`. The
# password is the last word of its line or command, so prose ("requirepass is not set") stays. The patterns
# start at "pass" and "auth" (a literal is found fast) and look behind for the rest of the word.
_REDIS_VALUE = rf"[\"']?+[ \t]++(?P<value>{_QUOTED}|[^\s\"';&|`)]++)"
_REDIS_PASSWORD = re.compile(
    rf"pass(?:(?<=requirepass)|(?<=auth-pass)[\"']?+[ \t]++(?:{_QUOTED}|[^\s\"']++)){_REDIS_VALUE}"
)
_REDIS_MASTERAUTH = re.compile(rf"auth(?<=masterauth){_REDIS_VALUE}")
_REDIS_KEYS = frozenset({"requirepass", "masterauth", "auth-pass"})
# The AUTH command: Redis's `AUTH [username] password` as MONITOR prints it (`"AUTH" "pw"`, `"HELLO" "3"
# "AUTH" "default" "pw" …`) and as typed (`AUTH pw`, `127.0.0.1:6379> auth pw`), and SMTP's `AUTH PLAIN
# <base64>`. Its one or two arguments are matched here; the callback picks the password among them. The
# look-behind skips the word in "OAuth token" and "X-Auth value" without calling the callback.
_AUTH_ARGUMENT = r"(?:\"(?:[^\"\\\n]|\\.)*+\"|'[^'\n]*+'|[^\s\"'\\]++)"
_AUTH_COMMAND = re.compile(
    rf"auth(?<![\w\-]auth)(?P<two>2)?+(?P<close>[\"']?+)(?P<args>(?:[ \t]++{_AUTH_ARGUMENT}){{1,2}}+)"
)
_AUTH_ARGUMENTS = re.compile(rf"[ \t]++(?P<arg>{_AUTH_ARGUMENT})")
# SASL mechanisms, which SMTP's AUTH names before its credential (`AUTH LOGIN` alone carries none).
_SASL_MECHANISMS = frozenset(
    {
        "plain",
        "login",
        "cram-md5",
        "digest-md5",
        "xoauth2",
        "oauthbearer",
        "scram-sha-1",
        "scram-sha-256",
        "gssapi",
        "ntlm",
        "external",
        "anonymous",
    }
)
# Words after which MIGRATE and HELLO go on once AUTH has its arguments (`… "AUTH" "pw" "KEYS" "k1"`).
_AFTER_AUTH = frozenset({"keys", "setname"})
# "the password is hunter2", "the default passphrase was 'a b c'": the value as a sentence gives it.
_PASSWORD_IS = re.compile(
    rf"(?P<keep>(?P<word>pass(?:word|phrase|wd))[ \t]++(?:is|was)[ \t]++)(?P<value>{_QUOTED}|[^\s\"'`]++)"
)
_SENTENCE_END = ".,;:!?)"


@dataclass(frozen=True, slots=True)
class _TokenShape:
    """A token its issuer marks with a prefix: `xoxb-…`, `ghp_…`, `AKIA…`. Matched in the original text, in
    the case the issuer writes it ("Asia/Tokyo" is a time zone, `ASIA…` an AWS key id).

    `prefix`: a pattern for the prefix, which stays readable (`ghp_•••`); `body`: a pattern for the rest,
    with its length. `triggers`: lower-case words one of which every such token holds (the quick check
    before the pattern runs; a short one shared by several prefixes, `gl` for GitLab's ten, costs one look
    instead of ten). `random`: the body must also look random (a digit or both cases, at least ten
    different characters), for prefixes that start ordinary words too (`sk-spinner-fading-circle-animation`).
    """

    prefix: str
    body: str
    triggers: tuple[str, ...]
    random: bool = False


_TOKEN_SHAPES = (
    # Slack: bot, user, workspace, refresh and configuration tokens; app-level tokens
    _TokenShape(r"xox[a-z](?:\.xox[a-z])?-|xapp-", r"[A-Za-z0-9\-]{8,}+", ("xox", "xapp-")),
    # GitHub: personal, OAuth, user-to-server, server-to-server, refresh; fine-grained personal tokens
    _TokenShape(
        r"gh[pousr]_|github_pat_",
        r"[A-Za-z0-9_\-]{16,}+",
        ("gh", "github_pat_"),
    ),
    # GitLab: personal, deploy, runner, pipeline trigger, feed, CI build, OAuth, incoming mail, agent tokens
    _TokenShape(
        r"gl(?:pat|dt|rt|ptt|ft|cbt|oas|soat|imt|agent)-",
        r"[A-Za-z0-9_\-]{16,}+",
        ("gl",),
    ),
    _TokenShape(r"gl(?:sa|c)_", r"[A-Za-z0-9_\-=]{32,}+", ("gl",)),  # Grafana
    _TokenShape(r"npm_", r"[A-Za-z0-9]{30,}+", ("npm_",), random=True),  # npm: npm_config_cache is no token
    _TokenShape(r"hf_", r"[A-Za-z0-9]{30,}+", ("hf_",), random=True),  # Hugging Face
    _TokenShape(r"pypi-AgE", r"[A-Za-z0-9_\-]{50,}+", ("pypi-age",)),  # PyPI (a macaroon)
    _TokenShape(r"dckr_(?:pat|oat)_", r"[A-Za-z0-9_\-]{20,}+", ("dckr_",)),  # Docker Hub
    # OpenAI (sk-, sk-proj-, sk-svcacct-, sk-admin-), Anthropic (sk-ant-api03-…), OpenRouter (sk-or-v1-)
    _TokenShape(
        r"sk-(?:proj-|svcacct-|admin-|ant-[a-z]{3,5}\d\d-|or-v1-)?",
        r"[A-Za-z0-9_\-]{20,}+",
        ("sk-",),
        random=True,
    ),
    # Stripe: secret and restricted keys, webhook signing secrets (pk_ keys are public)
    _TokenShape(r"[rs]k_(?:live|test)_|whsec_", r"[A-Za-z0-9]{8,}+", ("k_live_", "k_test_", "whsec_")),
    _TokenShape(r"AKIA|ASIA", r"[A-Z0-9]{16}(?![A-Za-z0-9])", ("akia", "asia")),  # AWS access key ids
    _TokenShape(r"AIza", r"[A-Za-z0-9_\-]{35}", ("aiza",)),  # Google API keys
    _TokenShape(r"GOCSPX-", r"[A-Za-z0-9_\-]{20,}+", ("gocspx-",)),  # Google OAuth client secrets
    _TokenShape(r"ya29\.", r"[A-Za-z0-9_\-]{20,}+", ("ya29.",)),  # Google OAuth access tokens
    _TokenShape(r"do[opr]_v1_", r"[a-f0-9]{64}", ("_v1_",)),  # DigitalOcean
    _TokenShape(r"shp(?:at|ca|pa|ss)_", r"[a-fA-F0-9]{32}", ("shp",)),  # Shopify
    _TokenShape(r"hv[sbr]\.", r"[A-Za-z0-9_\-]{24,}+", ("hv",), random=True),  # Vault
    _TokenShape(r"SG\.", r"[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])", ("sg.",)),  # SendGrid
    _TokenShape(r"AGE-SECRET-KEY-1", r"[A-Z0-9]{50,}+", ("age-secret-key-1",)),  # age identities
)
# ---- passwords on a program's command line: `mysql -uroot -pSECRET`, `curl -u admin:pw` --------------------
#
# `-pSECRET` cannot be judged by its shape: `docker run -p8080:80`, `ps -p 1`, `mkdir -p dir`, `mysql -P3306`
# are no secrets; nor can `-u name:word`: `docker run -u app:app` names a user and a group, `curl -u app:pw`
# a user and a password. So they are judged by the program: only after the name of a program listed in
# `_PROGRAMS`, within the same shell command, are its password flags' values masked.


@dataclass(frozen=True, slots=True)
class _PasswordFlag:
    """How a program takes a password on its command line.

    `letter`: the short flag whose *glued* value is the password, case-sensitive (mysql's `-p` is the
    password, `-P` the port). Only the glued form counts: for mysql a lone `-p` prompts and the next word is
    the database. `long_option`: a long option whose abbreviations (at least "pass": `--pass=`, `--passwo=`)
    also carry the password after "=" (the full `--password=…` is masked by the assignment rule anyway).
    `password`: flags whose value is the password in any form: glued (`-apw`), after "=" (`--pass=pw`) or
    the next word (`-a pw`, `--pass pw`). `user`: flags whose value is `name:password` (curl's
    `-u admin:pw`, `-E cert.pem:pw`); the name stays. A short one also counts as the last letter of a
    cluster (`curl -su admin:pw`). `separator`: what ends the name in a `user` value (smbclient's
    `-U bob%pw`).

    Programs whose options are words after one dash (openssl's `-passin`) list them whole: `whole`, whose
    next word is the password (`-k pw`), and `pass_args`, whose next word is a pass phrase argument of which
    only the `pass:` form holds one (`-passin pass:pw`; `env:VAR` and `file:path` stay).

    Passwords that are no option's value: `batch`, a letter that, in a cluster of short flags, makes the last
    operand the password (`htpasswd -b file user pw`, `htpasswd -nb user pw`); `token`, the shape of an
    operand that is a token (`vault login s.…`).
    """

    letter: str | None = None
    long_option: str | None = None
    password: frozenset[str] = frozenset()
    user: frozenset[str] = frozenset()
    separator: str = ":"
    whole: frozenset[str] = frozenset()
    pass_args: frozenset[str] = frozenset()
    batch: str | None = None
    token: re.Pattern[str] | None = None


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
_MONGO_CLIENTS = (  # the mongo shells and database tools: -p pw, --password pw
    "mongo",
    "mongosh",
    "mongodump",
    "mongorestore",
    "mongoexport",
    "mongoimport",
    "mongostat",
    "mongotop",
    "mongofiles",
)
_LDAP_CLIENTS = (  # OpenLDAP's clients: -w pw, the bind password
    "ldapsearch",
    "ldapadd",
    "ldapmodify",
    "ldapdelete",
    "ldapmodrdn",
    "ldapcompare",
    "ldapwhoami",
    "ldapexop",
)
_MOSQUITTO_CLIENTS = ("mosquitto_pub", "mosquitto_sub", "mosquitto_rr")  # -P pw, --pw pw (-p is the port)
_SAMBA_CLIENTS = ("smbclient", "smbcacls", "smbcquotas", "smbget", "smbtree", "rpcclient")  # -U user%pw
_REGISTRY_LOGINS = ("docker login", "podman login", "nerdctl login", "buildah login", "skopeo login")
_ARCHIVERS = ("7z", "7za", "7zr", "7zz", "rar", "unrar")  # -p{password}
_PROGRAMS: dict[str, _PasswordFlag] = {
    **dict.fromkeys(_MYSQL_CLIENTS, _PasswordFlag("p", "password")),
    **dict.fromkeys(_ARCHIVERS, _PasswordFlag("p")),
    **dict.fromkeys(_MONGO_CLIENTS, _PasswordFlag(password=frozenset({"-p", "--password"}))),
    **dict.fromkeys(_REGISTRY_LOGINS, _PasswordFlag(password=frozenset({"-p", "--password"}))),
    # redis-cli -a pw / --pass pw (the URI form, -u redis://user:pw@host, is a URL with a password)
    **dict.fromkeys(("redis-cli", "keydb-cli"), _PasswordFlag(password=frozenset({"-a", "--pass"}))),
    "sshpass": _PasswordFlag(password=frozenset({"-p"})),  # sshpass -pSECRET ssh host, sshpass -p SECRET …
    "curl": _PasswordFlag(
        password=frozenset({"--pass", "--proxy-pass", "--oauth2-bearer"}),
        user=frozenset({"-u", "--user", "-U", "--proxy-user", "-E", "--cert", "--proxy-cert"}),
    ),
    **dict.fromkeys(_LDAP_CLIENTS, _PasswordFlag(password=frozenset({"-w"}))),
    "ldappasswd": _PasswordFlag(password=frozenset({"-w", "-a", "-s"})),  # bind, old and new passwords
    **dict.fromkeys(_MOSQUITTO_CLIENTS, _PasswordFlag(password=frozenset({"-P", "--pw"}))),
    **dict.fromkeys(_SAMBA_CLIENTS, _PasswordFlag(user=frozenset({"-U", "--user"}), separator="%")),
    # openssl enc -k pw, -K hexkey; -pass/-passin/-passout/-password pass:pw
    "openssl": _PasswordFlag(
        whole=frozenset({"-k", "-K"}), pass_args=frozenset({"-pass", "-passin", "-passout", "-password"})
    ),
    "htpasswd": _PasswordFlag(batch="b"),
    # vault login TOKEN: an old service, batch or recovery token (an `hvs.…` one has a shape of its own)
    "vault login": _PasswordFlag(token=re.compile(r"[sbr]\.[A-Za-z0-9]{24,}+")),
}
# The programs in families that share their first letters: one pattern per family, which starts with that
# literal (the regex engine finds a literal fast; an alternation of names it would try at every letter).
_PROGRAM_FAMILIES = (
    "mysql",
    "mariadb",
    "mariabackup",
    "mongo",
    *_REGISTRY_LOGINS,
    "redis-cli",
    "keydb-cli",
    "curl",
    "sshpass",
    "7z",
    "rar",
    "unrar",
    "ldap",
    "mosquitto_",
    "smb",
    "rpcclient",
    "openssl",
    "htpasswd",
    "vault login",
)
_FAMILY_TRIGGERS = {  # a shorter trigger shared by several families
    **dict.fromkeys((*_REGISTRY_LOGINS, "vault login"), " login"),
    "mariadb": "maria",
    "mariabackup": "maria",
    "unrar": "rar",
}
# A program name is a whole word (`/usr/bin/mysql` counts, `xmysql` and `mysql.cnf` do not) followed by a
# blank. Its arguments run to the end of the line or to a shell separator (`;`, `&`, `|`, a backtick or a
# parenthesis) outside quotes; a word that starts like a flag (`-pa;b`, from an exec-form command), and the
# word after it (`-a p;w`), run to the next blank, separators included, so that no part of a value is left
# out.
_FLAG_WORD = rf"--?[a-z](?:{_QUOTED})?+[^\s]*+(?:[ \t]++(?=[^\s\-])(?:{_QUOTED})?+[^\s]*+)?"
_PLAIN_WORD = rf"(?:{_QUOTED}|[^\s;&|`()'\"])++"


def _program_pattern(family: str) -> re.Pattern[str]:
    """The pattern of a family's program names and their arguments: `mysql(?:admin|dump|…)? args`, and
    `ldap(?:search|add|…) args` for a family that is no program itself."""
    tails = sorted(
        (name[len(family) :] for name in _PROGRAMS if name.startswith(family)), key=len, reverse=True
    )
    name = re.escape(family) + rf"(?<![\w.\-]{re.escape(family)})"  # not the tail of a longer word
    if any(tails):
        name += "(?:" + "|".join(re.escape(tail) for tail in tails if tail) + ")"
        name += "?" if family in _PROGRAMS else ""
    return re.compile(rf"(?P<program>{name})(?=[ \t])(?P<args>(?:[ \t]++(?:{_FLAG_WORD}|{_PLAIN_WORD}))*+)")


# In the original text of the arguments: an option (`-p`, `--name`) with its glued value (`-pVALUE`), its
# value after "=" (`--name=VALUE`) and the next word when that is no option (`-a VALUE`). A value is one
# quoted string (then only quotes may follow it before a blank: `sh -c 'mysql -p"pw"'`) or everything up to
# the next blank, of which the callback drops what closes the word in a shell: quotes (the end of a
# `sh -c '…'` around the command) and separators (`mysql -pX; ls`); a separator inside the word (`-pa;b`) is
# part of the value.
_WORD_TRAILERS = "'\";&|)`"
_OPTION_VALUE = rf"(?:{_QUOTED})(?=['\"]*+(?:\s|$))|[^\s]++"
_OPTION = re.compile(
    r"(?<![^ \t'\"])"
    rf"(?:-(?P<short>[A-Za-z])(?P<glued>{_OPTION_VALUE})?"
    rf"|--(?P<long>[A-Za-z][\w\-]*+)(?:=(?P<assigned>{_OPTION_VALUE}))?)"
    rf"(?:[ \t]++(?=[^\s\-])(?P<next>{_OPTION_VALUE}))?"
)


def _abbreviates_password(name: str, option: _PasswordFlag) -> bool:
    """Whether `--name` is the long password option of the program or its abbreviation (4 letters or more)."""
    name = name.lower()
    return option.long_option is not None and len(name) >= 4 and option.long_option.startswith(name)


def _option_value(match: re.Match[str], option: _PasswordFlag) -> tuple[str, str] | None:
    """Which group of an `_OPTION` match holds a password, and its kind ("password", "user" or
    "pass_arg"), if any."""
    short, long = match.group("short"), match.group("long")
    if short is not None and (option.whole or option.pass_args):  # options spelled whole: openssl -passin
        word = f"-{short}{match.group('glued') or ''}"
        kind = "password" if word in option.whole else "pass_arg" if word in option.pass_args else None
        return ("next", kind) if kind and match.group("next") else None
    if short is not None:
        flag, glued, after = f"-{short}", match.group("glued"), match.group("next")
        if glued and short == option.letter:
            return "glued", "password"
        for kind, flags in (("password", option.password), ("user", option.user)):
            if flag in flags:
                return ("glued", kind) if glued else ("next", kind) if after else None
        if glued and after and glued.isalpha():  # a cluster of short flags: `-su admin:pw`
            last = f"-{glued[-1]}"
            if last in option.password or last in option.user:
                return "next", "password" if last in option.password else "user"
        return None
    flag, assigned = f"--{long}", match.group("assigned")
    if assigned and _abbreviates_password(long, option):
        return "assigned", "password"
    for kind, flags in (("password", option.password), ("user", option.user)):
        if flag in flags:
            return ("assigned", kind) if assigned else ("next", kind) if match.group("next") else None
    return None


def _masked_value(value: str, kind: str, separator: str = ":") -> tuple[str, int] | None:
    """The masked form of an option's value and how many of its characters it replaces; None to keep it.

    A quoted value keeps its quotes; an unquoted one loses only what a shell would not take as part of it
    (closing quotes and separators at its end). A `user` value keeps its name: `admin:•••` (`separator`
    ends the name); a `pass_arg` value its `pass:` (other forms name where the password is: they stay).
    """
    quote = value[0] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else ""
    inner = value[1:-1] if quote else value.rstrip(_WORD_TRAILERS)
    if kind in ("user", "pass_arg"):
        name, colon, password = inner.partition(separator if kind == "user" else ":")
        if not colon or not password or _is_placeholder(password) or (kind == "pass_arg" and name != "pass"):
            return None
        masked = f"{name}{colon}{MASK}"
    else:
        if not inner or _is_placeholder(inner):
            return None
        masked = MASK
    return f"{quote}{masked}{quote}", len(value) if quote else len(inner)


# A word of a program's arguments: one quoted string (see `_OPTION_VALUE`) or everything up to the next blank.
_ARGUMENT = re.compile(rf"(?<![^ \t])(?:{_OPTION_VALUE})")
_SHORT_CLUSTER = re.compile(r"-[A-Za-z]++")


def _operand_password(args: str, option: _PasswordFlag) -> re.Match[str] | None:
    """The operand (an argument that is no option) that holds a password: the last one after a `batch`
    flag (`htpasswd -b file user pw`: three operands, two with `-n`), or the first of a `token`'s shape.

    One pass that keeps only what it needs (a long line of arguments holds no list of them)."""
    last: re.Match[str] | None = None
    operands = 0
    batch = display = False
    for word in _ARGUMENT.finditer(args):
        text = word.group()
        if text.startswith("-"):
            if option.batch is not None and _SHORT_CLUSTER.fullmatch(text):
                batch = batch or option.batch in text
                display = display or "n" in text
            continue
        if option.token is not None:
            if option.token.fullmatch(_quoted_inner(text)[1].rstrip(_WORD_TRAILERS)):
                return word
            continue
        last, operands = word, operands + 1
    if not batch or operands < (2 if display else 3):
        return None
    return last


def _mask_program_flags(found: _Found) -> str:
    """Mask the values of a listed program's password flags, and its operand that is a password.

    Only the first of each short password flag counts: a program's own options come before the command it
    runs (`sshpass -pSECRET ssh -p2222 host`). A value that is a placeholder (`-p$MYSQL_ROOT_PASSWORD`)
    stays.
    """
    option = _PROGRAMS[found.group("program").lower()]
    args = found.group("args")
    edits: list[tuple[int, int, str]] = []  # (start, length, replacement) in `args`
    short_seen: set[str] = set()
    for match in _OPTION.finditer(args):
        which = _option_value(match, option)
        if which is None:
            continue
        group, kind = which
        short = match.group("short")
        if kind == "password" and short is not None and not option.whole:
            if short in short_seen:
                continue
            short_seen.add(short)
        masked = _masked_value(match.group(group), kind, option.separator)
        if masked is not None:
            edits.append((match.start(group), masked[1], masked[0]))
    if option.batch is not None or option.token is not None:
        operand = _operand_password(args, option)
        masked = None if operand is None else _masked_value(operand.group(), "password")
        if operand is not None and masked is not None:
            edits.append((operand.start(), masked[1], masked[0]))
    if not edits:
        return found.group()
    parts: list[str] = []
    done = 0
    for start, length, replacement in sorted(edits):
        if start >= done:
            parts.append(args[done:start] + replacement)
            done = start + length
    return found.group("program") + "".join(parts) + args[done:]


_KEY_QUALIFIER = re.compile(r"(?:api|access|secret|private|signing|encryption|master|auth|session)[ _\-]?$")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_FLAG_CHARS = _WORD_CHARS | {"-"}
_KEY_CHARS = _WORD_CHARS | {".", "-"}
_NAME_CHARS = _KEY_CHARS | {"/"}


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
    return found.group("prefix") + MASK


def _mask_random_token(found: _Found) -> str:
    """`_mask_prefixed_token` for a body that looks random (a digit or both cases, ten distinct characters)
    and a prefix that starts a word of its own, not the tail of a name (`backup-sk-7f9c8d6b5a-x2k4j`)."""
    if found.follows(_NAME_CHARS):
        return found.group()
    body = found.group("secret")
    varied = any(c.isdigit() for c in body) or (
        any(c.isupper() for c in body) and any(c.islower() for c in body)
    )
    if not varied or len(set(body)) < 10:
        return found.group()
    return _mask_prefixed_token(found)


def _keep_and_mask(found: _Found) -> str:
    return found.group("keep") + MASK


def _mask_url_credentials(found: _Found) -> str:
    """`://user:password@host` → `://user:•••@host`; an authority without a password stays."""
    userinfo, at, host = found.group("authority").rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon or not password or password == MASK:
        return found.group()
    return f"://{user}:{MASK}@{host}"


def _mask_cookies(found: _Found) -> str:
    """`Cookie: a=1; b=2` → `Cookie: a=•••; b=•••`; Set-Cookie attributes (`Path=/`) and text without "="
    stay."""
    if found.follows(_WORD_CHARS):
        return found.group()
    pieces = []
    for piece in found.group("cookies").split(";"):
        name, equals, value = piece.partition("=")
        word = name.strip()  # a cookie's name is one token: "not set, cookies=3" holds none
        is_cookie = (
            equals
            and value.strip()
            and _COOKIE_NAME.fullmatch(word)
            and word.lower() not in _COOKIE_ATTRIBUTES
        )
        pieces.append(f"{name}={MASK}" if is_cookie and MASK not in value else piece)
    return found.group("keep") + ";".join(pieces)


def _mask_token_word(found: _Found) -> str:
    """Mask a match that must start a word (a JWT, "Authorization:"); keep the "keep" group if any."""
    if found.follows(_WORD_CHARS):
        return found.group()
    return (found.group("keep") if "keep" in found.match.re.groupindex else "") + MASK


def _mask_bearer(found: _Found) -> str:
    if found.follows(_WORD_CHARS) or not any(c.isdigit() for c in found.group("secret")):
        return found.group()
    return found.group("keep") + MASK


def _scheme_kind(kind: str | None, key: str) -> str | None:
    """The kind of a key whose value is an authentication scheme and its credential: "auth" for the key of
    an authentication header or setting (`X-Auth`, `X-Custom-Auth-Header`), else its kind as `_key_kind`
    judged it."""
    if kind != "password" and _is_auth_key(key):
        return "auth"
    return kind


def _scheme_kept(found: _Found, kind: str, colon_only: bool) -> str | None:
    """For a value that is an authentication scheme and its credential (`Basic YWRt…`): the scheme and the
    blank after it, which stay (all of the value is masked after a password key); None to keep the value.

    After an authentication key (`X-Auth: Basic dXNlcjpwYXNz`, kind "auth") the credential is masked
    whatever it looks like, unless it is a placeholder or, after a ":", a word of prose ("auth: bearer token
    required"). After another secret key and a ":" only (`token: bearer …`), or after `Token` and `Bot`
    and a ":" (`auth: token refreshed`), it must read like a credential: prose such as "token: bearer
    expired" stays.
    """
    credential = found.group("credential")
    if _is_placeholder(credential):
        return None
    if kind == "auth" and colon_only:
        if credential.lower() in _PROSE_AFTER_SCHEME:
            return None
        if found.group("scheme").lower() in _WORDLIKE_SCHEMES and not _looks_like_credential(credential):
            return None
    if kind == "secret" and colon_only and not _looks_like_credential(credential):
        return None
    if kind == "password":
        return ""
    return found.text[found.match.start("value") : found.match.start("credential")]


def _mask_assignment(found: _Found) -> str:
    match = found.match
    key = found.text[found.key_start() : match.start("sep")]
    sep = found.group("sep")
    value = found.group("value")
    whole = found.group()
    kind = _key_kind(key)
    if match.start("scheme") >= 0:
        kind = _scheme_kind(kind, key)
    if kind is None:
        return whole
    head = found.text[match.start() : match.start("sep")] + sep
    if match.start("scheme") >= 0:
        scheme = _scheme_kept(found, kind, "=" not in sep)
        return whole if scheme is None else f"{head}{scheme}{MASK}"
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
    return f"{head}{quote}{MASK}{quote}"


def _mask_flag(found: _Found) -> str:
    if found.follows(_FLAG_CHARS):
        return found.group()
    key = "-" + found.group("key")
    kind = _key_kind(key.lstrip("-"))
    if found.match.start("scheme") >= 0:
        kind = _scheme_kind(kind, key.lstrip("-"))
    if kind is None:
        return found.group()
    head = f"{key}{found.group('sep')}"
    if found.match.start("scheme") >= 0:
        scheme = _scheme_kept(found, kind, colon_only=False)
        return found.group() if scheme is None else f"{head}{scheme}{MASK}"
    value = found.group("value")
    quote = value[0] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else ""
    inner = value[1:-1] if quote else value
    if _is_placeholder(inner) or (kind == "secret" and not _looks_like_credential(inner)):
        return found.group()
    return f"{head}{quote}{MASK}{quote}"


def _mask_sql_password(found: _Found) -> str:
    if found.follows(_WORD_CHARS) or _is_placeholder(found.group("secret")):
        return found.group()
    return found.group("keep") + MASK


def _mask_keyword_blob(found: _Found) -> str:
    """Mask a random blob after a key-ish word. A word at the end of a longer key (`client_secret 3f9a…`)
    counts when the whole key reads as a secret; a bare "key" only after a qualifier ("API key")."""
    if not _looks_random(found.group("secret")):
        return found.group()
    if found.follows(_WORD_CHARS):
        if _key_kind(found.text[found.key_start() : found.match.end("word")]) is None:
            return found.group()
    elif found.group("word").lower() == "key":
        before = found.text[max(0, found.match.start() - 12) : found.match.start()].lower()
        if not _KEY_QUALIFIER.search(before):
            return found.group()
    return found.group("keep") + MASK


def _mask_query_signature(found: _Found) -> str:
    """`?X-Amz-Signature=…`, `&sig=…`: a signature parameter of a query (after "?" or "&") loses its value."""
    start = found.key_start()
    words = _key_words(found.text[start : found.match.end("word")])
    if not (start > 0 and found.text[start - 1] in _QUERY_SEPARATORS):
        return found.group()
    if not words or words[-1] not in _QUERY_SIGNATURE_KEYS or _is_placeholder(found.group("secret")):
        return found.group()
    return found.text[found.match.start() : found.match.start("secret")] + MASK


def _quoted_inner(value: str) -> tuple[str, str]:
    """A value's quote (`'`, `"` or "") and what it holds."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[0], value[1:-1]
    return "", value


def _ends_command(text: str, end: int) -> bool:
    """Whether the command that holds `text[:end]` ends at `end` (see `_COMMAND_END`)."""
    return _COMMAND_END.match(text, end) is not None


def _mask_redis_password(found: _Found) -> str:
    """`requirepass pw`, `CONFIG SET requirepass "pw"`, `sentinel auth-pass mymaster pw`: the last word."""
    match, text = found.match, found.text
    key = text[found.key_start() : match.start() + 4].lower()  # the match starts at "pass" or "auth"
    quote, inner = _quoted_inner(found.group("value"))
    if key not in _REDIS_KEYS or _is_placeholder(inner) or not _ends_command(text, match.end()):
        return found.group()
    return f"{text[match.start() : match.start('value')]}{quote}{MASK}{quote}"


def _auth_password(values: list[str], two: bool) -> int | None:
    """Which of AUTH's arguments is the password: the last of `AUTH user pw` or `AUTH2 user pw`, the one of
    `AUTH pw`, the first when MIGRATE goes on (`AUTH pw KEYS …`), SMTP's initial response after a SASL
    mechanism (`AUTH PLAIN <base64>`); None when there is none (`AUTH LOGIN`, "AUTH failed")."""
    lowered = [value.lower() for value in values]
    if two:
        return 1 if len(values) == 2 else None
    if len(values) == 1:
        word = lowered[0]
        if word in _SASL_MECHANISMS or word in _PROSE_AFTER_SCHEME or _is_placeholder(values[0]):
            return None
        return 0
    if lowered[0] in _SASL_MECHANISMS:
        return None if lowered[1] in _SASL_MECHANISMS else 1
    return 0 if lowered[1] in _AFTER_AUTH else 1


def _mask_auth_command(found: _Found) -> str:
    """Mask the password of an AUTH command: quoted as MONITOR prints it (`"AUTH" "default" "pw"`), or typed
    at the start of a command (`AUTH pw` in upper case, any case after a `> ` prompt) when it ends there."""
    match, text = found.match, found.text
    start = match.start()
    before = text[start - 1] if start > 0 else ""
    close = found.group("close")
    if close and before != close:
        return found.group()
    if not close:
        typed = text[start : match.start("close")].isupper() and before in ("", " ", "\t", "\n", '"', "'")
        if not (typed or text.endswith("> ", 0, start)) or not _ends_command(text, match.end()):
            return found.group()
    arguments = list(_AUTH_ARGUMENTS.finditer(text, match.start("args"), match.end("args")))
    if close and any(argument.group("arg")[0] != close for argument in arguments):
        return found.group()  # "AUTH" "pw": every argument quoted the same way
    values = [_quoted_inner(argument.group("arg"))[1] for argument in arguments]
    index = _auth_password(values, bool(found.group("two")))
    if index is None or _is_placeholder(values[index]):
        return found.group()
    argument = arguments[index]
    quote, _ = _quoted_inner(argument.group("arg"))
    return (
        text[start : argument.start("arg")]
        + f"{quote}{MASK}{quote}"
        + text[argument.end("arg") : match.end()]
    )


def _mask_password_is(found: _Found) -> str:
    """ "the password is hunter2" → "the password is •••": a quoted value, or one word that reads like a
    credential ("the password is incorrect." stays); a sentence's punctuation after it stays."""
    key = found.text[found.key_start() : found.match.end("word")]  # `db_password is …`: the whole key
    if _key_kind(key) != "password":
        return found.group()
    quote, inner = _quoted_inner(found.group("value"))
    tail = ""
    if not quote:
        core = inner.rstrip(_SENTENCE_END)
        inner, tail = core, inner[len(core) :]
        if not _looks_like_credential(inner):
            return found.group()
    if _is_placeholder(inner):
        return found.group()
    return f"{found.group('keep')}{quote}{MASK}{quote}{tail}"


# Each rule runs only on text holding one of its trigger words (lower case): most log lines hold none. A word
# that holds another (`password` holds `pass`) is looked up as the shorter one: every look-up scans the text.
_SECRET_KEY_TRIGGERS = ("pass", "pwd", "secret", "token", "key", "auth", "credential")
_BLOB_WORDS = ("key", "secret", "token", "pass", "signature", "hmac", "credential")


@dataclass(frozen=True, slots=True)
class _Rule:
    """A pattern, its replacement, and the words it cannot match without (lower case, looked up in the
    lower-cased text). The pattern runs on the lower-cased copy of the text, or on the original text when
    `on_original` (the token shapes, whose prefixes have a case)."""

    pattern: re.Pattern[str]
    replace: Callable[[_Found], str]
    triggers: tuple[str, ...]
    on_original: bool = False


def _token_rule(shape: _TokenShape) -> _Rule:
    pattern = re.compile(f"(?P<prefix>{shape.prefix})(?P<secret>{shape.body})")
    replace = _mask_random_token if shape.random else _mask_prefixed_token
    return _Rule(pattern, replace, shape.triggers, on_original=True)


_RULES = (
    _Rule(_AUTHORIZATION, _mask_token_word, ("auth",)),
    _Rule(_URL_AUTHORITY, _mask_url_credentials, ("://",)),
    _Rule(_COOKIE, _mask_cookies, ("cookie",)),
    _Rule(_ASSIGNMENT, _mask_assignment, _SECRET_KEY_TRIGGERS),
    _Rule(_FLAG, _mask_flag, _SECRET_KEY_TRIGGERS),
    _Rule(_SQL_PASSWORD, _mask_sql_password, ("pass",)),
    _Rule(_SQL_IDENTIFIED_BY, _mask_sql_password, ("identified",)),
    _Rule(_QUERY_SIGNATURE, _mask_query_signature, ("sig=", "signature")),
    _Rule(_REDIS_PASSWORD, _mask_redis_password, ("pass",)),
    _Rule(_REDIS_MASTERAUTH, _mask_redis_password, ("auth",)),
    _Rule(_AUTH_COMMAND, _mask_auth_command, ("auth",)),
    _Rule(_PASSWORD_IS, _mask_password_is, ("pass",)),
    *(
        _Rule(_program_pattern(family), _mask_program_flags, (_FAMILY_TRIGGERS.get(family, family),))
        for family in _PROGRAM_FAMILIES
    ),
    *(_token_rule(shape) for shape in _TOKEN_SHAPES),
    _Rule(_SLACK_WEBHOOK, _keep_and_mask, ("hooks.slack.com",)),
    _Rule(_JWT, _mask_token_word, ("eyj",)),
    _Rule(_BEARER, _mask_bearer, ("bearer",)),
    _Rule(_KEYWORD_BLOB, _mask_keyword_blob, _BLOB_WORDS),
)
_ALL_TRIGGERS = tuple(dict.fromkeys(trigger for rule in _RULES for trigger in rule.triggers))
# For each trigger word, the positions in _RULES of the rules it can start.
_RULES_BY_TRIGGER = {
    trigger: tuple(i for i, rule in enumerate(_RULES) if trigger in rule.triggers)
    for trigger in _ALL_TRIGGERS
}


def _lower(text: str) -> str:
    """Lower-case `text` without changing its length (a few letters, like "İ", grow when lower-cased)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _apply(text: str, lowered: str) -> str:
    """Apply every rule whose trigger occurs in the text (`lowered` is `_lower(text)`).

    Masking only ever removes trigger words, so which triggers occur is looked up once, in the input; text
    without any (most log lines) is returned after that one look-up. A rule whose replacements changed
    nothing leaves the text as it was; one that changed something rebuilds the text and its lower-cased copy
    from the pieces (lower-casing a long text again, once it holds a "•", costs more than all the rules).
    """
    present = [trigger for trigger in _ALL_TRIGGERS if trigger in lowered]
    if not present:
        return text
    # The rules to run, in their order: one trigger's list as it is, several merged.
    order: Sequence[int] = _RULES_BY_TRIGGER[present[0]]
    if len(present) > 1:
        order = sorted({i for trigger in present for i in _RULES_BY_TRIGGER[trigger]})
    for i in order:
        rule = _RULES[i]
        haystack = text if rule.on_original else lowered
        parts: list[str] = []
        lowered_parts: list[str] = []
        done = 0
        for match in rule.pattern.finditer(haystack):
            start, end = match.span()
            replacement = rule.replace(_Found(match, text))
            if replacement == text[start:end]:
                continue
            parts += (text[done:start], replacement)
            lowered_parts += (lowered[done:start], _lower(replacement))
            done = end
        if parts:
            text = "".join([*parts, text[done:]])
            lowered = "".join([*lowered_parts, lowered[done:]])
    return text


def mask_secrets(text: str) -> str:
    """Replace what looks like a secret in free text with "•••", keeping keys and token prefixes readable.

    Covers the token shapes of Slack, GitHub, GitLab, npm, Hugging Face, OpenAI, Anthropic, Stripe, Google,
    AWS, Docker Hub and others (`_TOKEN_SHAPES`), JWTs, private key blocks, credentials in URLs
    (`postgres://app:•••@db`), `Authorization:` headers and other authentication values after their scheme
    (`auth=Basic •••`, `X-Custom-Auth-Header: Bearer •••`), cookie values (`Cookie: sid=•••`), secret-looking
    assignments (`password=…`, `"token": "…"`, `--secret …`), signatures in presigned URLs
    (`&X-Amz-Signature=•••`, `&sig=•••`), long random blobs after key-ish words, "the password is •••", the
    passwords of programs known to take them on their command line (`mysql -uroot -p•••`,
    `curl -u admin:•••`, `redis-cli -a •••`, `ldapsearch -w •••`, `openssl … -passin pass:•••`, see
    `_PROGRAMS`), Redis's (`requirepass •••`, `CONFIG SET requirepass "•••"`, MONITOR's `"AUTH" "•••"`)
    and those in the SQL that databases log (`PASSWORD '•••'`, `IDENTIFIED BY '•••'`). Ordinary
    text — container IDs, digests, timestamps, commit URLs, `docker run -u 1000:1000 -p 8080:80`, "password
    reset email sent" — is left alone. Works on one line or many (private key blocks span lines); masking
    masked text changes nothing.
    """
    lowered = _lower(text)
    if "private key" in lowered:
        text = _PRIVATE_KEY.sub(_mask_private_key, text)
        lowered = _lower(text)
    return _apply(text, lowered)


# ---- logs --------------------------------------------------------------------------------------------------


class SecretMaskingFilter(logging.Filter):
    """A handler filter that masks what a log record prints: its message with the arguments merged in
    (`log.info("connecting to %s", url)`), its exception text and its stack text.

    The record is changed in place (its message becomes the masked text, without arguments), so every
    handler after this one sees the masked record too. It never drops a record and never raises: a message
    whose arguments do not fit its format is kept as the format and the arguments side by side, masked.
    """

    _formatter = logging.Formatter()  # formats an exception as the default formatter would

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            try:
                message = record.getMessage()
            except Exception:  # arguments that do not fit the format: keep both rather than lose the record
                message = f"{record.msg!s} {record.args!r}"
            record.msg, record.args = mask_secrets(message), None
            if record.exc_info and not record.exc_text:
                record.exc_text = self._formatter.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = mask_secrets(record.exc_text)
            if record.stack_info:
                record.stack_info = mask_secrets(record.stack_info)
        except Exception:  # never print what could not be masked
            record.msg, record.args = "(a log message that could not be masked)", None
            record.exc_info = record.exc_text = record.stack_info = None
        return True


def mask_log_handlers(logger: logging.Logger | None = None) -> None:
    """Give every handler of `logger` (the root logger by default) a `SecretMaskingFilter`, once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, SecretMaskingFilter) for existing in handler.filters):
            handler.addFilter(SecretMaskingFilter())
