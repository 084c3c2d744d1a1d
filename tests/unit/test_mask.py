"""Masking: secrets are hidden with their key kept, ordinary log text is left exactly as it was.

Masking against the clock (big and hostile input) and in the bot's own process is in
tests/component/test_mask_process.py."""

from __future__ import annotations

import base64
import io
import logging
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render.mask import MASK, SecretMaskingFilter, mask_env, mask_log_handlers, mask_secrets


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


# ---- real-world lines --------------------------------------------------------------------------------------
#
# Lines as containers print them and as `ps --no-trunc`, `inspect` and health checks show commands. The tokens
# are made up, in the shapes their issuers give them.
GHP = "ghp_AbCdEf0123456789AbCdEf0123456789AbCd"
NPM = "npm_AbCdEf0123456789AbCdEf0123456789AbCd"
HF = "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"
SK_PROJ = "sk-proj-AbCdEf0123456789_AbCdEf0123456789-AbCdEf01"
SK_ANT = "sk-ant-api03-AbCdEf0123456789AbCdEf0123456789AbCdEf0123456789-AbCdEfAA"
SK_OPENAI = "sk-AbCdEf0123456789AbCdEf0123456789AbCdEf0123456789"
GLPAT = "glpat-AbCdEf0123456789xyzW"
XOXB = "xoxb-1234567890-1234567890123-AbCdEf0123456789AbCdEf01"
XAPP = "xapp-1-A0123456789-1234567890123-abcdef0123456789"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
BASIC = "YWRtaW46cGFzc3dvcmQ="
HEX64 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
ACCESS = '172.18.0.1 - - [27/Nov/2026:17:42:44 +0000] "GET'

