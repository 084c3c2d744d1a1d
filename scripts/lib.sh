# shellcheck shell=bash
# Helpers shared by scripts/test and scripts/run. Source it; it runs nothing by itself.
#
#   ensure_venv [dev]     .venv with the package installed (editable), reinstalled only when
#                         pyproject.toml changed since the last install
#   ensure_engine         a Docker engine that answers; as root, installs docker.io and starts dockerd
#   ensure_test_image     the local image tests run: chatops-test/busybox:latest

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
TEST_IMAGE="chatops-test/busybox:latest"
# Bump when the recipe in make_test_image changes; tests/conftest.py checks the same label and number.
TEST_IMAGE_RECIPE="1"
DOCKERD_LOG="/var/log/chatops-dockerd.log"

# One line per step; SAY_FD=2 sends them to stderr (scripts/run keeps stdout for the bot).
say() { printf '==> %s\n' "$*" >&"${SAY_FD:-1}"; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# --- Python virtualenv ---------------------------------------------------------------------------

# Prints the first interpreter that is Python >= 3.11: $PYTHON, then python3, python3.13, ...
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3 python3.14 python3.13 python3.12 python3.11; do
        if [[ -z "$candidate" ]] || ! command -v "$candidate" >/dev/null 2>&1; then continue; fi
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

venv_python_ok() {
    [[ -x "$VENV/bin/python" ]] &&
        "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

# ensure_venv [EXTRAS]: create .venv if needed and `pip install -e .[EXTRAS]` when pyproject.toml
# (or the interpreter) changed since the last install. A stamp holding a superset of EXTRAS is enough.
ensure_venv() {
    local extras="${1:-}" python stamp_file want have spec reason
    stamp_file="$VENV/.chatops-install-stamp"
    mkdir -p "$VENV"
    # Two runs at once (two terminals, CI retries) must not pip-install into the same venv together.
    exec 9>"$VENV/.chatops-install.lock"
    command -v flock >/dev/null 2>&1 && flock 9

    if ! venv_python_ok; then
        python="$(find_python)" || die "Python >= 3.11 is needed (python3 is $(python3 --version 2>&1 || echo missing)); install it or set PYTHON=/path/to/python3.11"
        say "venv: creating .venv with $("$python" --version 2>&1)"
        "$python" -m venv --clear "$VENV" >/dev/null ||
            die "'$python -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv"
        exec 9>"$VENV/.chatops-install.lock" # --clear removed the lock file; take a fresh one
        command -v flock >/dev/null 2>&1 && flock 9
    fi

    want="$(cat "$REPO_ROOT/pyproject.toml" <("$VENV/bin/python" -VV) | sha256sum | cut -d' ' -f1)"
    have="$(cat "$stamp_file" 2>/dev/null || true)"
    if [[ "$have" == "$want dev" || "$have" == "$want $extras" ]]; then
        say "venv: up to date ($("$VENV/bin/python" --version))"
    else
        spec="."
        [[ -n "$extras" ]] && spec=".[$extras]"
        reason="first install"
        [[ -n "$have" ]] && reason="pyproject.toml changed since the last install"
        [[ "${have%% *}" == "$want" ]] && reason="adding the extras"
        say "venv: pip install -e '$spec' ($reason)"
        rm -f "$stamp_file"
        (cd "$REPO_ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec") ||
            die "pip install -e '$spec' failed (output above)"
        printf '%s %s\n' "$want" "$extras" >"$stamp_file"
    fi
    exec 9>&-
}

# --- Docker engine -------------------------------------------------------------------------------

# True when the engine named by DOCKER_HOST (or the default socket) answers within 10 s.
engine_answers() {
    if command -v docker >/dev/null 2>&1; then
        timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
    else # no CLI: ask through docker-py, as the bot does
        timeout 10 "$VENV/bin/python" -c 'import docker; docker.from_env(timeout=8).ping()' >/dev/null 2>&1
    fi
}

engine_description() {
    if command -v docker >/dev/null 2>&1; then
        docker version --format 'server {{.Server.Version}} (API {{.Server.APIVersion}}), client {{.Client.Version}}' 2>/dev/null
    else
        "$VENV/bin/python" -c 'import docker; v = docker.from_env().version(); print(f"server {v[\"Version\"]} (API {v[\"ApiVersion\"]}), no docker CLI on PATH")'
    fi
}

# apt-get install the given packages (root, Debian/Ubuntu); apt-get update first.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "cannot install $* here (no apt-get); install them by hand"
    say "apt: installing $* (output in /tmp/chatops-apt.log)"
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
    } </dev/null >/tmp/chatops-apt.log 2>&1 || {
        tail -n 20 /tmp/chatops-apt.log >&2
        die "apt-get install $* failed (full log: /tmp/chatops-apt.log)"
    }
}

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# The default engine's own process (its pidfile), not just any dockerd: a test's second daemon does not count.
main_dockerd_running() {
    local pid
    pid="$(cat /var/run/docker.pid 2>/dev/null)" || return 1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

ensure_engine() {
    local waited
    if engine_answers; then
        say "engine: $(engine_description) at ${DOCKER_HOST:-the default socket}"
        # the pull tests run a real local registry; as root, install it next to a running engine too
        if [[ "$EUID" -eq 0 ]] && ! command -v docker-registry >/dev/null 2>&1; then apt_install docker-registry; fi
        return 0
    fi
    if [[ -n "${DOCKER_HOST:-}" && "$DOCKER_HOST" != "unix:///var/run/docker.sock" ]]; then
        die "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; start it, or unset DOCKER_HOST to use the local socket"
    fi
    if [[ "$EUID" -ne 0 ]]; then
        die "no Docker engine answers at /var/run/docker.sock: start Docker (e.g. 'sudo systemctl start docker'), set DOCKER_HOST, add yourself to the docker group, or run this script as root to install and start one"
    fi

    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    # a real local registry for the pull tests (tests/integration/test_mutations.py)
    command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
    if ! static_busybox >/dev/null && ! package_installed busybox-static; then missing+=(busybox-static); fi
    if ((${#missing[@]})); then apt_install "${missing[@]}"; fi

    if ! engine_answers && ! main_dockerd_running; then
        say "engine: starting dockerd in the background (log: $DOCKERD_LOG)"
        setsid nohup dockerd </dev/null >>"$DOCKERD_LOG" 2>&1 &
    fi
    for ((waited = 0; waited < 30; waited++)); do
        if engine_answers; then
            say "engine: $(engine_description), answering after ${waited}s"
            return 0
        fi
        sleep 1
    done
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    die "dockerd did not answer within 30 s (log: $DOCKERD_LOG)"
}

# --- Test image ----------------------------------------------------------------------------------

# Prints the path of a statically linked busybox (the image has no libc), or fails.
static_busybox() {
    local candidate
    for candidate in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null || true)"; do
        # ldd fails on a static binary ("not a dynamic executable")
        if [[ -x "$candidate" ]] && ! ldd "$candidate" >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

test_image_current() {
    [[ "$(docker image inspect --format '{{index .Config.Labels "chatops.test-image.recipe"}}' "$TEST_IMAGE" 2>/dev/null)" == "$TEST_IMAGE_RECIPE" ]]
}

# The recipe: /bin/busybox and its applet links, /etc/passwd and /etc/group with root and nobody,
# /tmp; imported with PATH=/bin (without it `sh` is not found) and CMD ["sh"].
make_test_image() (
    local busybox rootfs applet
    busybox="$(static_busybox)" || {
        [[ "$EUID" -eq 0 ]] && apt_install busybox-static
        busybox="$(static_busybox)"
    } || die "no statically linked busybox found: install busybox-static (Debian/Ubuntu)"
    rootfs="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand now: the function body is a subshell with its own EXIT trap
    trap "rm -rf '$rootfs'" EXIT
    mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
    chmod 1777 "$rootfs/tmp"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in $("$busybox" --list); do
        [[ "$applet" == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
    done
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$rootfs/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$rootfs/etc/group"
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/bin' \
        --change 'CMD ["sh"]' \
        --change "LABEL chatops.test-image.recipe=$TEST_IMAGE_RECIPE" \
        - "$TEST_IMAGE" >/dev/null
)

ensure_test_image() {
    if test_image_current; then
        say "image: $TEST_IMAGE present"
    else
        say "image: building $TEST_IMAGE with docker import"
        make_test_image
    fi
}
