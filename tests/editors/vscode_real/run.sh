#!/usr/bin/env bash
# The PlanAI extension in real VS Code: packages the .vsix (bundle + the server binary for
# linux-x64), installs it into code-server, and drives code-server's workbench in headless
# Chromium (drive.mjs) twice: in a trusted workspace (the whole user story) and in Restricted
# Mode. Screenshots and logs go to target/editors-tests/vscode-real/.
#
#   PLANAI_LSP_BIN       server binary to bundle (default: target/debug/planai-lsp)
#   PLANAI_TEST_VENV     a venv with planai==0.7.1 (default: from scripts/ensure-test-venv.sh)
#   PLANAI_VSCODE_CACHE  where code-server, Node 24 and the drivers are cached (install.sh)
#
# Ends with "N passed, M failed" over the individual checks; exits non-zero if any failed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
HERE="$REPO/tests/editors/vscode_real"
OUT="$REPO/target/editors-tests/vscode-real"
SERVER_BIN="${PLANAI_LSP_BIN:-$REPO/target/debug/planai-lsp}"
[[ "$SERVER_BIN" = /* ]] || SERVER_BIN="$REPO/$SERVER_BIN"
log() { printf '[vscode-real] %s\n' "$*" >&2; }

rm -rf "$OUT"
mkdir -p "$OUT"

CACHE="$("$HERE/install.sh")"
NODE_DIR="$(ls -d "$CACHE"/node-24.* | tail -n 1)"
CODE_SERVER="$(ls -d "$CACHE"/code-server-*/node_modules/.bin/code-server | tail -n 1)"
TOOLS="$CACHE/tools/node_modules"
export PATH="$NODE_DIR/bin:$PATH"

if [[ -z "${PLANAI_TEST_VENV:-}" ]]; then
    python="$("$REPO/scripts/ensure-test-venv.sh")"
    PLANAI_TEST_VENV="$(cd "$(dirname "$python")/.." && pwd)"
fi
[[ -x "$SERVER_BIN" ]] || { log "no server binary at $SERVER_BIN (cargo build first)"; exit 1; }

# ---- the .vsix: the bundle, README, LICENSE, and a stripped copy of the server -------------
log "packaging the extension"
EXT="$REPO/editors/vscode"
if [[ ! -f "$EXT/node_modules/.package-lock.json" || "$EXT/package-lock.json" -nt "$EXT/node_modules/.package-lock.json" ]]; then
    (cd "$EXT" && npm ci --no-audit --no-fund) >"$OUT/npm-ci.log" 2>&1
fi
(cd "$EXT" && npm run --silent bundle) >"$OUT/bundle.log" 2>&1
STAGE="$(mktemp -d)"
cleanup_stage() { rm -rf "$STAGE"; }
cp "$EXT/package.json" "$EXT/README.md" "$EXT/LICENSE" "$EXT/.vscodeignore" "$STAGE/"
mkdir -p "$STAGE/dist" "$STAGE/bin"
cp "$EXT/dist/extension.js" "$STAGE/dist/"
strip -o "$STAGE/bin/planai-lsp" "$SERVER_BIN" 2>/dev/null || cp "$SERVER_BIN" "$STAGE/bin/planai-lsp"
chmod +x "$STAGE/bin/planai-lsp"
# The bundle is built above; the staged copy has no node_modules to run the prepublish step.
node -e '
const fs = require("fs");
const file = process.argv[1];
const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
delete manifest.scripts["vscode:prepublish"];
fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
' "$STAGE/package.json"
VSIX="$OUT/planai-linux-x64.vsix"
(cd "$STAGE" && "$TOOLS/.bin/vsce" package --no-dependencies --target linux-x64 --out "$VSIX") >"$OUT/vsce.log" 2>&1 ||
    { cat "$OUT/vsce.log" >&2; cleanup_stage; exit 1; }
(cd "$STAGE" && "$TOOLS/.bin/vsce" ls --no-dependencies) >"$OUT/vsix-files.txt" 2>&1 || true
cleanup_stage

passed=0
failed=0
count() {
    local line p f
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 || true)"
    if [[ -z "$line" ]]; then
        failed=$((failed + 1))
        echo "FAIL $2: the driver printed no summary (see $1)"
        return
    fi
    p="$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")"
    f="$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
    passed=$((passed + p))
    failed=$((failed + f))
}