REAL_WORLD = [
    # nginx access and error logs
    (
        f'{ACCESS} /login?user=admin&password=hunter2&next=/ HTTP/1.1" 302 0 "-" "curl/8.5.0"',
        f'{ACCESS} /login?user=admin&password=•••&next=/ HTTP/1.1" 302 0 "-" "curl/8.5.0"',
    ),
    (
        f'{ACCESS} /api/items?access_token=ya29.a0AfH6SMBx3f9a0c1d2e3b4a5f6e HTTP/1.1" 200 512',
        f'{ACCESS} /api/items?access_token=••• HTTP/1.1" 200 512',
    ),
    (
        f'{ACCESS} /v1/events?api_key={SK_OPENAI} HTTP/1.1" 401 0',
        f'{ACCESS} /v1/events?api_key=••• HTTP/1.1" 401 0',
    ),
    (
        "2026/11/27 17:42:44 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting "
        'to upstream, client: 172.18.0.1, server: _, upstream: "http://admin:s3cret@10.0.0.5:8080/", host: x',
        "2026/11/27 17:42:44 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting "
        'to upstream, client: 172.18.0.1, server: _, upstream: "http://admin:•••@10.0.0.5:8080/", host: x',
    ),
    (
        f'2026/11/27 17:42:44 [debug] 29#29: *1 http header: "Authorization: Basic {BASIC}"',
        '2026/11/27 17:42:44 [debug] 29#29: *1 http header: "Authorization: Basic •••"',
    ),
    (
        '2026/11/27 17:42:44 [debug] 29#29: *1 http header: "Proxy-Authorization: Digest username="svc", '
        'realm="proxy", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/", '
        'response="6629fae49393a05397450978507c4ef1""',
        '2026/11/27 17:42:44 [debug] 29#29: *1 http header: "Proxy-Authorization: Digest •••"',
    ),
    # postgres
    (
        "2026-11-27 17:42:44.123 UTC [42] LOG:  statement: ALTER ROLE app WITH ENCRYPTED PASSWORD "
        "'md5a3556571e93b0d20722ba62be61e8c2d'",
        "2026-11-27 17:42:44.123 UTC [42] LOG:  statement: ALTER ROLE app WITH ENCRYPTED PASSWORD '•••'",
    ),
    (
        "2026-11-27 17:42:44.123 UTC [42] STATEMENT:  CREATE ROLE app LOGIN PASSWORD 'hunter2'",
        "2026-11-27 17:42:44.123 UTC [42] STATEMENT:  CREATE ROLE app LOGIN PASSWORD '•••'",
    ),
    (
        "2026-11-27 17:42:44.123 UTC [42] LOG:  could not connect to postgresql://replicator:r3pl1c4@primary:5432",
        "2026-11-27 17:42:44.123 UTC [42] LOG:  could not connect to postgresql://replicator:•••@primary:5432",
    ),
    ("PGPASSWORD=hunter2 pg_dump -h db -U app app", "PGPASSWORD=••• pg_dump -h db -U app app"),
    # mysql / mariadb
    ("CREATE USER 'app'@'%' IDENTIFIED BY 'S3cret!'", "CREATE USER 'app'@'%' IDENTIFIED BY '•••'"),
    (
        "ALTER USER 'root'@'localhost' IDENTIFIED WITH mysql_native_password BY 'r00t'",
        "ALTER USER 'root'@'localhost' IDENTIFIED WITH mysql_native_password BY '•••'",
    ),
    ("mysqladmin ping -h localhost -u root -ps3cret", "mysqladmin ping -h localhost -u root -p•••"),
    (
        "jdbc:mysql://db:3306/app?user=app&password=hunter2&useSSL=false",
        "jdbc:mysql://db:3306/app?user=app&password=•••&useSSL=false",
    ),
    # redis
    ("redis-cli -a s3cretpw ping", "redis-cli -a ••• ping"),
    (
        "redis-cli -h 127.0.0.1 -p 6379 -a Sup3rS3cret --no-auth-warning ping",
        "redis-cli -h 127.0.0.1 -p 6379 -a ••• --no-auth-warning ping",
    ),
    ("redis-cli --user app --pass hunter ping", "redis-cli --user app --pass ••• ping"),
    ("/bin/sh -c redis-cli -a 'p w;x' ping || exit 1", "/bin/sh -c redis-cli -a '•••' ping || exit 1"),
    (
        "redis-cli -u redis://default:Sup3rS3cret@127.0.0.1:6379 ping",
        "redis-cli -u redis://default:•••@127.0.0.1:6379 ping",
    ),
    (
        'redis-server /usr/local/etc/redis/redis.conf --requirepass "s3cret pw" --masterauth s3cret',
        'redis-server /usr/local/etc/redis/redis.conf --requirepass "•••" --masterauth •••',
    ),
    ("REDISCLI_AUTH=s3cretpw", "REDISCLI_AUTH=•••"),
    # node, JSON logs
    (
        '{"level":50,"msg":"request failed","err":{"config":{"headers":{"Accept":"application/json",'
        f'"Authorization":"Bearer {JWT}"}}}}}}}}',
        '{"level":50,"msg":"request failed","err":{"config":{"headers":{"Accept":"application/json",'
        '"Authorization":"Bearer •••"}}}}',
    ),
    (
        f"  headers: {{ Accept: 'application/json', Authorization: 'Basic {BASIC}', "
        "'User-Agent': 'axios/1.6.2' },",
        "  headers: { Accept: 'application/json', Authorization: 'Basic •••', 'User-Agent': 'axios/1.6.2' },",
    ),
    (
        f'{{"level":"debug","msg":"upstream","headers":{{"x-auth":"Basic {BASIC}","x-request-id":"42"}}}}',
        '{"level":"debug","msg":"upstream","headers":{"x-auth":"•••","x-request-id":"42"}}',
    ),
    (
        f"npm ERR! 403 Forbidden - PUT https://registry.npmjs.org/pkg - token {NPM} is invalid",
        "npm ERR! 403 Forbidden - PUT https://registry.npmjs.org/pkg - token npm_••• is invalid",
    ),
    (f"//registry.npmjs.org/:_authToken={NPM}", "//registry.npmjs.org/:_authToken=•••"),
    (
        "connecting to mongodb+srv://app:Sup3r%40Secret@cluster0.abcde.mongodb.net/prod?retryWrites=true",
        "connecting to mongodb+srv://app:•••@cluster0.abcde.mongodb.net/prod?retryWrites=true",
    ),
    ("amqp://guest:guest@rabbitmq:5672/%2F", "amqp://guest:•••@rabbitmq:5672/%2F"),
    ("DATABASE_URL=postgres://app:P@ssw0rd@db:5432/app", "DATABASE_URL=postgres://app:•••@db:5432/app"),
    # Go (logfmt), Python, Java
    (
        'time="2026-11-27T17:42:44Z" level=error msg="login failed" user=admin password="hunter 2"',
        'time="2026-11-27T17:42:44Z" level=error msg="login failed" user=admin password="•••"',
    ),
    (
        "level=warn msg=retry user=admin pass=hunter2 attempt=3",
        "level=warn msg=retry user=admin pass=••• attempt=3",
    ),
    (
        f"level=info msg=upstream auth=Basic {BASIC} status=401",
        "level=info msg=upstream auth=Basic ••• status=401",
    ),
    (
        'DEBUG:urllib3.connectionpool:https://elastic:changeme@es:9200 "GET /_cluster/health HTTP/1.1" 200',
        'DEBUG:urllib3.connectionpool:https://elastic:•••@es:9200 "GET /_cluster/health HTTP/1.1" 200',
    ),
    (
        "java -Dspring.datasource.password=hunter2 -jar app.jar",
        "java -Dspring.datasource.password=••• -jar app.jar",
    ),
    (
        "oauth: exchanging code, client_id=web client_secret=GOCSPX-AbCdEf0123456789_xyzABCDEF",
        "oauth: exchanging code, client_id=web client_secret=•••",
    ),
    (f"keycloak: client_secret {HEX64}", "keycloak: client_secret •••"),
    (f"client_secret: {HEX64}", "client_secret: •••"),
    # HTTP headers in debug output
    (f"X-Auth: Basic {BASIC}", "X-Auth: Basic •••"),
    (f"> X-Upstream-Auth: Bearer {GHP}", "> X-Upstream-Auth: Bearer •••"),
    ("X-Auth-Token: 8c1e0a9f2b3d4c5e", "X-Auth-Token: •••"),
    (
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc9",
        "Authorization: AWS4-HMAC-SHA256 •••",
    ),
    (
        f"map[Accept:[*/*] Authorization:[Basic {BASIC}] User-Agent:[Go-http-client/1.1]]",
        "map[Accept:[*/*] Authorization:[Basic •••] User-Agent:[Go-http-client/1.1]]",
    ),
    ('Authorization: Token token="abc123", other="x"', "Authorization: Token •••"),
    (
        "Cookie: sessionid=3f9a0c1d2e3b4a5f; csrftoken=AbCdEf0123; theme=dark",
        "Cookie: sessionid=•••; csrftoken=•••; theme=•••",
    ),
    (
        "< Set-Cookie: connect.sid=s%3AabcDEF123.xyz789; Path=/; Expires=Wed, 03 Dec 2026 06:00:00 GMT",
        "< Set-Cookie: connect.sid=•••; Path=/; Expires=Wed, 03 Dec 2026 06:00:00 GMT",
    ),
    ("Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef", "Ocp-Apim-Subscription-Key: •••"),
    # curl and wget as ps --no-trunc and health checks show them
    (
        "curl -fsS -u admin:s3cret http://localhost:15672/api/healthchecks/node",
        "curl -fsS -u admin:••• http://localhost:15672/api/healthchecks/node",
    ),
    (
        "/bin/sh -c curl -fs --user elastic:changeme http://localhost:9200/_cluster/health || exit 1",
        "/bin/sh -c curl -fs --user elastic:••• http://localhost:9200/_cluster/health || exit 1",
    ),
    ("curl --user=admin:s3cret https://api.example.com/", "curl --user=admin:••• https://api.example.com/"),
    ("curl -su admin:s3cret https://api.example.com/", "curl -su admin:••• https://api.example.com/"),
    ("curl -uadmin:s3cret https://api.example.com/", "curl -uadmin:••• https://api.example.com/"),
    ("sh -c 'curl -u \"admin:p w\" http://x/health'", "sh -c 'curl -u \"admin:•••\" http://x/health'"),
    (
        "docker exec -u root web curl -U proxy:pr0xy -x http://proxy:3128 http://x",
        "docker exec -u root web curl -U proxy:••• -x http://proxy:3128 http://x",
    ),
    (
        "docker run --rm -u 1000:1000 curlimages/curl -u admin:s3cret http://x",
        "docker run --rm -u 1000:1000 curlimages/curl -u admin:••• http://x",
    ),
    ("curl --oauth2-bearer 0123456789abcdef https://x", "curl --oauth2-bearer ••• https://x"),
    (
        f'curl -s -H "Authorization: Bearer {GHP}" https://api.github.com/user',
        'curl -s -H "Authorization: Bearer •••" https://api.github.com/user',
    ),
    (
        "curl -sSf -H 'X-Vault-Token: hvs.CAESIJ0123456789abcdefghijKLMNOPqrstuv' http://vault:8200/v1/sys/health",
        "curl -sSf -H 'X-Vault-Token: •••' http://vault:8200/v1/sys/health",
    ),
    (
        "wget -q --spider --http-user=admin --http-password=s3cret http://localhost/",
        "wget -q --spider --http-user=admin --http-password=••• http://localhost/",
    ),
    (
        f"wget -qO- https://deploy:{GLPAT}@gitlab.example.com/api/v4/projects",
        "wget -qO- https://deploy:•••@gitlab.example.com/api/v4/projects",
    ),
    # other programs that take a password on their command line
    (
        "mongosh --quiet -u root -p example --eval db.adminCommand('ping')",
        "mongosh --quiet -u root -p ••• --eval db.adminCommand('ping')",
    ),
    (
        "sshpass -p 'tr0ub4dor&3' rsync -av /data backup@nas:/backups",
        "sshpass -p '•••' rsync -av /data backup@nas:/backups",
    ),
    (
        "docker login -u ci-bot -p s3cret registry.example.com",
        "docker login -u ci-bot -p ••• registry.example.com",
    ),
    ("node server.js --api-key=AbC123xyz987 --port=3000", "node server.js --api-key=••• --port=3000"),
    ('app --password "my secret" --verbose', 'app --password "•••" --verbose'),
    (f"app --auth-token Bearer {GHP} --verbose", "app --auth-token Bearer ••• --verbose"),
    # environment entries
    ("POSTGRES_PASSWORD=example", "POSTGRES_PASSWORD=•••"),
    ("REDIS_PASS=hunter2", "REDIS_PASS=•••"),
    ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_ACCESS_KEY_ID=•••"),
    (f"GITHUB_TOKEN={GHP}", "GITHUB_TOKEN=•••"),
    (f"HF_TOKEN={HF}", "HF_TOKEN=•••"),
    (
        "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=acct;"
        "AccountKey=AbCd0123+/EfGh4567==;EndpointSuffix=core.windows.net",
        "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=acct;"
        "AccountKey=•••;EndpointSuffix=core.windows.net",
    ),
    # bare tokens in log lines keep the prefix that names their kind
    (f"INFO using token {GHP} for the API", "INFO using token ghp_••• for the API"),
    (f"downloading weights with {HF} from the hub", "downloading weights with hf_••• from the hub"),
    (
        f"openai.AuthenticationError: incorrect API key {SK_PROJ}",
        "openai.AuthenticationError: incorrect API key sk-proj-•••",
    ),
    (f"anthropic: invalid x-api-key {SK_ANT}", "anthropic: invalid x-api-key sk-ant-api03-•••"),
    (f"legacy key {SK_OPENAI} revoked", "legacy key sk-••• revoked"),
    (f"gitlab: {GLPAT} expired", "gitlab: glpat-••• expired"),
    ("runner registered with glrt-t1_AbCdEf0123456789xyzW", "runner registered with glrt-•••"),
    ("AWS credentials ASIAY34FZKBOKMUTVV7A expire at 18:00", "AWS credentials ASIA••• expire at 18:00"),
    (f"slack: posting as {XOXB}", "slack: posting as xoxb-•••"),
    (f"socket mode with {XAPP}", "socket mode with xapp-•••"),
    (
        "[stripe] request with sk_live_51H8AbCdEf0123456789AbCdEf failed",
        "[stripe] request with sk_live_••• failed",
    ),
    ("hub login with dckr_pat_AbCdEf0123456789_abcdefXYZ", "hub login with dckr_pat_•••"),
    (
        "sendgrid: SG.AbCdEf0123456789xyzWvU.AbCdEf0123456789xyzWvUAbCdEf0123456789xyzAB rejected",
        "sendgrid: SG.••• rejected",
    ),
    (f"GET /ws?token={JWT} 101", "GET /ws?token=••• 101"),
    (f"id_token {JWT}", "id_token •••"),
    # a scheme after an authentication header or key: the credential is masked whatever it looks like
    ("X-Auth: Basic dXNlcjpwYXNz", "X-Auth: Basic •••"),  # user:pass, no digit, no symbol
    ('curl -H "X-Auth: Basic YWRtaW46c2VjcmV0" http://x', 'curl -H "X-Auth: Basic •••" http://x'),
    ("auth: Basic dXNlcjpwYXNz,other", "auth: Basic •••,other"),
    ("X-Registry-Auth: Basic ZGVwbG95Omh1bnRlcg", "X-Registry-Auth: Basic •••"),
    ("X-Custom-Auth-Header: Bearer abcDEF123456", "X-Custom-Auth-Header: Bearer •••"),
    ("> x-custom-auth-header: bearer abcdefgh", "> x-custom-auth-header: bearer •••"),
    ("X-Auth-Token: Bearer abcdefgh", "X-Auth-Token: Bearer •••"),
    ("X-Auth: Negotiate YIIJvwYGKwYBBQUCoIIJszCCCa", "X-Auth: Negotiate •••"),
    ("proxy --auth-header Bearer abcdefgh --port 8080", "proxy --auth-header Bearer ••• --port 8080"),
    ("X-Auth: Token 0123456789abcdef", "X-Auth: Token •••"),
    # presigned URLs: signatures, credentials and session tokens in the query
    (
        f"{ACCESS} /bucket/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261127%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261127T174244Z&X-Amz-Expires=900"
        "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F&X-Amz-SignedHeaders=host"
        f'&X-Amz-Signature={HEX64} HTTP/1.1" 200 512',
        f"{ACCESS} /bucket/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=•••"
        "&X-Amz-Date=20261127T174244Z&X-Amz-Expires=900&X-Amz-Security-Token=•••&X-Amz-SignedHeaders=host"
        '&X-Amz-Signature=••• HTTP/1.1" 200 512',
    ),
    (
        "fetching https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256"
        "&X-Goog-Credential=svc%40proj.iam.gserviceaccount.com%2F20261127%2Fauto%2Fstorage%2Fgoog4_request"
        f"&X-Goog-Date=20261127T174244Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature={HEX64}",
        "fetching https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=•••"
        "&X-Goog-Date=20261127T174244Z&X-Goog-Expires=900&X-Goog-SignedHeaders=host&X-Goog-Signature=•••",
    ),
    (
        '"GET /c/blob?sv=2021-06-08&ss=b&srt=sco&sp=rl&se=2026-12-01T00:00:00Z'
        '&sig=Xk3%2Fabc9DEFghi0JKLmno1PQRstu2VWXyz3%3D HTTP/1.1" 200',
        '"GET /c/blob?sv=2021-06-08&ss=b&srt=sco&sp=rl&se=2026-12-01T00:00:00Z&sig=••• HTTP/1.1" 200',
    ),
    (
        "GET https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1764265364"
        "&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D",
        "GET https://b.s3.amazonaws.com/k?AWSAccessKeyId=•••&Expires=1764265364&Signature=•••",
    ),
    # redis: the config file, CONFIG SET, Sentinel, and AUTH as MONITOR prints it and as typed
    ("requirepass foobared1", "requirepass •••"),
    ("masterauth s3cret", "masterauth •••"),
    ("sentinel auth-pass mymaster s3cret", "sentinel auth-pass mymaster •••"),
    ('CONFIG SET requirepass "n3w pass"', 'CONFIG SET requirepass "•••"'),
    ("redis-cli -h cache CONFIG SET requirepass n3wpass", "redis-cli -h cache CONFIG SET requirepass •••"),
    (
        '1764265364.123456 [0 172.18.0.5:50000] "config" "set" "requirepass" "n3wpass"',
        '1764265364.123456 [0 172.18.0.5:50000] "config" "set" "requirepass" "•••"',
    ),
    (
        '1764265364.123456 [0 172.18.0.5:50000] "AUTH" "s3cretpw"',
        '1764265364.123456 [0 172.18.0.5:50000] "AUTH" "•••"',
    ),
    (
        '1764265364.123456 [0 172.18.0.5:50000] "AUTH" "default" "s3cretpw"',
        '1764265364.123456 [0 172.18.0.5:50000] "AUTH" "default" "•••"',
    ),
    (
        '1764265364.123456 [0 172.18.0.5:50000] "HELLO" "3" "AUTH" "app" "s3cretpw" "SETNAME" "web"',
        '1764265364.123456 [0 172.18.0.5:50000] "HELLO" "3" "AUTH" "app" "•••" "SETNAME" "web"',
    ),
    (
        '1764265364.123456 [0 172.18.0.5:50000] "MIGRATE" "db2" "6379" "" "0" "5" "AUTH" "s3cret" "KEYS" "a"',
        '1764265364.123456 [0 172.18.0.5:50000] "MIGRATE" "db2" "6379" "" "0" "5" "AUTH" "•••" "KEYS" "a"',
    ),
    ("AUTH s3cretpw", "AUTH •••"),
    ("127.0.0.1:6379> auth default s3cretpw", "127.0.0.1:6379> auth default •••"),
    (
        "printf 'AUTH s3cretpw\\r\\nPING\\r\\n' | nc cache 6379",
        "printf 'AUTH •••\\r\\nPING\\r\\n' | nc cache 6379",
    ),
    ("-> AUTH PLAIN AGJvYgBzM2NyZXQ=", "-> AUTH PLAIN •••"),  # SMTP, as swaks prints it
    # other programs that take a password on their command line
    (
        "ldapsearch -x -H ldap://ldap -D cn=admin,dc=example,dc=org -w s3cretpw -b dc=example,dc=org",
        "ldapsearch -x -H ldap://ldap -D cn=admin,dc=example,dc=org -w ••• -b dc=example,dc=org",
    ),
    ("ldapwhoami -x -D cn=admin -wS3cret", "ldapwhoami -x -D cn=admin -w•••"),
    (
        "ldappasswd -x -D cn=admin -w adm1n -a old1 -s new2 uid=bob",
        "ldappasswd -x -D cn=admin -w ••• -a ••• -s ••• uid=bob",
    ),
    (
        "mosquitto_pub -h mqtt -p 1883 -u bob -P s3cretpw -t sensors/t -m 21",
        "mosquitto_pub -h mqtt -p 1883 -u bob -P ••• -t sensors/t -m 21",
    ),
    ("mosquitto_sub -u bob --pw s3cretpw -t '#'", "mosquitto_sub -u bob --pw ••• -t '#'"),
    ("smbclient //nas/share -U bob%s3cretpw -c ls", "smbclient //nas/share -U bob%••• -c ls"),
    ("smbclient -L nas --user=WORKGROUP/bob%s3cret", "smbclient -L nas --user=WORKGROUP/bob%•••"),
    ("rpcclient -U bob%s3cret nas", "rpcclient -U bob%••• nas"),
    (
        "openssl enc -aes-256-cbc -k mys3cret -in f -out f.enc",
        "openssl enc -aes-256-cbc -k ••• -in f -out f.enc",
    ),
    (
        "openssl enc -d -aes-128-cbc -K 00112233445566778899aabbccddeeff -iv 0f0e0d0c -in f",
        "openssl enc -d -aes-128-cbc -K ••• -iv 0f0e0d0c -in f",
    ),
    (
        "openssl pkcs12 -export -in c.pem -inkey k.pem -passout pass:s3cret -out c.p12",
        "openssl pkcs12 -export -in c.pem -inkey k.pem -passout pass:••• -out c.p12",
    ),
    (
        "openssl rsa -in k.pem -passin pass:s3cret -out plain.pem",
        "openssl rsa -in k.pem -passin pass:••• -out plain.pem",
    ),
    ("htpasswd -b -c /etc/nginx/.htpasswd admin s3cretpw", "htpasswd -b -c /etc/nginx/.htpasswd admin •••"),
    ("htpasswd -nbB admin s3cretpw", "htpasswd -nbB admin •••"),
    (
        "sh -c \"htpasswd -bBC 10 /etc/htpasswd admin 's3cret pw' && nginx\"",
        "sh -c \"htpasswd -bBC 10 /etc/htpasswd admin '•••' && nginx\"",
    ),
    ("vault login s.Uk5Tb3tQWC8kTSqvVbFq2Lxp", "vault login •••"),
    # old Vault tokens where the context names them
    ("X-Vault-Token: s.Uk5Tb3tQWC8kTSqvVbFq2Lxp", "X-Vault-Token: •••"),
    (
        "VAULT_TOKEN=s.Uk5Tb3tQWC8kTSqvVbFq2Lxp vault kv get secret/app",
        "VAULT_TOKEN=••• vault kv get secret/app",
    ),
    (
        "curl -H 'X-Vault-Token: s.Uk5Tb3tQWC8kTSqvVbFq2Lxp' http://vault:8200/v1/secret/data/app",
        "curl -H 'X-Vault-Token: •••' http://vault:8200/v1/secret/data/app",
    ),
    # a password as a sentence gives it
    ("the password is hunter2", "the password is •••"),
    ("Your new password is Xy7!pQ2w.", "Your new password is •••."),
    ('the default passphrase was "correct horse"', 'the default passphrase was "•••"'),
    ("password: hunter2", "password: •••"),
    (
        "Using generated security password: 8f9c1a2b-3c4d-5e6f-7a8b-9c0d1e2f3a4b",
        "Using generated security password: •••",
    ),
]


