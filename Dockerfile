# docker-chatops: the bot in a container.
#
#   docker build -t docker-chatops .
#   docker run -d --name chatops --env-file chatops.env \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v chatops-data:/data docker-chatops
#
# chatops.env holds SLACK_BOT_TOKEN, SLACK_APP_TOKEN (or SLACK_SIGNING_SECRET), CHATOPS_* settings.
# --group-add gives uid 10001 the socket's group so it may use the socket without running as root.
#
# Why the Docker socket: the bot *is* a Docker client; it lists, inspects, starts, stops and prunes
# through the Engine API of the host it manages. Mounting /var/run/docker.sock (or pointing DOCKER_HOST
# at a TCP/TLS engine) is how it reaches that API.
# WARNING: access to the Docker socket is root-equivalent on the host (anyone who can call the API can
# start a privileged container mounting /). The bot's policy layer decides who may do what from Slack,
# but whoever controls this container, its tokens or its config controls the host. Keep the tokens
# secret, the image minimal, and prefer a socket proxy that allows only the API calls you enable.
#
# Machines with no image registry (our sandboxes): ./scripts/build-base-image first, then
# docker build --network host -t docker-chatops .

FROM python:3.11-slim AS build
# A venv in /opt/venv is copied whole into the final stage: no compilers, no source, no pip cache there.
RUN python -m venv /opt/venv
COPY pyproject.toml README.md /src/
COPY bot /src/bot
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check /src

FROM python:3.11-slim
RUN groupadd --gid 10001 chatops \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin chatops \
    && mkdir -p /data /app \
    && chown chatops:chatops /data
COPY --from=build /opt/venv /opt/venv

# Configuration comes only from the environment (docker run -e / --env-file); there is no .env in the image.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    CHATOPS_STATE_PATH=/data/chatops.db \
    CHATOPS_HISTORY_FILE=/data/.docker_chatops_history
VOLUME /data
WORKDIR /app
USER 10001:10001

# Healthy when the config loads and the Docker engine answers.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 \
    CMD ["docker-chatops", "doctor", "--quiet"]
CMD ["docker-chatops", "run"]