# The package holds exactly the bundle, the server, README, LICENSE and the manifest.
expected_files="LICENSE README.md bin/planai-lsp dist/extension.js package.json"
listed="$(grep -vE '^\s*$' "$OUT/vsix-files.txt" | sort | tr '\n' ' ' | sed 's/ $//')"
if [[ "$listed" == "$expected_files" ]]; then
    passed=$((passed + 1))
    echo "PASS package: the .vsix holds $expected_files"
else
    failed=$((failed + 1))
    echo "FAIL package: the .vsix holds [$listed], expected [$expected_files]"
fi

# ---- one code-server session per phase ----------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run_phase() {
    local phase="$1"
    local home="$OUT/$phase"
    local workspace="$home/workspace"
    local data="$home/user-data"
    mkdir -p "$home/extensions" "$data/User" "$data/Machine" "$home/xdg-config" "$home/xdg-data"
    cp -r "$HERE/workspace" "$workspace"
    # The workspace's own environment: the test venv, as a user's project would have it.
    ln -s "$PLANAI_TEST_VENV" "$workspace/.venv"
    cat >"$data/User/settings.json" <<'JSON'
{
  "workbench.startupEditor": "none",
  "chat.disableAIFeatures": true,
  "telemetry.telemetryLevel": "off",
  "extensions.autoUpdate": false,
  "update.mode": "none",
  "workbench.tips.enabled": false,
  "security.workspace.trust.startupPrompt": "never",
  "security.workspace.trust.banner": "never",
  "files.autoSave": "off",
  "editor.autoClosingBrackets": "never",
  "editor.autoIndent": "none",
  "git.openRepositoryInParentFolders": "never",
  "workbench.secondarySideBar.defaultVisibility": "hidden"
}
JSON
    echo '{}' >"$data/Machine/settings.json"
    local port
    port="$(free_port)"
    printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$port" >"$home/config.yaml"
    local env_vars=(XDG_CONFIG_HOME="$home/xdg-config" XDG_DATA_HOME="$home/xdg-data")
    env "${env_vars[@]}" "$CODE_SERVER" --config "$home/config.yaml" --user-data-dir "$data" \
        --extensions-dir "$home/extensions" --install-extension "$VSIX" >"$home/install-extension.log" 2>&1 ||
        { failed=$((failed + 1)); echo "FAIL $phase: installing the .vsix (see $home/install-extension.log)"; return; }
    local trust_flag=(--disable-workspace-trust)
    [[ "$phase" == restricted ]] && trust_flag=()
    setsid env "${env_vars[@]}" "$CODE_SERVER" --config "$home/config.yaml" --user-data-dir "$data" \
        --extensions-dir "$home/extensions" --disable-telemetry --disable-update-check \
        "${trust_flag[@]}" "$workspace" >"$home/code-server.log" 2>&1 &
    local pid=$!
    local ready=0
    for _ in $(seq 1 120); do
        if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ready=1; break; fi
        sleep 0.5
    done
    if [[ "$ready" == 1 ]]; then
        VSCODE_URL="http://127.0.0.1:$port" WORKSPACE="$workspace" SHOTS="$OUT/screenshots" PHASE="$phase" \
            USER_DATA_DIR="$data" EXTENSIONS_DIR="$home/extensions" PLAYWRIGHT_DIR="$TOOLS" node "$HERE/drive.mjs" | tee "$home/driver.log" || true
        count "$home/driver.log" "$phase"
    else
        failed=$((failed + 1))
        echo "FAIL $phase: code-server did not answer /healthz (see $home/code-server.log)"
    fi
    # SIGTERM to code-server first (it shuts the extension host and the server down), then
    # to its whole group; then check that no planai-lsp of this phase survived.
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -TERM -- "-$pid" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$pid" 2>/dev/null || true
    local left
    left="$(pgrep -f "$home/extensions/.*/bin/planai-lsp" || true)"
    if [[ -z "$left" ]]; then
        passed=$((passed + 1))
        echo "PASS $phase: no planai-lsp left after code-server stopped"
    else
        failed=$((failed + 1))
        echo "FAIL $phase: planai-lsp still running after code-server stopped: $left"
        kill -KILL $left 2>/dev/null || true
    fi
}

run_phase trusted
run_phase restricted

echo "screenshots: $OUT/screenshots"
echo "$passed passed, $failed failed"
((failed == 0))