@pytest.mark.parametrize(("text", "expected"), REAL_WORLD)
def test_mask_secrets_masks_real_world_lines(text: str, expected: str) -> None:
    """Log lines, commands and headers as containers print them come out with each credential masked whole."""
    assert mask_secrets(text) == expected


@given(
    key=st.sampled_from(
        ["X-Auth: ", "auth: ", "auth=", "X-Registry-Auth: ", "X-Custom-Auth-Header: ", "proxy_auth: "]
    ),
    scheme=st.sampled_from(["Basic", "Bearer", "Digest", "Negotiate", "NTLM", "basic"]),
    user=st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10),
    password=st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12),
)
def test_after_an_auth_key_any_credential_is_masked(key: str, scheme: str, user: str, password: str) -> None:
    """After an authentication key and an HTTP scheme, the credential is masked whatever it looks like: the
    base64 of a short `user:password` of letters has no digit and no symbol more often than not."""
    credential = base64.b64encode(f"{user}:{password}".encode()).decode().rstrip("=")
    assert mask_secrets(f"{key}{scheme} {credential}") == f"{key}{scheme} {MASK}"


def test_a_mask_never_leaves_a_credential_beside_it() -> None:
    """After a scheme (`Basic`, `Bearer`…) the credential is masked, never `auth=••• YWRt…`."""
    for key in ["auth=", "auth: ", "X-Auth: ", "X-Forwarded-Auth-Token: ", "Authorization: ", "token="]:
        for scheme in ["Basic", "Bearer", "Token", "Digest", "Negotiate", "bearer"]:
            line = f"{key}{scheme} {BASIC} next"
            assert mask_secrets(line) == f"{key}{scheme} {MASK} next", line


