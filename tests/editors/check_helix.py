#!/usr/bin/env python3
"""Checks editors/helix/languages.toml (and the TOML blocks in its README) without Helix.

Helix is not packaged for this machine (no Debian package, nothing usable on crates.io), so
the snippet is parsed with tomllib and checked for the structure Helix and planai-lsp need.
Prints one PASS/FAIL line per check and a final "N passed, M failed" line; exits 1 on failure.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SNIPPET = REPO / "editors" / "helix" / "languages.toml"
README = REPO / "editors" / "helix" / "README.md"

# Servers Helix defines itself (helix-editor/helix languages.toml), which a user's python entry
# may name without defining them.
HELIX_BUILTIN_PYTHON_SERVERS = {"ty", "ruff", "jedi", "pylsp", "zuban", "pyright", "basedpyright", "pyrefly"}
VALIDATION_RUN = {"onSave", "onType", "off"}
LOG_LEVELS = {"error", "warn", "info", "debug", "trace"}
# The feature names Helix accepts in only-features / except-features (its book: languages.md).
HELIX_FEATURES = {
    "format", "goto-definition", "goto-declaration", "goto-type-definition", "goto-reference",
    "goto-implementation", "signature-help", "hover", "document-highlight", "completion",
    "code-action", "workspace-command", "document-symbols", "workspace-symbols", "diagnostics",
    "rename-symbol", "inlay-hints", "document-colors",
}

results: list[tuple[bool, str, str]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    results.append((bool(ok), name, detail))
    print(f"{'PASS' if ok else 'FAIL'} helix: {name}{': ' + detail if detail and not ok else ''}")


def check_snippet(data: dict) -> None:
    servers = data.get("language-server", {})
    planai = servers.get("planai", {})
    check("[language-server.planai] exists", isinstance(planai, dict) and bool(planai))
    check('command = "planai-lsp"', planai.get("command") == "planai-lsp", repr(planai.get("command")))
    args = planai.get("args", [])
    check("args (if any) keep stdio mode", args in ([], ["serve"]), repr(args))

    config = planai.get("config", {})
    section = config.get("planai", {}) if isinstance(config, dict) else {}
    check("config.planai is a table", isinstance(section, dict) and bool(section))
    validation = section.get("validation", {})
    check("config.planai.validation.run is valid", validation.get("run") in VALIDATION_RUN, repr(validation.get("run")))
    debounce = validation.get("debounceMs", 300)
    check("config.planai.validation.debounceMs is a non-negative integer", isinstance(debounce, int) and debounce >= 0, repr(debounce))
    check("config.planai.logLevel is valid", section.get("logLevel", "info") in LOG_LEVELS, repr(section.get("logLevel")))
    python = section.get("python")
    check(
        "config.planai.python (if set) is a path or argv list",
        python is None or (isinstance(python, str) and python) or (isinstance(python, list) and python and all(isinstance(p, str) for p in python)),
        repr(python),
    )
    unknown = set(section) - {"python", "validation", "logLevel", "run"}
    check("config.planai has only known keys", not unknown, ", ".join(sorted(unknown)))
    untrusted = config.get("untrustedWorkspace", False)
    check("config.untrustedWorkspace (if set) is a boolean", isinstance(untrusted, bool), repr(untrusted))

    languages = data.get("language", [])
    python_entries = [lang for lang in languages if lang.get("name") == "python"]
    check('one [[language]] name = "python" entry', len(python_entries) == 1, str(len(python_entries)))
    if not python_entries:
        return
    entry = python_entries[0]
    names = [s if isinstance(s, str) else s.get("name") for s in entry.get("language-servers", [])]
    check("python language-servers starts with planai", names[:1] == ["planai"], repr(names))
    check(
        "python language-servers keeps usual Python servers",
        any(n in HELIX_BUILTIN_PYTHON_SERVERS for n in names[1:]),
        repr(names),
    )
    for server in entry.get("language-servers", []):
        if isinstance(server, dict):
            features = server.get("only-features", []) + server.get("except-features", [])
            check(
                f"{server.get('name')}: only-/except-features name Helix features",
                set(features) <= HELIX_FEATURES and not ("only-features" in server and "except-features" in server),
                repr(features),
            )
    undefined = [n for n in names if n not in servers and n not in HELIX_BUILTIN_PYTHON_SERVERS]
    check("every named server is defined here or built into Helix", not undefined, repr(undefined))
    roots = entry.get("roots", [])
    check("python roots include pyproject.toml and planai.toml", {"pyproject.toml", "planai.toml"} <= set(roots), repr(roots))


def main() -> int:
    try:
        data = tomllib.loads(SNIPPET.read_text(encoding="utf-8"))
        check("languages.toml parses", True)
    except (OSError, tomllib.TOMLDecodeError) as error:
        check("languages.toml parses", False, str(error))
        data = None
    if data is not None:
        check_snippet(data)

    if README.exists():
        blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
        check("README has TOML examples", bool(blocks))
        for index, block in enumerate(blocks, 1):
            try:
                tomllib.loads(block)
                check(f"README TOML block {index} parses", True)
            except tomllib.TOMLDecodeError as error:
                check(f"README TOML block {index} parses", False, str(error))
    else:
        check("README.md exists", False)

    passed = sum(ok for ok, _, _ in results)
    failed = len(results) - passed
    print(f"helix: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
