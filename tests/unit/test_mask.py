"""Masking: secrets are hidden with their key kept, ordinary log text is left exactly as it was."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render.mask import MASK, mask_env, mask_secrets


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("DB_PASSWORD=hunter2", "DB_PASSWORD=•••"),
        ("PATH=/usr/bin:/bin", "PATH=•••"),
        ("EMPTY=", "EMPTY=•••"),
        ("URL=https://x/?a=b", "URL=•••"),
        ("NO_VALUE", "NO_VALUE"),
        ("", ""),
    ],
)
def test_mask_env_keeps_the_key_and_hides_every_value(entry: str, expected: str) -> None:
    """Every KEY=value entry keeps its key and loses its value; an entry without "=" is unchanged."""
    assert mask_env(entry) == expected


SECRETS = [
    # assignments, keeping the key
    ("DB_PASSWORD=hunter2 PLAIN=1", "DB_PASSWORD=••• PLAIN=1"),
    ("connecting with password=hunter2 to db", "connecting with password=••• to db"),
    ("passwd: letmein", "passwd: •••"),
    ("secret=abc", "secret=•••"),
    ("token=abc", "token=•••"),
    ("api_key=AbC123xyz", "api_key=•••"),
    ("apikey: 9f8e7d6c5b4a", "apikey: •••"),
    ("X-Api-Key: q1w2e3r4t5", "X-Api-Key: •••"),
    ("clientSecret=Xy9", "clientSecret=•••"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = •••"),
    ('{"password": "s3cr3t", "user": "bob"}', '{"password": "•••", "user": "bob"}'),
    ("{'token': 'abc123def'}", "{'token': '•••'}"),
    ('{\\"password\\":\\"x1\\"}', '{\\"password\\":\\"•••\\"}'),
    ("GET /login?user=bob&password=hunter2&next=/", "GET /login?user=bob&password=•••&next=/"),
    ("Server=db;User Id=sa;Password=P@ss;Database=app", "Server=db;User Id=sa;Password=•••;Database=app"),
    ("mysql --password hunter2 -h db", "mysql --password ••• -h db"),
    ("run --db-password=hunter2", "run --db-password=•••"),
    ("PGPASSWORD=hunter2 psql -h db", "PGPASSWORD=••• psql -h db"),
    # a password glued to a short flag, after a program known to take it that way
    ("mysql -uroot -pSECRET", "mysql -uroot -p•••"),
    ("mysql -h db -P3306 -uroot -ps3cret appdb", "mysql -h db -P3306 -uroot -p••• appdb"),
    ("mysqladmin -uroot -phunter2 ping", "mysqladmin -uroot -p••• ping"),
    (
        "/usr/bin/mysqldump -u root -p'my pw' app > dump.sql",
        "/usr/bin/mysqldump -u root -p'•••' app > dump.sql",
    ),
    ('mariadb-dump -p"a b" app', 'mariadb-dump -p"•••" app'),
    ("sh -c 'mysql -uroot -proot db' && echo ok", "sh -c 'mysql -uroot -p••• db' && echo ok"),
    ("mysql -pX1; ls -pY", "mysql -p•••; ls -pY"),
    ("mysql -pa;b", "mysql -p•••"),
    ("mysql --pass=hunter2 db", "mysql --pass=••• db"),
    ("mysql --password hunter2 -h db", "mysql --password ••• -h db"),
    ("sshpass -pSECRET ssh -p2222 host", "sshpass -p••• ssh -p2222 host"),
    ("7z x -pS3cret backup.7z", "7z x -p••• backup.7z"),
    # headers and bearer tokens
    ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer •••"),
    ("authorization: Basic dXNlcjpwYXNz", "authorization: Basic •••"),
    ('curl -H "Authorization: token ghp_x"', 'curl -H "Authorization: token •••"'),
    ("sent Bearer 0123456789abcdefghij upstream", "sent Bearer ••• upstream"),
    # tokens with a known shape keep their prefix
    ("using xoxb-1234-5678-abcdefgh now", "using xoxb-••• now"),
    ("app token xapp-1-A0B1C2-3456-abcdef", "app token xapp-•••"),
    ("refresh xoxe.xoxp-1-abcdefghijkl", "refresh xoxe.xoxp-•••"),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_•••"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_pat_•••"),
    ("key id AKIAIOSFODNN7EXAMPLE in use", "key id AKIA••• in use"),
    ("stripe sk_live_abcdef1234567890", "stripe sk_live_•••"),
    ("maps AIzaSyA1234567890abcdefghijklmnopqrstuv", "maps AIza•••"),
    # JWTs, URLs, webhooks
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok",
        "jwt ••• ok",
    ),
    ("postgres://app:hunter2@db:5432/app", "postgres://app:•••@db:5432/app"),
    ("redis://:s3cret@cache:6379/0", "redis://:•••@cache:6379/0"),
    (
        "posting to https://hooks.slack.com/services/T000/B000/XXXXXXXX",
        "posting to https://hooks.slack.com/services/•••",
    ),
    # long random blobs after key-ish words
    ("the API key is AbCdEf0123456789xyzXYZ0987", "the API key is •••"),
    ("generated secret 4f3a9c1d2e3b4a5f6e7d8c9b0a1f2e3d", "generated secret •••"),
    ("request signature: 8c1e0a9f2b3d4c5e6f708192a3b4c5d6", "request signature: •••"),
]


@pytest.mark.parametrize(("text", "expected"), SECRETS)
def test_mask_secrets_hides_the_secret_and_keeps_the_key(text: str, expected: str) -> None:
    """Each kind of secret is replaced by "•••" while the key or token prefix around it stays readable."""
    assert mask_secrets(text) == expected


ORDINARY = [
    "password reset email sent to bob@example.com",
    "container 3f9a0c1d2e3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f started",
    "see https://github.com/org/repo/commit/3f9a0c1d2e3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f",
    "2026-11-27T17:42:44.400311484Z GET /healthz 200 3ms",
    "pulled sha256:e164ddf2224c3ca0acdd42d89a03f247ae58a8dba339195ad1e208eb397d9688",
    "invalid token: please log in again",
    "max_tokens=4096 tokens: 12",
    "secret_name=db-creds PASSWORD_FILE=/run/secrets/db token_ttl=3600",
    "docker login --password-stdin < f",
    "auth: ok, author=jane, oauth flow started",
    "cache key 3f9a0c1d2e3b4a5f6e7d8c9b0a1f2e3d",
    "TZ=Asia/Tokyo",
    "password: ***",
    "password=${DB_PASSWORD}",
    "token=<redacted>",
    "tokenizer=bert-base passed=10 failed=0",
    "Enter password:",
    "-----BEGIN CERTIFICATE-----",
    "bearer authentication failed",
    'level=info msg="listening on http://0.0.0.0:8080" pid=1',
    "2026-11-27 17:42:44,123 INFO [main] key=42 value=hello",
    # short flags that carry no password: other programs, mysql's port and prompt, placeholders
    "docker run -p8080:80 -p 3306:3306 mysql:8",
    "ps -p 1",
    "mkdir -p /var/lib/mysql",
    "mysql -h db -P3306 -uroot -p appdb",
    "mysqladmin ping -h localhost -uroot -p$MYSQL_ROOT_PASSWORD",
    'mysql -uroot -p"${MYSQL_ROOT_PASSWORD}"',
    "mysqld --port=3306 -u mysql",
    "xmysql -pabc",
    "mysql.cnf -pabc",
    "mysql --pa=3306",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_mask_secrets_leaves_ordinary_text_alone(text: str) -> None:
    """Container IDs, digests, timestamps, commit URLs and prose about passwords are not masked."""
    assert mask_secrets(text) == text


MYSQL_LIKE = ["mysql", "mysqladmin", "mysqldump", "mariadb", "mariadb-dump", "/usr/local/bin/mysql"]
# No quotes, blanks, "$", "=", "-" or "_": nothing another rule (assignment, token prefix) would mask first.
VALUE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#%^*+,.:/~?"
passwords = st.text(VALUE_ALPHABET, min_size=1, max_size=40).filter(
    lambda pw: not pw.isalpha() and set(pw) != {"*"}  # "no", "true", "***" read as placeholders
)


@given(program=st.sampled_from(MYSQL_LIKE), password=passwords, quoted=st.booleans(), wrapped=st.booleans())
def test_mask_secrets_hides_any_password_glued_to_mysql_dash_p(
    program: str, password: str, quoted: bool, wrapped: bool
) -> None:
    """Whatever the password, `mysql -pPASSWORD` becomes `mysql -p•••` and the rest of the line stays."""
    value, masked = (f'"{password} x"', f'"{MASK}"') if quoted else (password, MASK)
    line = f"{program} -h db -P3306 -uroot -p{value} appdb"
    expected = f"{program} -h db -P3306 -uroot -p{masked} appdb"
    if wrapped:
        line, expected = f"sh -c '{line}'", f"sh -c '{expected}'"
    assert mask_secrets(line) == expected


@given(
    command=st.sampled_from(["docker run", "docker create", "ps", "mkdir", "ssh", "nc -l", "psql -h db"]),
    value=st.from_regex(r"[0-9]{1,5}(?::[0-9]{1,5})?", fullmatch=True),
    separate=st.booleans(),
)
def test_mask_secrets_leaves_dash_p_of_other_programs_alone(command: str, value: str, separate: bool) -> None:
    """`-p` means a port, a pid or "parents" to other programs: their lines are never changed."""
    line = f"{command} -p{' ' if separate else ''}{value} mysql"
    assert mask_secrets(line) == line


def test_mask_secrets_hides_a_private_key_block_across_lines() -> None:
    """A PEM private key keeps its BEGIN/END lines and loses its body; the next line is untouched."""
    text = (
        "loaded key\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234567890abcdef\n"
        "abcdefABCDEF0123456789+/==\n-----END RSA PRIVATE KEY-----\nnext line"
    )
    assert mask_secrets(text) == (
        "loaded key\n-----BEGIN RSA PRIVATE KEY-----\n•••\n-----END RSA PRIVATE KEY-----\nnext line"
    )


def test_mask_secrets_hides_a_truncated_private_key_up_to_the_next_log_line() -> None:
    """Without an END line only the base64 run after BEGIN is masked, not the log lines after it."""
    text = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
        "2026-11-27 started ok"
    )
    assert mask_secrets(text) == "-----BEGIN OPENSSH PRIVATE KEY-----\n•••\n2026-11-27 started ok"


def test_mask_secrets_hides_a_private_key_inside_a_json_string() -> None:
    """A key written on one line with literal "\\n" escapes (JSON, env files) is masked too."""
    text = (
        '{"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC'
        '\\n-----END PRIVATE KEY-----\\n"}'
    )
    masked = mask_secrets(text)
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in masked
    assert "-----BEGIN PRIVATE KEY-----" in masked
    assert "-----END PRIVATE KEY-----" in masked


def test_mask_secrets_handles_non_ascii_text_around_secrets() -> None:
    """Letters that change length when lower-cased ("İ") do not shift the masked span."""
    assert mask_secrets("İstanbul password=x1 ok") == "İstanbul password=••• ok"


def test_mask_secrets_is_idempotent() -> None:
    """Masking masked text changes nothing."""
    for text, _ in SECRETS:
        once = mask_secrets(text)
        assert mask_secrets(once) == once
        assert MASK in once


def _best_of(runs: int, text: str) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        mask_secrets(text)
        best = min(best, time.perf_counter() - start)
    return best


def test_mask_secrets_masks_a_thousand_line_log_in_a_few_milliseconds() -> None:
    """A realistic 1,000-line log (a few secrets among ordinary lines) is masked well under 25 ms."""
    lines = []
    for i in range(1000):
        if i % 100 == 0:
            lines.append(f'2026-11-27T17:42:44Z level=warn msg="retry" password=hunter{i} attempt={i}')
        else:
            lines.append(
                f'2026-11-27T17:42:{i % 60:02d}.400311484Z level=info msg="GET /api/items/{i}" '
                f"status=200 duration=3.{i % 10}ms container=3f9a0c1d2e3b remote=10.0.0.{i % 255}"
            )
    text = "\n".join(lines)
    masked = mask_secrets(text)
    assert masked.count("password=•••") == 10
    assert _best_of(3, text) < 0.025


@pytest.mark.parametrize(
    "text",
    [
        "key" * 33_000,
        "pass" * 25_000,
        "--key" * 20_000,
        "eyj" * 33_000,
        "://:" + "a" * 100_000,
        "token: " * 14_000,
        'password: "' + "a" * 100_000,
        "-----BEGIN RSA PRIVATE KEY-----" * 3_000,
        "authorization: " * 6_000,
        "mysql " * 17_000,
        "mysql" + " -p'" * 25_000,
        "mysql -p" + '\\"' * 50_000,
    ],
    ids=[
        "key",
        "pass",
        "flags",
        "eyj",
        "url",
        "colon",
        "quote",
        "pem",
        "authorization",
        "mysql",
        "mysql-quotes",
        "mysql-escapes",
    ],
)
def test_mask_secrets_stays_linear_on_hostile_input(text: str) -> None:
    """A container cannot stall the bot with a crafted 100 kB line: no pattern backtracks quadratically."""
    assert _best_of(1, text) < 0.5