PROGRAM_LINES = [
    ("mysqldump -uroot -pS3cret app", "mysqldump -uroot -p••• app"),
    ("mariadb-dump -pS3cret app", "mariadb-dump -p••• app"),
    ("mariabackup --backup --user=root --pass=S3cret", "mariabackup --backup --user=root --pass=•••"),
    ("mongodump -u root -p S3cret --out /backup", "mongodump -u root -p ••• --out /backup"),
    ("mongo admin -u root -pS3cret", "mongo admin -u root -p•••"),
    ("podman login -u bob -p S3cret quay.io", "podman login -u bob -p ••• quay.io"),
    ("skopeo login -u bob -p S3cret quay.io", "skopeo login -u bob -p ••• quay.io"),
    ("keydb-cli -a S3cret ping", "keydb-cli -a ••• ping"),
    ("unrar x -pS3cret a.rar", "unrar x -p••• a.rar"),
    ("7za x -pS3cret a.7z", "7za x -p••• a.7z"),
    ("sshpass -pS3cret ssh -p 2222 host", "sshpass -p••• ssh -p 2222 host"),
    ("/usr/bin/curl --proxy-user bob:S3cret http://x", "/usr/bin/curl --proxy-user bob:••• http://x"),
    ("curl -E client.pem:S3cret https://x", "curl -E client.pem:••• https://x"),
]


