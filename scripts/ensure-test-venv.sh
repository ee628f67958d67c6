#!/usr/bin/env bash
# Build (once, idempotently) a Python venv with planai==0.7.1 for the test suite and
# print the path of its python interpreter on stdout. All logging goes to stderr.
#
#   PLANAI_TEST_VENV   venv location (default: <repo>/target/test-venv)
#   PLANAI_VERSION     planai version to install (default: 0.7.1)
#
# Concurrency: callers serialise on an flock(1) lock file next to the venv
# (<venv>.lock), so parallel test processes build the venv only once.
# Completeness: the marker file <venv>/.planai-ready is written last; a venv without
# it is treated as half-built and is rebuilt from scratch.
set -euo pipefail

log() { printf '[ensure-test-venv] %s\n' "$*" >&2; }

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
VENV="${PLANAI_TEST_VENV:-$REPO_ROOT/target/test-venv}"
PLANAI_VERSION="${PLANAI_VERSION:-0.7.1}"
MARKER="$VENV/.planai-ready"
UVTOOL="$REPO_ROOT/target/uvtool"

mkdir -p "$(dirname "$VENV")"
VENV="$(cd "$(dirname "$VENV")" && pwd)/$(basename "$VENV")"
MARKER="$VENV/.planai-ready"
LOCK="$VENV.lock"

# Fast path: already built (no lock needed; the marker is written last).
if [[ -f "$MARKER" && -x "$VENV/bin/python" ]]; then
    printf '%s\n' "$VENV/bin/python"
    exit 0
fi

if ! command -v flock >/dev/null 2>&1; then
    log "flock not found (package util-linux); continuing without a lock"
    exec 9>/dev/null
else
    exec 9>"$LOCK"
    log "waiting for lock $LOCK"
    flock 9
fi

# Another process may have finished while we waited.
if [[ -f "$MARKER" && -x "$VENV/bin/python" ]]; then
    printf '%s\n' "$VENV/bin/python"
    exit 0
fi

# Resolve the real interpreter (python3 may be a pyenv shim, which costs ~100 ms a call
# and may change meaning with the cwd's .python-version).
BASE_PY="${PLANAI_BASE_PYTHON:-}"
if [[ -z "$BASE_PY" ]]; then
    for cand in python3 python3.13 python3.12 python3.11 python3.10; do
        if command -v "$cand" >/dev/null 2>&1; then
            if BASE_PY="$("$cand" -c 'import sys; print(sys.executable)' 2>/dev/null)" && [[ -n "$BASE_PY" ]]; then
                break
            fi
        fi
    done
fi
if [[ -z "$BASE_PY" || ! -x "$BASE_PY" ]]; then
    log "no usable python3 found"
    exit 1
fi
if ! "$BASE_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    log "$BASE_PY is older than 3.10; planai needs >=3.10"
    exit 1
fi
log "base interpreter: $BASE_PY ($("$BASE_PY" -c 'import sys; print(sys.version.split()[0])'))"

if [[ -e "$VENV" ]]; then
    log "removing incomplete venv $VENV"
    rm -rf "$VENV"
fi

build_with_uv() {
    local uv="$UVTOOL/bin/uv"
    if [[ ! -x "$uv" ]]; then
        log "installing uv into $UVTOOL"
        rm -rf "$UVTOOL"
        "$BASE_PY" -m venv "$UVTOOL" >&2 || return 1
        "$UVTOOL/bin/pip" install -q --disable-pip-version-check uv >&2 || return 1
    fi
    log "uv venv $VENV"
    "$uv" venv -q -p "$BASE_PY" "$VENV" >&2 || return 1
    log "uv pip install planai==$PLANAI_VERSION (compiling bytecode)"
    UV_COMPILE_BYTECODE=1 VIRTUAL_ENV="$VENV" "$uv" pip install -q "planai==$PLANAI_VERSION" >&2 || return 1
}

build_with_pip() {
    rm -rf "$VENV"
    log "python -m venv $VENV"
    "$BASE_PY" -m venv "$VENV" >&2 || return 1
    log "pip install planai==$PLANAI_VERSION"
    # pip compiles bytecode by default, even with PYTHONDONTWRITEBYTECODE set.
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "planai==$PLANAI_VERSION" >&2 || return 1
}

if ! build_with_uv; then
    log "uv build failed; falling back to python -m venv + pip"
    if ! build_with_pip; then
        log "pip build failed too"
        rm -rf "$VENV"
        exit 1
    fi
fi

# Smoke test before declaring the venv complete. Run in a scratch cwd: import planai
# creates ./logs/ and reads ./.env.local.
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
if ! (cd "$SCRATCH" && "$VENV/bin/python" -c 'import planai, planai.testing; print(planai.__version__)' >&2); then
    log "import planai failed in the new venv"
    rm -rf "$VENV"
    exit 1
fi

date -u +%Y-%m-%dT%H:%M:%SZ > "$MARKER.tmp"
mv "$MARKER.tmp" "$MARKER"
log "ready: $VENV"
printf '%s\n' "$VENV/bin/python"