@pytest.mark.parametrize(("text", "expected"), PROGRAM_LINES)
def test_each_listed_program_has_its_password_masked(text: str, expected: str) -> None:
    """Every family of listed programs is recognised, with each way it takes a password."""
    assert mask_secrets(text) == expected


KEPT = [
    "docker run -d -p 8080:80 -u 1000:1000 --name web nginx:1.25",
    "docker run --user app:app -v data:/data -p 127.0.0.1:5432:5432 postgres:16",
    "podman run --userns=keep-id --user=1000:1000 img",
    "docker exec -u root web sh -c 'id -u'",
    "ps -a",
    "ps -ef --forest",
    "image nginx@sha256:e164ddf2224c3ca0acdd42d89a03f247ae58a8dba339195ad1e208eb397d9688 pulled",
    f"Created container {HEX64}",
    "ssh deploy@10.0.0.5 -p 2222",
    "git clone git@github.com:org/repo.git",
    "git clone https://bob@github.com/org/repo.git",
    "fetching https://example.com:8443/search?q=password+reset&lang=en",
    "connection to postgres://db:5432/app established",
    "user bob@example.com logged in from 10.0.0.1:52344",
    "2026-11-27T17:42:44.400311484Z 2026-11-27 17:42:44,123 INFO started in 3.2 s",
    "the author of the authority report, a passenger, took the bypass",
    'WWW-Authenticate: Basic realm="Restricted"',
    "X-Auth-Method: basic",
    "invalid token: token expired",
    "tests: pass=12 fail=0 skip=1",
    "pass 2/3 complete",
    "npm_config_cache=/root/.npm npm_config_user_agent=npm/10.2.3",
    "sk-spinner-fading-circle-animation loaded",
    "pod backup-sk-7f9c8d6b5a-x2k4j9q8w7e6r5t4 scheduled",
    "disk-usage-report-2026-11-27-0123456789abcdef",
    "curl -fsS http://localhost:8080/healthz || exit 1",
    "curl -u admin https://api.example.com/",
    'curl -u "$API_USER:$API_PASS" https://api.example.com/',
    "redis-cli -h redis -p 6379 ping",
    'redis-cli -a "$REDIS_PASSWORD" ping',
    "mongosh --quiet --eval \"db.adminCommand('ping')\"",
    '2026-11-27 17:42:44.123 UTC [42] FATAL:  password authentication failed for user "app"',
    "2026-11-27 17:42:44.123 UTC [42] LOG:  connection authorized: user=app database=app",
    "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.",
    "MongoServerError: bad auth : Authentication failed.",
    "Authorization header missing",
    "cookie: not set, cookies=3",
    # headers that name a user or a challenge, and prose after a scheme
    "X-Goog-Authenticated-User-Email: accounts.google.com:bob@example.com",
    "X-Goog-Authenticated-User-Id: accounts.google.com:1234567890",
    'Proxy-Authenticate: Basic realm="proxy"',
    "X-Auth-Method: Basic realm",
    "auth_type: basic ldap",
    "auth: bearer token required",
    "auth: token refreshed",
    "auth: bot connected",
    "X-Auth: basic only",
    "token: bearer expired",
    # query parameters that are no signature
    "GET /search?q=signature&sort=asc",
    "X-Amz-SignedHeaders=host;x-amz-date",
    'level=info msg="sig=ok" signature=valid',
    # redis and SMTP text that holds no password
    "requirepass is not set",
    'requirepass "$REDIS_PASSWORD"',
    "AUTH failed",
    "AUTH OK",
    "-> AUTH LOGIN",
    "<- 250-AUTH PLAIN LOGIN",
    "250 AUTH PLAIN LOGIN",
    "ERR AUTH <password> called without any password configured for the default user.",
    # the same programs without a password on their command line
    "ldapsearch -x -H ldap://ldap -s sub -b dc=example,dc=org '(uid=bob)'",
    "ldapsearch -x -W -D cn=admin,dc=example,dc=org",
    "mosquitto_sub -h mqtt -p 1883 -t sensors/#",
    "smbclient //nas/share -U bob",
    "smbclient -N -L nas",
    "openssl rsa -in k.pem -passin env:KEY_PASS",
    "openssl rsa -in k.pem -passin file:/run/secrets/key_pass",
    "openssl req -new -newkey rsa:2048 -nodes -keyout key.pem -out req.pem",
    "openssl s_client -connect example.com:443 -servername example.com",
    "htpasswd -c /etc/nginx/.htpasswd admin",
    'htpasswd -nb admin "$ADMIN_PASSWORD"',
    "vault login -method=github",
    "vault login -method userpass username=bob",
    "vault status",
    "class s.AbstractRequestHandlerBase loaded",  # a Vault-token shape outside Vault's context
    # prose about passwords
    "The password is incorrect.",
    "password is required",
    "the password is too short",
    "password is 8 characters long",
    "Password for user postgres:",
]


@pytest.mark.parametrize("text", KEPT)
def test_mask_secrets_keeps_real_world_non_secrets(text: str) -> None:
    """Docker's ports, users and groups, digests, ids, addresses without a password and prose stay as is."""
    assert mask_secrets(text) == text


MYSQL_LIKE = ["mysql", "mysqladmin", "mysqldump", "mariadb", "mariadb-dump", "/usr/local/bin/mysql"]
# No quotes, blanks, "$", "=", "-" or "_": nothing another rule (assignment, token prefix) would mask first.
VALUE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#%^*+,.:/~?"
passwords = st.text(VALUE_ALPHABET, min_size=1, max_size=40).filter(
    lambda pw: (
        not pw.isalpha() and set(pw) != {"*"} and pw.lower() != "n/a"
    )  # "no", "***", "N/A": placeholders
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
    for text, _ in SECRETS + REAL_WORLD:
        once = mask_secrets(text)
        assert mask_secrets(once) == once
        assert MASK in once


# ---- properties -------------------------------------------------------------------------------------------

# Pieces of the lines above, trigger words and the characters that separate them, glued at random: lines
# that reach every rule, half-way matches included.
FRAGMENTS = [
    "password", "pass", "auth", "token", "secret", "key", "client_secret", "Authorization", "X-Auth",
    "Cookie", "=", ": ", '": "', "'", '"', '\\"', " ", "\t", "\n", ",", ";", "&", "[", "]", "(", "-", "--",
    "_", "@",
    "Basic ", "Bearer ", "Digest ", 'username="a", ', "realm=x, ",
    "curl ", "redis-cli ", "mysql ", "sshpass ", "docker login ", "-u ", "-a ", "-p", "--user ", "--pass=",
    "admin:pw", "1000:1000", "$PW", "http://", "postgres://", "user:p@ss@", "host/db",
    "ghp_", "npm_", "hf_", "sk-", "sk-proj-", "AKIA", "xoxb-", "glpat-", "eyJ", ".", "AbCdEf0123456789AbCdEf",
    HEX64, BASIC, "PASSWORD '", "IDENTIFIED BY '", "-----BEGIN PRIVATE KEY-----", "•••", "İ",
    "X-Custom-Auth-Header: ", "dXNlcjpwYXNz", "?", "&sig=", "X-Amz-Signature=", "requirepass ", "masterauth ",
    "sentinel auth-pass ", "AUTH ", '"AUTH" ', "AUTH2 ", "PLAIN ", "> ", "\\r\\n", "password is ", "was ",
    "ldapsearch ", "-w ", "mosquitto_pub ", "-P ", "smbclient ", "-U ", "bob%pw", "openssl ", "-k ",
    "-passin ", "pass:", "htpasswd ", "-nb ", "vault login ", "s.AbCdEf0123456789AbCdEf01",
]  # fmt: skip
lines = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=16).map("".join)


@given(text=st.text() | lines)
def test_mask_secrets_never_raises_and_is_idempotent(text: str) -> None:
    """Any text, random or built from the pieces secrets are made of, masks without error, and masking the
    masked text again changes nothing."""
    once = mask_secrets(text)
    assert mask_secrets(once) == once


token68 = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/", min_size=12, max_size=60
)


@given(
    key=st.sampled_from(
        ["auth=", "auth: ", "X-Auth: ", "x-upstream-auth: ", "Proxy-Authorization: ", "token="]
    ),
    scheme=st.sampled_from(["Basic", "Bearer", "Token", "Digest", "bearer", "NTLM", "Negotiate"]),
    credential=token68.map(lambda body: f"{body}1x=="),  # a digit and padding: reads as a credential
    after=st.sampled_from(["", " status=401", '"', "\n", ", next"]),
)
def test_no_credential_survives_after_an_auth_scheme(
    key: str, scheme: str, credential: str, after: str
) -> None:
    """Whatever the key, scheme and credential, the scheme stays and the whole credential is masked."""
    assert mask_secrets(f"{key}{scheme} {credential}{after}") == f"{key}{scheme} {MASK}{after}"


@given(
    scheme=st.sampled_from(
        ["https", "postgres", "postgresql", "mysql", "redis", "rediss", "amqp", "mongodb+srv"]
    ),
    user=st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=0, max_size=12),
    password=st.text("abcdefghijklmnopqrstuvwxyzABC0123456789!$%&*+,;=@:._~-", min_size=1, max_size=24),
)
def test_no_password_survives_in_a_url(scheme: str, user: str, password: str) -> None:
    """`scheme://user:password@host/db` keeps the user and host whatever the password holds (":" and "@")."""
    line = f"connecting to {scheme}://{user}:{password}@db.internal:5432/app ok"
    assert mask_secrets(line) == f"connecting to {scheme}://{user}:{MASK}@db.internal:5432/app ok"


@given(
    flag=st.sampled_from(["-u ", "-u", "--user ", "--user=", "-su ", "-fsSu "]),
    user=st.from_regex(r"[a-z0-9][a-z0-9._-]{0,11}", fullmatch=True),
    password=passwords,
    wrapped=st.booleans(),
)
def test_curl_user_keeps_the_user_and_masks_the_password(
    flag: str, user: str, password: str, wrapped: bool
) -> None:
    """`curl -u user:password` (any spelling of the flag) becomes `curl -u user:•••`; the URL stays."""
    line, expected = (
        f"curl -fsS {flag}{user}:{password} http://web/health",
        f"curl -fsS {flag}{user}:{MASK} http://web/health",
    )
    if wrapped:
        line, expected = f"sh -c '{line} || exit 1'", f"sh -c '{expected} || exit 1'"
    assert mask_secrets(line) == expected


@given(
    command=st.sampled_from(["docker run", "docker create", "docker exec", "podman run", "nerdctl run"]),
    flag=st.sampled_from(["-u ", "-u", "--user ", "--user="]),
    user=st.from_regex(
        r"[0-9]{1,5}(?::[0-9]{1,5})?|[a-z][a-z0-9_-]{0,10}(?::[a-z][a-z0-9_-]{0,10})?", fullmatch=True
    ),
)
def test_docker_user_and_group_are_no_password(command: str, flag: str, user: str) -> None:
    """`docker run -u 1000:1000`, `--user app:app`: a container's user and group are never masked."""
    line = f"{command} {flag}{user} -p 8080:80 img"
    assert mask_secrets(line) == line


# ---- logs -------------------------------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A real logger of its own with a stream handler, masked as the bot masks its root handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger(f"test.mask.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    mask_log_handlers(logger)
    yield logger, stream
    logger.removeHandler(handler)
    handler.close()


def test_log_lines_are_masked_with_their_arguments(captured: tuple[logging.Logger, io.StringIO]) -> None:
    """The message as printed, format arguments merged in, is masked; the rest of the line stays."""
    logger, stream = captured
    logger.info("connecting to %s as %r", "postgres://app:hunter2@db:5432/app", {"password": "s3cret"})
    logger.warning("healthcheck %(command)s failed", {"command": "curl -u admin:pw http://web/health"})
    logger.debug(f"token {GHP} in use")
    output = stream.getvalue()
    for secret in ["hunter2", "s3cret", "admin:pw", GHP]:
        assert secret not in output
    assert (
        f"INFO {logger.name}: connecting to postgres://app:•••@db:5432/app as {{'password': '•••'}}" in output
    )
    assert "healthcheck curl -u admin:••• http://web/health failed" in output
    assert "token ghp_••• in use" in output


def test_tracebacks_and_stacks_in_logs_are_masked(captured: tuple[logging.Logger, io.StringIO]) -> None:
    """An exception's text (its message and the source lines shown) and a stack dump are masked too."""
    logger, stream = captured
    try:
        raise ValueError("bad URL redis://:s3cretpw@cache:6379")  # the source line is shown too
    except ValueError:
        logger.exception("request with Authorization: Bearer %s failed", "0123456789abcdef0123")
    logger.warning("here, api_key=AbC123xyz987", stack_info=True)
    output = stream.getvalue()
    assert "Traceback (most recent call last)" in output
    assert "ValueError: bad URL redis://:•••@cache:6379" in output
    assert "Authorization: Bearer ••• failed" in output
    assert "Stack (most recent call last)" in output
    for secret in ["s3cretpw", "0123456789abcdef0123", "AbC123xyz987"]:
        assert secret not in output


def test_a_log_call_with_arguments_that_do_not_fit_is_kept_masked(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    """Arguments that do not fit the format do not raise from the filter: format and arguments are printed."""
    logger, stream = captured
    logger.error("two %s and %s", "password=hunter2")  # noqa: PLE1206 - a mistake on purpose
    output = stream.getvalue()
    assert "two %s and %s ('password=•••',)" in output
    assert "hunter2" not in output


def test_every_handler_after_the_filter_sees_the_masked_record(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    """The record is masked in place: a second handler without a filter of its own prints the masked text."""
    logger, _ = captured
    second = io.StringIO()
    handler = logging.StreamHandler(second)
    logger.addHandler(handler)
    try:
        logger.info("token=%s", "abc123def456")
    finally:
        logger.removeHandler(handler)
    assert second.getvalue() == "token=•••\n"


def test_mask_log_handlers_installs_one_filter_per_handler(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    """Installing twice (main() run twice in one process) leaves one filter on each handler."""
    logger, _ = captured
    mask_log_handlers(logger)
    assert logger.handlers
    for handler in logger.handlers:
        assert sum(isinstance(f, SecretMaskingFilter) for f in handler.filters) == 1
