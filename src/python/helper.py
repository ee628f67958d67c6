"""planai-lsp warm helper (protocol v1, see docs/helper-protocol.md).

Runs inside the user's interpreter as `python -I -B -u helper.py`. It imports planai once (warm),
then serves newline-delimited JSON requests on stdin/stdout. Every request that runs user code is
handled in a forked child (one per request) so each request starts from the clean warm state and can
be killed on timeout. Where os.fork is unavailable, each request runs in a fresh
`python helper.py --one-shot` process instead.

Stdlib only (plus planai / pydantic / llm_interface when present); Python 3.10-3.14.
Invariants: the parent never starts threads (fork safety) and never runs user code.
"""

import ast
import builtins
import importlib
import json
import linecache
import os
import platform
import re
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback
import types
import typing
import warnings

PROTOCOL = 1
DEFAULT_TIMEOUT_MS = 10000
MAX_CAPTURE = 64 * 1024
MAX_TRACEBACK = 16 * 1024
MAX_LOG_RECORDS = 50
MAX_FILE_BYTES = 256 * 1024 * 1024  # RLIMIT_FSIZE in children

# The filename our own code objects carry ("<string>" when run with -c); frames from it are hidden.
HELPER_FILE = sys._getframe().f_code.co_filename

METHODS_NEEDING_PLANAI = {"validate", "introspect_tasks", "validate_tool", "validate_task_data", "list_models"}

STATE = {
    "planai": None,  # planai module when importable
    "import_error": None,
    "stub_llm_class": None,
    "parent_tmp": None,
    "proto_fd": 1,
    "rebind_sites": {},
    "ppid": None,  # the server's pid (a change means it died and we were reparented)
}


def log(msg):
    try:
        os.write(2, ("[planai-lsp helper] %s\n" % msg).encode("utf-8", "replace"))
    except OSError:
        pass


def _json_default(obj):
    try:
        return repr(obj)
    except Exception:
        return "<unrepresentable>"


def encode_message(obj):
    # ensure_ascii=False + 'replace' keeps the output valid UTF-8 even with lone surrogates
    # (serde_json rejects escaped lone surrogates).
    try:
        text = json.dumps(obj, default=_json_default, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError):
        text = json.dumps(_sanitize(obj), default=_json_default, ensure_ascii=False)
    return (text + "\n").encode("utf-8", "replace")


def _sanitize(obj):
    if isinstance(obj, float):
        if obj != obj or obj in (float("inf"), float("-inf")):
            return repr(obj)
        return obj
    if isinstance(obj, dict):
        return {str(k): _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return _json_default(obj)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            time.sleep(0.001)
            continue
        view = view[n:]


def send(obj):
    write_all(STATE["proto_fd"], encode_message(obj))


# ---------------------------------------------------------------------------------------------
# Startup: warm import
# ---------------------------------------------------------------------------------------------

def warm_import():
    """Import planai from an empty scratch cwd (no ./logs, no ./.env.local in the user's tree)."""
    tmp = tempfile.mkdtemp(prefix="planai-lsp-helper-")
    STATE["parent_tmp"] = tmp
    os.chdir(tmp)
    info = {"planai": None, "pydantic": None, "llm_interface": None, "import_error": None}
    t0 = time.perf_counter()
    try:
        import pydantic  # noqa: F401
        info["pydantic"] = getattr(pydantic, "VERSION", None) or getattr(pydantic, "__version__", None)
    except (KeyboardInterrupt, Terminate):
        raise
    except BaseException as e:  # noqa: BLE001 - report, keep serving
        info["import_error"] = "%s: %s" % (type(e).__name__, e)
    try:
        import planai
        import planai.utils  # noqa: F401
        try:
            import planai.testing  # noqa: F401
        except Exception:
            pass
        import llm_interface
        try:
            import llm_interface.llm_config  # noqa: F401
            import llm_interface.llm_tool  # noqa: F401
            import llm_interface.testing  # noqa: F401
        except Exception:
            pass
        info["llm_interface"] = getattr(llm_interface, "__version__", None)
        real = getattr(sys.modules.get("llm_interface.llm_config"), "llm_from_config", None)
        _REAL_LLM_FROM_CONFIG[:] = [real or llm_interface.llm_from_config]
        info["planai"] = getattr(planai, "__version__", None) or "unknown"
        STATE["planai"] = planai
        llm_fns = set()
        for modname in ("planai", "llm_interface", "llm_interface.llm_config"):
            fn = getattr(sys.modules.get(modname), "llm_from_config", None)
            if fn is not None:
                llm_fns.add(fn)
        STATE["rebind_sites"] = {
            "llm_from_config": find_rebind_sites("llm_from_config", llm_fns),
            "setup_logging": find_rebind_sites("setup_logging", [planai.utils.setup_logging]),
        }
        try:
            STATE["stub_llm_class"] = _build_stub_llm_class()
        except Exception as e:  # noqa: BLE001
            log("could not build the stub LLM class: %s: %s" % (type(e).__name__, e))
    except (KeyboardInterrupt, Terminate):
        raise
    except BaseException as e:  # noqa: BLE001
        info["import_error"] = "%s: %s" % (type(e).__name__, e)
        STATE["import_error"] = info["import_error"]
    info["import_seconds"] = round(time.perf_counter() - t0, 3)
    # Children inherit the heap copy-on-write; a GC pass in a child would touch every object header
    # and copy most of the ~150 MB. Collect once, then move everything to the permanent generation.
    try:
        import gc
        gc.collect()
        gc.freeze()
    except Exception:
        pass
    try:
        import threading
        if threading.active_count() > 1:
            log("warning: %d threads alive after importing planai; forking may be unsafe"
                % threading.active_count())
    except Exception:
        pass
    return info


# ---------------------------------------------------------------------------------------------
# Stub LLM (child side; class built in the parent so children need not rebuild it)
# ---------------------------------------------------------------------------------------------

def _synth_value(ann, depth):
    import enum
    if depth > 6:
        return None
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if ann is typing.Any or ann is None or ann is type(None):
        return None
    if origin is typing.Literal:
        return args[0] if args else None
    if origin is getattr(typing, "Annotated", object()) or (args and origin is None and hasattr(ann, "__metadata__")):
        return _synth_value(args[0], depth)
    union_types = (typing.Union,) + ((types.UnionType,) if hasattr(types, "UnionType") else ())
    if origin in union_types:
        if type(None) in args:
            return None
        return _synth_value(args[0], depth) if args else None
    if ann is str:
        return "mock"
    if ann is bool:
        return False
    if ann is int:
        return 0
    if ann is float:
        return 0.0
    if ann is bytes:
        return b""
    if origin in (list, set, frozenset, tuple) or ann in (list, set, frozenset, tuple):
        return []
    if origin is dict or ann is dict:
        return {}
    try:
        import collections.abc as cabc
        if origin in (cabc.Sequence, cabc.MutableSequence, cabc.Set, cabc.Iterable):
            return []
        if origin in (cabc.Mapping, cabc.MutableMapping):
            return {}
    except Exception:
        pass
    if isinstance(ann, type):
        if issubclass(ann, enum.Enum):
            members = list(ann)
            return members[0] if members else None
        try:
            from pydantic import BaseModel
            if issubclass(ann, BaseModel):
                return _synth_model(ann, depth + 1)
        except ImportError:
            pass
    return None


def _synth_model(model, depth=0):
    data = {}
    for name, field in model.model_fields.items():
        if field.is_required():
            data[field.alias or name] = _synth_value(field.annotation, depth)
    try:
        return model.model_validate(data)
    except Exception:
        return model.model_construct(**data)


def _build_stub_llm_class():
    from llm_interface.testing.mock_llm import MockLLM
    from llm_interface.llm_interface import LLMInterface, NoCache

    class _NullClient(object):
        """Stands in for the Ollama client MockLLM would build (its httpx SSL context costs ~45 ms)."""

        def list(self):
            return []

    class PlanaiLspStubLLM(MockLLM):
        """MockLLM whose answers are synthesised from the requested response schema."""

        def __init__(self, *args, **kwargs):
            LLMInterface.__init__(self, model_name="mock", client=_NullClient(), support_structured_outputs=True,
                                  use_cache=False)
            self.responses = []
            self.disk_cache = NoCache()
            self.model_name = kwargs.get("model_name") or (args[1] if len(args) > 1 else "mock")
            self.provider = kwargs.get("provider") or (args[0] if args else "mock")

        def _cached_chat(self, messages, tools=None, temperature=None, response_schema=None,
                         token_usage=None, allow_json_mode=True, **kwargs):
            if response_schema is None:
                return "mock response"
            instance = _synth_model(response_schema)
            if self.support_structured_outputs and allow_json_mode:
                return instance
            return instance.model_dump_json()

        def list(self):
            return []

    return PlanaiLspStubLLM


# ---------------------------------------------------------------------------------------------
# Child-side execution context
# ---------------------------------------------------------------------------------------------

class StopValidation(BaseException):
    """Raised by the patched Graph.run/prepare/execute to stop the user's script."""


class Session(object):
    def __init__(self, path=None, source=None, roots=()):
        self.path = path
        self.source = source
        self.source_lines = split_lines(source) if source is not None else None
        self.roots = [os.path.abspath(r) for r in roots if r]
        self.warnings = []
        self.warning_keys = set()
        self.log_records = []
        self.graphs = []  # graphs constructed, in order
        self.run_graph = None  # (graph, initial_tasks) captured by the patched run
        # validate's `run_graphs` (fixture verification only): let graphs really run, with the
        # same patches otherwise, and report exceptions logged by worker threads in full.
        self.run_graphs = False
        self.module_name = None
        self.ast_tree = None

    # -- files -------------------------------------------------------------------------------
    def is_user_file(self, filename):
        if not filename or filename == HELPER_FILE:
            return False
        if self.path is not None and filename == self.path:
            return True
        if filename.startswith("<"):
            return False
        absf = os.path.abspath(filename)
        parts = absf.replace("\\", "/").split("/")
        if "site-packages" in parts or "dist-packages" in parts:
            return False
        for root in self.roots:
            if absf == root or absf.startswith(root.rstrip(os.sep) + os.sep):
                return True
        return False

    def line_text(self, filename, lineno):
        if not lineno:
            return ""
        if self.path is not None and filename == self.path and self.source_lines is not None:
            if 1 <= lineno <= len(self.source_lines):
                return self.source_lines[lineno - 1]
            return ""
        return linecache.getline(filename, lineno).rstrip("\r\n")


def split_lines(source):
    return re.split(r"\r\n|\r|\n", source)


def byte_col_to_cp(text, colno):
    if colno is None or colno < 0:
        return None
    raw = text.encode("utf-8", "surrogatepass")
    return len(raw[:colno].decode("utf-8", "ignore"))


def first_non_space(text):
    return len(text) - len(text.lstrip())


def setup_child_environment(session, strip_keys=True, patch=True):
    """Patches and hooks installed in the forked child before user code runs."""
    sys.dont_write_bytecode = True
    os.environ["PLANAI_LSP_VALIDATING"] = "1"
    if strip_keys:
        for key in list(os.environ):
            if key.upper().endswith("_API_KEY"):
                del os.environ[key]
    # warnings
    warnings.resetwarnings()
    warnings.simplefilter("always")

    def showwarning(message, category, filename, lineno, file=None, line=None):
        try:
            check = identify_warning(category, sys._getframe(1))
            record_warning(session, message, category, filename, lineno, traceback.extract_stack()[:-1],
                           check)
        except Exception:
            pass

    warnings.showwarning = showwarning
    # logging: our handler on root, before user code runs (so basicConfig() becomes a no-op)
    import logging

    class CaptureHandler(logging.Handler):
        def emit(self, record):
            if len(session.log_records) >= MAX_LOG_RECORDS:
                return
            try:
                msg = record.getMessage()
            except Exception:
                msg = str(record.msg)
            entry = {"level": record.levelname, "logger": record.name, "message": msg[:4000]}
            if record.exc_info and record.exc_info[1] is not None:
                entry["exception"] = "%s: %s" % (type(record.exc_info[1]).__name__, record.exc_info[1])
                if session.run_graphs:
                    try:
                        entry["problem"] = exception_problem(session, record.exc_info[1], kind="execute")
                    except Exception:
                        pass
            session.log_records.append(entry)

    root = logging.getLogger()
    root.handlers = [CaptureHandler(level=logging.WARNING)]
    if patch and STATE["planai"] is not None:
        patch_planai(session)


def find_rebind_sites(attr, originals):
    """Modules (loaded now) that bind `attr` to one of `originals` (covers `from x import attr`).
    Computed once in the parent: scanning ~5000 modules costs ~10 ms, too much per request."""
    sites = []
    for mod in list(sys.modules.values()):
        try:
            d = mod.__dict__ if isinstance(mod, types.ModuleType) else None
            if d is not None and any(d.get(attr) is o for o in originals):
                sites.append(mod)
        except Exception:
            pass
    return sites


def _replace_everywhere(attr, original, replacement):
    for mod in STATE["rebind_sites"].get(attr, []):
        try:
            if mod.__dict__.get(attr) is original:
                setattr(mod, attr, replacement)
        except Exception:
            pass


def patch_planai(session):
    planai = STATE["planai"]
    # llm_from_config -> stub LLM (no key, no network)
    stub_cls = STATE["stub_llm_class"]
    if stub_cls is not None:
        originals = set()
        for modname in ("planai", "llm_interface", "llm_interface.llm_config"):
            mod = sys.modules.get(modname)
            fn = getattr(mod, "llm_from_config", None) if mod is not None else None
            if fn is not None:
                originals.add(fn)

        def llm_from_config(*args, **kwargs):
            return stub_cls(*args, **kwargs)

        for fn in originals:
            _replace_everywhere("llm_from_config", fn, llm_from_config)
    # setup_logging -> no-op (it would remove our root handler)
    try:
        import logging
        import planai.utils as putils
        orig_setup = putils.setup_logging

        def setup_logging(logs_dir="logs", logs_prefix="general_log", logger_name=None, level=logging.INFO, *a, **k):
            return logging.getLogger(logger_name)

        _replace_everywhere("setup_logging", orig_setup, setup_logging)
    except Exception:
        pass
    # Graph: record constructions; run/prepare/execute capture and stop the script.
    Graph = planai.Graph
    orig_init = Graph.__init__

    def graph_init(self, *args, **kwargs):
        orig_init(self, *args, **kwargs)
        session.graphs.append(self)

    def capture(self, initial_tasks):
        initial_tasks = list(initial_tasks or [])
        session.run_graph = (self, initial_tasks)
        try:
            emulate_execute_checks(self, initial_tasks)
        except BaseException as e:
            if not isinstance(e, StopValidation):
                try:
                    e.__planai_lsp_kind__ = "execute"
                except Exception:
                    pass
            raise
        raise StopValidation()

    orig_prepare, orig_execute = Graph.prepare, Graph.execute

    def prepare_quietly(graph):
        orig_prepare(graph, run_dashboard=False, display_terminal=False)

    def run(self, initial_tasks=None, *args, **kwargs):
        if session.run_graphs:
            session.run_graph = (self, list(initial_tasks or []))
            prepare_quietly(self)
            orig_execute(self, initial_tasks)
            return
        capture(self, initial_tasks)

    def prepare(self, *args, **kwargs):
        if session.run_graphs:
            prepare_quietly(self)
            return
        capture(self, [])

    def execute(self, initial_tasks=None, *args, **kwargs):
        if session.run_graphs:
            session.run_graph = (self, list(initial_tasks or []))
            if getattr(self, "_dispatcher", None) is None:
                prepare_quietly(self)
            orig_execute(self, initial_tasks)
            return
        capture(self, initial_tasks)

    Graph.__init__ = graph_init
    Graph.run = run
    Graph.prepare = prepare
    Graph.execute = execute


def emulate_execute_checks(graph, initial_tasks):
    """What Graph.execute checks before any thread runs, minus the threads."""
    graph.set_entry(*[x[0] for x in initial_tasks])  # same expression as Graph.execute (same errors)
    graph.finalize()
    for worker in list(graph.workers):
        post = getattr(worker, "_validate_post_register", None)
        if callable(post):
            post()
    for worker, task in initial_tasks:
        success, error = worker.validate_task(type(task), worker)
        if not success:
            raise error
        # Graph._add_work does `[prov] + task._provenance` and `task.prefix(1)`; check both on a copy.
        probe = task.model_copy()
        probe._provenance = [("InitialTaskWorker", 1)] + list(task._provenance) \
            if isinstance(task._provenance, list) else [("InitialTaskWorker", 1)] + task._provenance
        probe.prefix(1)


def identify_warning(category, frame):
    """Which PlanAI check a warning is (see `identify_check`), from the function that warned:
    pydantic's field collection (CD4, a field shadowing a parent's attribute) or its protected
    namespace check (CD5), with their locals. `frame` is a frame of the warnings machinery."""
    try:
        if not issubclass(category, UserWarning):
            return None
        while frame is not None and (frame.f_code.co_filename == HELPER_FILE
                                     or frame.f_code.co_filename == warnings.__file__):
            frame = frame.f_back
        if frame is None or os.sep + "pydantic" + os.sep not in frame.f_code.co_filename:
            return None
        loc = frame.f_locals
        if frame.f_code.co_name == "_check_protected_namespaces":
            return {"code": "CD5", "class": loc["cls_name"], "field": loc["ann_name"]}
        if frame.f_code.co_name == "collect_model_fields" and isinstance(loc.get("cls"), type):
            return {"code": "CD4", "class": loc["cls"].__name__, "field": loc["ann_name"]}
    except Exception:
        pass
    return None


def record_warning(session, message, category, filename, lineno, stack, check=None):
    text = str(message)
    cat = getattr(category, "__name__", str(category))
    if not session.is_user_file(filename):
        if issubclass(category, (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)):
            return
    path, line, col, end_line, end_col = None, None, None, None, None
    if session.is_user_file(filename):
        path, line = filename, lineno
        text_line = session.line_text(filename, lineno)
        for fs in reversed(stack):
            if fs.filename == filename and fs.lineno == lineno and getattr(fs, "colno", None) is not None:
                col = byte_col_to_cp(text_line, fs.colno)
                if getattr(fs, "end_lineno", None) == lineno and fs.end_colno is not None:
                    end_line, end_col = lineno, byte_col_to_cp(text_line, fs.end_colno)
                break
        if col is None:
            col = first_non_space(text_line)
        if end_line is None:
            end_line, end_col = lineno, max(col, len(text_line.rstrip()))
    else:
        for fs in reversed(stack):
            if session.is_user_file(fs.filename):
                path, line, col, end_line, end_col = frame_position(session, fs)
                break
    if path is None:
        if session.path is None:
            return
        path, line, col = session.path, 1, 0
    key = (path, line, cat, text)
    if key in session.warning_keys:
        return
    session.warning_keys.add(key)
    problem = {
        "path": path, "line": line, "column": col or 0, "end_line": end_line, "end_column": end_col,
        "severity": "warning", "kind": "warning", "exception": cat, "message": text, "traceback": "",
    }
    if check is not None:
        problem["check"] = check
    session.warnings.append(problem)


def frame_position(session, fs):
    text = session.line_text(fs.filename, fs.lineno)
    colno = getattr(fs, "colno", None)
    col = byte_col_to_cp(text, colno) if colno is not None else first_non_space(text)
    end_line = getattr(fs, "end_lineno", None)
    end_colno = getattr(fs, "end_colno", None)
    end_col = None
    if end_line is not None and end_colno is not None and colno is not None:
        end_text = text if end_line == fs.lineno else session.line_text(fs.filename, end_line)
        end_col = byte_col_to_cp(end_text, end_colno)
    else:
        end_line = None
    return fs.filename, fs.lineno or 1, col or 0, end_line, end_col


def format_traceback(exc):
    try:
        te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        te.stack = traceback.StackSummary.from_list([f for f in te.stack if f.filename != HELPER_FILE])
        text = "".join(te.format())
    except Exception:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if len(text) > MAX_TRACEBACK:
        text = text[:2000] + "\n...\n" + text[-(MAX_TRACEBACK - 2100):]
    return text


def syntax_problem(session, exc):
    path = exc.filename or session.path
    line = exc.lineno or 1
    offset = exc.offset
    col = max(0, (offset or 1) - 1)
    end_line = getattr(exc, "end_lineno", None)
    end_offset = getattr(exc, "end_offset", None)
    if end_line is None or end_offset is None or end_offset <= 0 or end_line < line \
            or (end_line == line and end_offset - 1 < col):
        text = session.line_text(path, line) if path else ""
        end_line = line
        end_col = col + 1 if col < len(text) else col
    else:
        end_col = end_offset - 1
    return {
        "path": path, "line": line, "column": col, "end_line": end_line, "end_column": end_col,
        "severity": "error", "kind": "syntax", "exception": type(exc).__name__,
        "message": exc.msg if getattr(exc, "msg", None) else str(exc),
        "traceback": format_traceback(exc),
    }


def _is_class_body(code):
    CO_NEWLOCALS = 0x0002
    return code.co_name != "<module>" and not (code.co_flags & CO_NEWLOCALS)


def exception_problem(session, exc, kind=None):
    if isinstance(exc, SyntaxError) and kind is None:
        return syntax_problem(session, exc)
    tb = exc.__traceback__
    raw_frames = []
    while tb is not None:
        raw_frames.append(tb.tb_frame)
        tb = tb.tb_next
    summary = traceback.extract_tb(exc.__traceback__)
    user_idx = None
    for i in range(len(summary) - 1, -1, -1):
        if session.is_user_file(summary[i].filename):
            user_idx = i
            break
    if user_idx is not None:
        path, line, col, end_line, end_col = frame_position(session, summary[user_idx])
    else:
        path, line, col, end_line, end_col = session.path, 1, 0, None, None
    if kind is None:
        kind = getattr(exc, "__planai_lsp_kind__", None)
    if kind is None:
        kind = classify_exception(session, exc, summary, raw_frames, user_idx)
    if kind == "class_definition" and end_line is not None and end_line != line:
        # a class statement's position spans the whole body: keep the header line only
        text = session.line_text(path, line)
        end_line, end_col = line, len(text.rstrip())
    problem = {
        "path": path, "line": line, "column": col or 0, "end_line": end_line, "end_column": end_col,
        "severity": "error", "kind": kind, "exception": type(exc).__name__,
        "message": str(exc), "traceback": format_traceback(exc),
    }
    check = identify_check(exc, raw_frames)
    if check is not None:
        problem["check"] = check
    # Where the failure surfaced in the validated file, when the deepest user frame is elsewhere.
    if session.path is not None and path != session.path:
        for i in range(len(summary) - 1, -1, -1):
            if summary[i].filename == session.path:
                _, l2, c2, el2, ec2 = frame_position(session, summary[i])
                problem["origin"] = {"line": l2, "column": c2 or 0, "end_line": el2, "end_column": ec2}
                break
    return problem


def identify_check(exc, raw_frames):
    """Which PlanAI check (docs/diagnostics.md) a build-time exception is, and what it is about,
    from the exception's type and the frame that raised it (its function and locals), never
    from the message: {"code": "GC7", "upstream": "A", "downstream": "B"}, {"code": "CD2",
    "class": "A", "field": "x"} or {"code": "GC1", "class": "A"}. Subjects are class names,
    as the static checks name them. None when the exception is not recognised."""
    try:
        return _identify_check(exc, raw_frames)
    except Exception:
        return None


def _class_name(value):
    return value.__name__ if isinstance(value, type) else type(value).__name__


def _identify_check(exc, raw_frames):
    if _pydantic_user_error(exc):
        # Raised by pydantic's collect_model_fields for the field `var_name` of `cls`.
        loc = raw_frames[-1].f_locals if raw_frames else {}
        field, cls = loc.get("var_name"), loc.get("cls")
        if not isinstance(field, str) or not isinstance(cls, type):
            return None
        code = getattr(exc, "code", None)
        if code == "model-field-overridden":
            which = "CD1"
        elif code == "model-field-missing-annotation":
            from pydantic.fields import FieldInfo
            which = "CD3" if isinstance(loc.get("value"), FieldInfo) else "CD2"
        else:
            return None
        return {"code": which, "class": cls.__name__, "field": field}
    if _pydantic_validation_error(exc):
        # A model's constructor: IN2 about the first missing required field, else IN3 about
        # the first field with a value pydantic rejects (pydantic's error locations).
        errors = exc.errors()
        missing = [error for error in errors if error.get("type") == "missing"]
        first = (missing or errors)[0]
        if not first.get("loc"):
            return None
        return {"code": "IN2" if missing else "IN3", "class": exc.title, "field": str(first["loc"][0])}
    missing = _missing_planai_name(exc, raw_frames)
    if missing is not None:
        return {"code": "IM1", "name": missing}
    if isinstance(exc, NameError) and raw_frames:
        forward = _forward_reference(exc, raw_frames[-1])
        if forward is not None:
            return forward
    if raw_frames and raw_frames[-1].f_code is emulate_execute_checks.__code__:
        # The patched Graph.run's own check: `worker.validate_task` refused an initial task.
        loc = raw_frames[-1].f_locals
        if loc.get("error") is exc and "worker" in loc:
            return {"code": "EX1", "class": _class_name(loc["worker"])}
        return None
    planai_dir = None
    if STATE["planai"] is not None:
        planai_dir = os.path.dirname(os.path.abspath(STATE["planai"].__file__)) + os.sep
    if planai_dir is None:
        return None
    # The innermost PlanAI function on the way to the exception (get_type_hints, issubclass and
    # the like may sit below it).
    frame = None
    for candidate in reversed(raw_frames):
        if os.path.abspath(candidate.f_code.co_filename).startswith(planai_dir):
            frame = candidate
            break
    if frame is None:
        return None
    function = frame.f_code.co_name
    module = os.path.basename(frame.f_code.co_filename)
    loc = frame.f_locals
    if isinstance(exc, TypeError) and function == "get_task_class":
        code = "GC6" if module == "joined_task.py" else "GC5"
        return {"code": code, "class": _class_name(loc["self"])}
    if isinstance(exc, ValueError):
        if function == "_set_dependency":
            upstream, downstream = _class_name(loc["upstream"]), _class_name(loc["downstream"])
            if "task_classes" in loc:
                code = "GC7" if not loc["task_classes"] else "GC8"
            else:
                code = "GC3" if upstream == "InitialTaskWorker" else "GC2"
            return {"code": code, "upstream": upstream, "downstream": downstream}
        if function == "add_worker":
            return {"code": "GC1", "class": _class_name(loc["worker"])}
        if function in ("next", "sink") and module == "task.py":
            return {"code": "GC4", "class": _class_name(loc["self"])}
        if function == "set_sink":
            return {"code": "GC11", "class": _class_name(loc["worker"])}
        if function == "set_exit":
            return {"code": "GC13", "class": _class_name(loc["worker"])}
        if function == "__init__" and module == "llm_task.py":
            return {"code": "IN5", "class": _class_name(loc["self"])}
        if function == "_validate_connection" and module == "joined_task.py":
            return {"code": "GC9", "class": _class_name(loc["self"])}
        if function == "_validate_post_register" and module == "merged_task.py":
            return {"code": "EX2", "class": _class_name(loc["self"])}
    if isinstance(exc, (ValueError, TypeError)) and function == "set_max_parallel_tasks":
        return {"code": "GC12", "class": _class_name(loc["worker_class"])}
    return None


def _forward_reference(exc, frame):
    """CD7: a class body whose `def consume_work` / `consume_work_joined` annotation names a class
    not defined yet. CPython (3.13 and older, without `from __future__ import annotations`)
    evaluates the annotation in the class body when the `def` runs, so the NameError is raised
    in the class body's frame, before the function's code object is loaded; the next code
    object the frame loads is the method's."""
    name = getattr(exc, "name", None)
    if not isinstance(name, str) or not _is_class_body(frame.f_code):
        return None
    import dis
    for instruction in dis.get_instructions(frame.f_code):
        if instruction.offset <= frame.f_lasti:
            continue
        if instruction.opname.startswith("STORE_"):
            return None  # the name was read by a statement of the class body, not an annotation
        if isinstance(instruction.argval, types.CodeType):
            if instruction.argval.co_name in ("consume_work", "consume_work_joined"):
                return {"code": "CD7", "class": frame.f_code.co_name, "name": name}
            return None
    return None


def _missing_planai_name(exc, raw_frames):
    """The dotted name an import or attribute error says planai lacks (IM1), from the
    exception's attributes: `planai.sub` for a missing submodule, `planai.X` for a missing
    member (`from planai import X`, whose X Python < 3.12 keeps only in the IMPORT_FROM
    instruction the raising frame stopped at) or attribute (`planai.X`)."""
    if isinstance(exc, ModuleNotFoundError):
        # Python names the first submodule it could not find.
        name = exc.name or ""
        return name if name.startswith("planai.") else None
    if isinstance(exc, ImportError):
        if exc.name != "planai":
            return None
        member = getattr(exc, "name_from", None)
        if member is None and raw_frames:
            import dis
            frame = raw_frames[-1]
            for instruction in dis.get_instructions(frame.f_code):
                if instruction.offset == frame.f_lasti and instruction.opname == "IMPORT_FROM":
                    member = instruction.argval
                    break
        return "planai." + member if member else None
    if isinstance(exc, AttributeError):
        obj = getattr(exc, "obj", None)
        if isinstance(obj, types.ModuleType) and obj.__name__ == "planai" and exc.name:
            return "planai." + exc.name
    return None


def _pydantic_user_error(exc):
    try:
        from pydantic.errors import PydanticUserError
        return isinstance(exc, PydanticUserError)
    except Exception:
        return False


def _pydantic_validation_error(exc):
    try:
        from pydantic import ValidationError
        return isinstance(exc, ValidationError)
    except Exception:
        return False


def classify_exception(session, exc, summary, raw_frames, user_idx):
    if _pydantic_user_error(exc):
        return "class_definition"
    if user_idx is not None:
        frame = raw_frames[user_idx] if user_idx < len(raw_frames) else None
        if frame is not None and _is_class_body(frame.f_code):
            return "class_definition"
        text = session.line_text(summary[user_idx].filename, summary[user_idx].lineno).lstrip()
        if re.match(r"class\s", text):
            return "class_definition"
        callee = summary[user_idx + 1:]
    else:
        callee = summary
    planai_dir = None
    if STATE["planai"] is not None:
        planai_dir = os.path.dirname(os.path.abspath(STATE["planai"].__file__)) + os.sep
    for fs in callee:
        fn = os.path.abspath(fs.filename)
        if planai_dir and fn.startswith(planai_dir):
            return "graph_construction"
        if "_model_construction" in fn and fs.name == "__new__":
            return "class_definition"
    if _pydantic_validation_error(exc):
        return "graph_construction"
    if isinstance(exc, TypeError) and str(exc).startswith("Can't instantiate abstract class"):
        return "graph_construction"
    return "import"


# ---------------------------------------------------------------------------------------------
# Module execution
# ---------------------------------------------------------------------------------------------

def setup_sys_path(roots, path=None):
    entries = []
    if path:
        entries.append(os.path.dirname(os.path.abspath(path)))
    for root in roots or []:
        if not root:
            continue
        entries.append(root)
        src = os.path.join(root, "src")
        if os.path.isdir(src):
            entries.append(src)
    new = []
    for e in entries:
        if e not in new:
            new.append(e)
    sys.path[:] = new + [p for p in sys.path if p not in new]


def exec_source(session, name, run_main, package=None, is_package=False):
    """Compile and execute session.source as module `name` (a package's `__init__` when
    `is_package`). Returns (module|None, problems, exit_code)."""
    problems = []
    source = session.source
    path = session.path
    linecache.cache[path] = (len(source), None, [l + "\n" for l in session.source_lines], path)
    try:
        session.ast_tree = ast.parse(source, path)
    except Exception:
        session.ast_tree = None
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        problems.append(syntax_problem(session, e))
        return None, problems, None
    except (ValueError, TypeError) as e:  # e.g. source code string cannot contain null bytes
        problems.append({"path": path, "line": 1, "column": 0, "end_line": None, "end_column": None,
                         "severity": "error", "kind": "syntax", "exception": type(e).__name__,
                         "message": str(e), "traceback": ""})
        return None, problems, None
    module = types.ModuleType(name)
    module.__file__ = path
    module.__builtins__ = builtins
    module.__spec__ = None
    module.__loader__ = None
    module.__package__ = package if package is not None else (name.rpartition(".")[0] if "." in name else None)
    if is_package:
        module.__path__ = [os.path.dirname(os.path.abspath(path))]
    sys.modules[name] = module
    session.module_name = name
    sys.argv = [path]
    exit_code = None
    try:
        exec(code, module.__dict__)
    except StopValidation:
        pass
    except SystemExit as e:
        exit_code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:  # noqa: BLE001 - user code may raise anything
        problems.append(exception_problem(session, e))
    return module, problems, exit_code


def import_module_by_name(session, dotted):
    problems = []
    module = None
    try:
        module = importlib.import_module(dotted)
    except StopValidation:
        module = sys.modules.get(dotted)
    except BaseException as e:  # noqa: BLE001
        problems.append(exception_problem(session, e))
    return module, problems


def load_target(session, params, default_name):
    """module (dotted) or path+source; returns (module, problems)."""
    setup_sys_path(params.get("roots") or [], params.get("path"))
    if params.get("module") and not params.get("path"):
        return import_module_by_name(session, params["module"])
    name = params.get("module_name") or params.get("module") or default_name
    module, problems, _ = exec_source(session, name, run_main=False)
    return module, problems


def class_location(session, cls):
    """(path, line) of a class definition."""
    modname = getattr(cls, "__module__", None)
    if session.module_name is not None and modname == session.module_name and session.ast_tree is not None:
        line = _ast_class_line(session.ast_tree, cls.__qualname__)
        return session.path, line
    mod = sys.modules.get(modname)
    path = getattr(mod, "__file__", None) if mod is not None else None
    line = getattr(cls, "__firstlineno__", None)
    if line is None:
        try:
            import inspect
            _, line = inspect.findsource(cls)
            line += 1
        except Exception:
            line = None
    return path, line


def _ast_class_line(tree, qualname):
    parts = qualname.split(".")

    def search(body, idx):
        for node in body:
            if isinstance(node, ast.ClassDef) and node.name == parts[idx]:
                if idx == len(parts) - 1:
                    return node.lineno
                found = search(node.body, idx + 1)
                if found:
                    return found
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and idx < len(parts) - 1 \
                    and parts[idx] == node.name and parts[idx + 1] == "<locals>":
                found = search(node.body, idx + 2)
                if found:
                    return found
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
                for sub in ("body", "orelse", "finalbody"):
                    found = search(getattr(node, sub, []) or [], idx)
                    if found:
                        return found
                for h in getattr(node, "handlers", []) or []:
                    found = search(h.body, idx)
                    if found:
                        return found
        return None

    try:
        return search(tree.body, 0)
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Graph description
# ---------------------------------------------------------------------------------------------

def _is_internal_worker(worker):
    cls = type(worker)
    return cls.__module__.startswith("planai") and cls.__name__ in ("InitialTaskWorker", "SinkWorker")


def _type_names(types_):
    out = []
    for t in types_ or []:
        out.append(getattr(t, "__name__", repr(t)))
    return out


def _wname(worker):
    try:
        name = worker.name
    except Exception:
        name = None
    return name if isinstance(name, str) else type(worker).__name__


def describe_graph(session, graph, initial_tasks, ran):
    deps = getattr(graph, "dependencies", {}) or {}
    order = list(deps.keys())
    for w in getattr(graph, "workers", []) or []:
        if w not in deps:
            order.append(w)
    workers, edges, sinks = [], [], []
    for w in order:
        if _is_internal_worker(w):
            continue
        cls = type(w)
        path, line = class_location(session, cls)
        entry = {"name": _wname(w), "class": cls.__name__, "module": cls.__module__, "line": line, "path": path}
        try:
            entry["input_types"] = _type_names(w.get_task_classes())
        except Exception:
            entry["input_types"] = None
        try:
            entry["output_types"] = _type_names(w.output_types)
        except Exception:
            entry["output_types"] = None
        workers.append(entry)
    initial = getattr(graph, "_initial_worker", None)
    for up, downs in deps.items():
        if up is initial:
            continue
        for d in downs:
            if type(d).__name__ == "SinkWorker" and _is_internal_worker(d):
                try:
                    sinks.append([_wname(up), _type_names(d.get_task_classes())[0]])
                except Exception:
                    sinks.append([_wname(up), "?"])
                continue
            edges.append([_wname(up), _wname(d)])
    entries = [_wname(w) for w in deps.get(initial, [])] if initial is not None else []
    return {
        "name": getattr(graph, "name", None),
        "workers": workers, "edges": edges, "entries": entries, "sinks": sinks,
        "initial_tasks": [[_wname(p[0]), type(p[1]).__name__] for p in initial_tasks
                          if isinstance(p, (tuple, list)) and len(p) == 2],
        "ran": ran,
    }


# ---------------------------------------------------------------------------------------------
# Method implementations (child side)
# ---------------------------------------------------------------------------------------------

def m_validate(params):
    t0 = time.perf_counter()
    session = Session(params["path"], params["source"], params.get("roots") or [])
    session.run_graphs = bool(params.get("run_graphs"))
    setup_child_environment(session)
    setup_sys_path(params.get("roots") or [], params["path"])
    run_main = params.get("run_main", True)
    module_name = params.get("module_name")
    if run_main:
        name = "__main__"
    else:
        name = module_name or "__planai_lsp_validate__"
    # A package's `__init__.py` is its package (`from .x import y` resolves inside it); any other
    # module's package is its dotted parent.
    is_package = os.path.basename(params["path"]) == "__init__.py"
    if module_name and is_package:
        package = module_name
    else:
        package = module_name.rpartition(".")[0] if module_name and "." in module_name else None
    module, problems, exit_code = exec_source(session, name, run_main, package=package,
                                              is_package=bool(module_name) and is_package and not run_main)
    graph = None
    try:
        if session.run_graph is not None:
            graph = describe_graph(session, session.run_graph[0], session.run_graph[1], True)
        elif session.graphs:
            graph = describe_graph(session, session.graphs[-1], [], False)
    except Exception as e:  # noqa: BLE001
        log("describe_graph failed: %s" % e)
    return {
        "problems": problems + session.warnings,
        "graph": graph,
        "logs": session.log_records,
        "exit_code": exit_code,
        "seconds": round(time.perf_counter() - t0, 4),
    }


def _fmt_annotation(ann):
    if ann is None or ann is type(None):
        return "None"
    if isinstance(ann, type) and not typing.get_args(ann) and not hasattr(ann, "__origin__"):
        return ann.__qualname__ if ann.__module__ != "builtins" else ann.__name__
    text = repr(ann)
    pieces = re.split(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", text)
    for i in range(0, len(pieces), 2):
        pieces[i] = re.sub(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*)", "", pieces[i])
        pieces[i] = re.sub(r"<class '([^']*)'>", r"\1", pieces[i])
    return "".join(pieces)


def _field_info(name, field):
    required = field.is_required()
    default = None
    if not required:
        try:
            if field.default_factory is not None:
                try:
                    default = repr(field.default_factory())
                except TypeError:
                    default = "%s()" % getattr(field.default_factory, "__name__", "factory")
            else:
                default = repr(field.default)
        except Exception:
            default = None
    return {
        "name": name, "annotation": _fmt_annotation(field.annotation), "required": required,
        "default": default, "description": field.description,
    }


def m_introspect_tasks(params):
    session = Session(params.get("path"), params.get("source"), params.get("roots") or [])
    if session.path and session.source is None:
        with open(session.path, "r", encoding="utf-8", errors="replace") as fh:
            session.source = fh.read()
        session.source_lines = split_lines(session.source)
    setup_child_environment(session)
    module, problems = load_target(session, params, "__planai_lsp_introspect__")
    tasks = []
    if module is not None:
        Task = STATE["planai"].Task
        seen = set()
        for attr, value in list(vars(module).items()):
            if not isinstance(value, type) or value is Task or id(value) in seen:
                continue
            try:
                if not issubclass(value, Task):
                    continue
            except TypeError:
                continue
            seen.add(id(value))
            path, line = class_location(session, value)
            doc = value.__dict__.get("__doc__")
            fields = []
            try:
                for fname, field in value.model_fields.items():
                    fields.append(_field_info(fname, field))
            except Exception:
                pass
            tasks.append({
                "name": value.__name__, "module": value.__module__, "qualname": value.__qualname__,
                "doc": doc if isinstance(doc, str) else None, "path": path, "line": line, "fields": fields,
            })
    return {"tasks": tasks, "problems": problems + [w for w in session.warnings]}


TOOL_WARN_MISSING = ("Tool description is missing: pass description=\"...\" to @tool(...) or add a "
                     "docstring to the function.")
TOOL_WARN_GENERIC = ("Tool description is generic (same as tool name). Add a detailed description or a "
                     "function docstring.")


def _find_def(tree, name):
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def _tool_decorator(defnode):
    """Returns ("bare"|"call", decorator node, explicit description or None) for an @tool decorator."""
    if defnode is None:
        return None, None, None
    for dec in defnode.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
        if name != "tool":
            continue
        if isinstance(dec, ast.Call):
            desc = None
            for kw in dec.keywords:
                if kw.arg == "description" and isinstance(kw.value, ast.Constant):
                    desc = kw.value.value
            if len(dec.args) >= 2 and isinstance(dec.args[1], ast.Constant):
                desc = dec.args[1].value
            return "call", dec, desc
        return "bare", dec, None
    return None, None, None


def _tool_problem(session, node, message, exc_name="ToolError", severity="error"):
    line = getattr(node, "lineno", 1) if node is not None else 1
    col = 0
    end_line = end_col = None
    if node is not None:
        text = session.line_text(session.path, line)
        col = byte_col_to_cp(text, node.col_offset)
        if getattr(node, "end_lineno", None) == line:
            end_line, end_col = line, byte_col_to_cp(text, node.end_col_offset)
        else:  # a def spans its body: keep the header line
            end_line, end_col = line, len(text.rstrip())
    return {"path": session.path, "line": line, "column": col, "end_line": end_line, "end_column": end_col,
            "severity": severity, "kind": "tool", "exception": exc_name, "message": message, "traceback": ""}


def m_validate_tool(params):
    session = Session(params["path"], params["source"], params.get("roots") or [])
    setup_child_environment(session)
    fname = params["function"]
    module, problems = load_target(session, params, "__planai_lsp_tool__")
    out = {"name": None, "description": None, "parameters": None, "warnings": [], "problems": problems,
           "line": None}
    defnode = _find_def(session.ast_tree, fname)
    if defnode is not None:
        out["line"] = defnode.lineno
    if module is None or problems:
        out["problems"] = problems + session.warnings
        return out
    from llm_interface.llm_tool import Tool, create_tool
    deco_kind, deco_node, explicit_desc = _tool_decorator(defnode)
    obj = module.__dict__.get(fname, None)
    if obj is None:
        out["problems"].append(_tool_problem(session, defnode, "Function '%s' not found in the module." % fname,
                                             "NameError"))
        out["problems"] += session.warnings
        return out
    is_bare_closure = callable(obj) and getattr(obj, "__qualname__", "").endswith("tool.<locals>.decorator")
    if deco_kind == "bare" or is_bare_closure:
        out["problems"].append(_tool_problem(
            session, deco_node or defnode,
            "`@tool` must be called: write `@tool()` (or `@tool(name=..., description=...)`). A bare `@tool` "
            "passes the function as the tool name and leaves '%s' a plain decorator function, so "
            "`tools=[%s]` fails." % (fname, fname), "TypeError"))
        out["problems"] += session.warnings
        return out
    try:
        if isinstance(obj, Tool):
            tool_obj = obj
            func = obj.func
        elif callable(obj):
            func = obj
            tool_obj = create_tool(obj)
        else:
            out["problems"].append(_tool_problem(
                session, defnode, "'%s' is not a function or a Tool (got %s)." % (fname, type(obj).__name__),
                "TypeError"))
            out["problems"] += session.warnings
            return out
    except BaseException as e:  # noqa: BLE001
        p = exception_problem(session, e, kind="tool")
        if (defnode is not None and p["path"] != session.path) or p["line"] == 1:
            tp = _tool_problem(session, defnode, "Could not build the tool: %s: %s" % (type(e).__name__, e),
                               type(e).__name__)
            tp["traceback"] = p["traceback"]
            p = tp
        out["problems"].append(p)
        out["problems"] += session.warnings
        return out
    out["name"] = tool_obj.name
    out["description"] = tool_obj.description
    out["parameters"] = tool_obj.parameters
    doc = getattr(func, "__doc__", None)
    desc = (tool_obj.description or "").strip()
    if not desc or (not explicit_desc and not (doc and doc.strip())):
        out["warnings"].append(TOOL_WARN_MISSING)
    elif desc == tool_obj.name or desc == getattr(func, "__name__", None):
        out["warnings"].append(TOOL_WARN_GENERIC)
    out["problems"] += session.warnings
    return out


def m_validate_task_data(params):
    session = Session(params.get("path"), params.get("source"), params.get("roots") or [])
    if session.path and session.source is None and not params.get("module"):
        with open(session.path, "r", encoding="utf-8", errors="replace") as fh:
            session.source = fh.read()
        session.source_lines = split_lines(session.source)
    setup_child_environment(session)
    module, problems = load_target(session, params, "__planai_lsp_task_data__")
    cls_name = params["class_name"]
    obj = module
    for part in cls_name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            break
    if obj is None and (module is None or problems):
        # The module failed before defining the class (a class defined before the failure is still used).
        return {"ok": False, "errors": [{"loc": [], "message": "Could not load the module: %s"
                                         % (problems[0]["message"] if problems else "unknown error"),
                                         "type": "module_error"}],
                "problems": problems}
    try:
        from pydantic import BaseModel, ValidationError
    except ImportError as e:
        return {"ok": False, "errors": [{"loc": [], "message": str(e), "type": "pydantic_missing"}]}
    if obj is None:
        return {"ok": False, "errors": [{"loc": [], "message": "Class '%s' not found." % cls_name,
                                         "type": "class_not_found"}]}
    if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
        return {"ok": False, "errors": [{"loc": [], "message": "'%s' is not a pydantic model." % cls_name,
                                         "type": "not_a_model"}]}
    try:
        obj.model_validate(params.get("data"))
    except ValidationError as e:
        errors = []
        for err in e.errors(include_url=False):
            errors.append({"loc": [x if isinstance(x, (int, str)) else str(x) for x in err.get("loc", ())],
                           "message": err.get("msg", ""), "type": err.get("type", "")})
        return {"ok": False, "errors": errors, "problems": problems}
    except BaseException as e:  # noqa: BLE001 - validators are user code
        return {"ok": False, "errors": [{"loc": [], "message": "%s: %s" % (type(e).__name__, e),
                                         "type": "exception"}], "problems": problems}
    return {"ok": True, "errors": [], "problems": problems}


def m_list_models(params):
    session = Session()
    # The real llm_from_config, keys kept (see the contract).
    setup_child_environment(session, strip_keys=False, patch=False)
    llm = _call_real_llm_from_config(params["provider"])
    resp = llm.list()
    models = []
    items = getattr(resp, "models", None)
    if items is None:
        items = resp.get("models", resp) if isinstance(resp, dict) else resp
    for item in items or []:
        if isinstance(item, str):
            models.append(item)
            continue
        for attr in ("model", "id", "name"):
            v = item.get(attr) if isinstance(item, dict) else getattr(item, attr, None)
            if isinstance(v, str):
                models.append(v)
                break
    return {"models": models}


_REAL_LLM_FROM_CONFIG = []


def _call_real_llm_from_config(provider):
    fn = _REAL_LLM_FROM_CONFIG[0] if _REAL_LLM_FROM_CONFIG else None
    if fn is None:
        import llm_interface
        fn = llm_interface.llm_from_config
    return fn(provider=provider, model_name="placeholder", use_cache=False)


CHILD_METHODS = {
    "validate": m_validate,
    "introspect_tasks": m_introspect_tasks,
    "validate_tool": m_validate_tool,
    "validate_task_data": m_validate_task_data,
    "list_models": m_list_models,
}

REQUIRED_PARAMS = {
    "validate": [("path", str), ("source", str)],
    "introspect_tasks": [],
    "validate_tool": [("path", str), ("source", str), ("function", str)],
    "validate_task_data": [("class_name", str)],
    "list_models": [("provider", str)],
}


def check_params(method, params):
    for key, typ in REQUIRED_PARAMS.get(method, []):
        if not isinstance(params.get(key), typ):
            return "params.%s must be a %s" % (key, typ.__name__)
    roots = params.get("roots", [])
    if roots is not None and (not isinstance(roots, list) or not all(isinstance(r, str) for r in roots)):
        return "params.roots must be a list of strings"
    if method == "introspect_tasks" and not (params.get("module") or params.get("path")):
        return "introspect_tasks needs params.module or params.path"
    if method == "validate_task_data" and not (params.get("module") or (params.get("path"))):
        return "validate_task_data needs params.module or params.path (+source)"
    for key in ("path", "source", "module", "module_name"):
        if key in params and params[key] is not None and not isinstance(params[key], str):
            return "params.%s must be a string" % key
    t = params.get("timeout_ms")
    if t is not None and (not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0):
        return "params.timeout_ms must be a positive number"
    return None


def read_capture(path):
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(0)
            data = fh.read(MAX_CAPTURE)
        text = data.decode("utf-8", "replace")
        if size > MAX_CAPTURE:
            text += "\n[... %d more bytes truncated]" % (size - MAX_CAPTURE)
        return text
    except OSError:
        return ""


def child_run(req, result_fd, workdir):
    """Runs one request in this (child) process; writes one JSON line to result_fd."""
    out_path = os.path.join(workdir, "stdout")
    err_path = os.path.join(workdir, "stderr")
    cwd = os.path.join(workdir, "cwd")
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        ofd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        efd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(ofd, 1)
        os.dup2(efd, 2)
        os.close(ofd)
        os.close(efd)
        os.chdir(cwd)
        try:  # a runaway print loop must not fill the disk before the timeout hits
            import resource
            limit = MAX_FILE_BYTES
            soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes fail with EFBIG instead
        except (ImportError, ValueError, OSError, AttributeError):
            pass
    except OSError as e:
        write_all(result_fd, encode_message({"id": req.get("id"), "error": {
            "kind": "internal", "message": "child setup failed: %s" % e}}))
        return
    method = req["method"]
    params = req.get("params") or {}
    try:
        result = CHILD_METHODS[method](params)
        response = {"id": req.get("id"), "result": result}
    except BaseException as e:  # noqa: BLE001
        kind = "internal"
        msg = "%s: %s" % (type(e).__name__, e) if method != "list_models" else str(e) or type(e).__name__
        response = {"id": req.get("id"), "error": {"kind": kind, "message": msg}}
        if method != "list_models":
            response["error"]["traceback"] = format_traceback(e)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if "result" in response and isinstance(response["result"], dict):
        if method in ("validate", "introspect_tasks", "validate_tool", "validate_task_data"):
            response["result"]["stdout"] = read_capture(out_path)
            response["result"]["stderr"] = read_capture(err_path)
    write_all(result_fd, encode_message(response))


# ---------------------------------------------------------------------------------------------
# Process containment (Linux): subreapers, parent-death signals, killing whole trees via /proc
# ---------------------------------------------------------------------------------------------
#
# Process groups are not enough: user code can call setsid() (`subprocess.Popen(...,
# start_new_session=True)`) or double-fork, and the children of a SIGKILLed helper used to run on
# under init. So, on Linux:
# - the helper is a child subreaper: orphans of anything below it are reparented to it, never
#   past it; each request child is a subreaper too, so a request's daemons stay in that request's
#   tree while its child lives;
# - every forked child gets PR_SET_PDEATHSIG(SIGKILL): it dies with the helper, even when the
#   helper is SIGKILLed;
# - kill_tree() stops a whole tree (a stopped process can neither fork nor reap), then kills it;
#   it walks /proc, not process groups;
# - a direct child of the helper that is neither a request child nor the spare is an orphan (a
#   leftover of a finished or killed request): it is killed and reaped by sweep_orphans();
# - the helper watches its parent: stdin EOF or a changed getppid() → kill everything, exit.
# Elsewhere (no /proc) children lead their own process groups and are killed by group.

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)

CONTAIN = {"libc": None, "proc": os.path.isdir("/proc/self/task"), "children_file": False,
           "subreaper": False}


def contain_init():
    """Makes the helper a child subreaper (Linux). Called once, before any fork."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            CONTAIN["libc"] = ctypes.CDLL(None, use_errno=True)
        except Exception as e:  # noqa: BLE001
            log("process containment: cannot load libc through ctypes (%s)" % e)
    if CONTAIN["proc"]:
        CONTAIN["children_file"] = os.path.exists("/proc/self/task/%d/children" % os.getpid())
    CONTAIN["subreaper"] = prctl(PR_SET_CHILD_SUBREAPER, 1)
    if CONTAIN["proc"] and not CONTAIN["subreaper"]:
        log("process containment: could not become a child subreaper")


def prctl(option, arg):
    libc = CONTAIN["libc"]
    if libc is None:
        return False
    try:
        return libc.prctl(option, arg, 0, 0, 0) == 0
    except Exception:  # noqa: BLE001
        return False


PF_EXITING = 0x4  # in /proc/<pid>/stat's flags: the process is tearing itself down


def proc_stat(pid):
    """(state, ppid) of `pid` from /proc/<pid>/stat, or None when it is gone. A process that is
    exiting (it can no longer fork) shows as state "X"."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    try:
        state = fields[0].decode("ascii", "replace")
        if int(fields[6]) & PF_EXITING and state not in ("Z", "X"):
            state = "X"
        return state, int(fields[1])
    except (IndexError, ValueError):
        return None


def proc_children(pids):
    """{pid: [direct children, zombies included]} for each of `pids`, from /proc."""
    if not CONTAIN["proc"]:
        return {pid: [] for pid in pids}
    if CONTAIN["children_file"]:
        out = {}
        for pid in pids:
            kids = out[pid] = []
            try:
                tids = os.listdir("/proc/%d/task" % pid)
            except OSError:
                continue
            for tid in tids:
                try:
                    with open("/proc/%d/task/%s/children" % (pid, tid), "rb") as fh:
                        kids.extend(int(x) for x in fh.read().split())
                except (OSError, ValueError):
                    pass
        return out
    by_parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                by_parent.setdefault(st[1], []).append(int(name))
    return {pid: by_parent.get(pid, []) for pid in pids}


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
        return True
    except OSError:
        return False


def _settled(pid):
    st = proc_stat(pid)
    return st is None or st[0] in ("T", "t", "Z", "X")


def kill_tree(root, include_root=True):
    """SIGKILLs every process below `root` (and `root` itself with include_root), whatever its
    process group or session. Everything is SIGSTOPped first, root first, and the tree is walked
    again until a pass finds nothing new and every member has stopped: nothing can fork or
    reparent out of sight in between. Does not reap. Returns the pids signalled."""
    if not CONTAIN["proc"]:
        if not include_root:
            return []
        try:
            os.killpg(root, SIGKILL)
        except (OSError, AttributeError):
            pass
        _signal(root, SIGKILL)
        return [root]
    if include_root:
        _signal(root, signal.SIGSTOP)
    found = [root]
    known = {root}
    for _ in range(400):
        added = False
        for kids in proc_children(found).values():
            for pid in kids:
                if pid not in known:
                    known.add(pid)
                    found.append(pid)
                    _signal(pid, signal.SIGSTOP)
                    added = True
        if added:
            continue
        if all(_settled(pid) for pid in found[0 if include_root else 1:]):
            break
        time.sleep(0.0005)
    victims = found if include_root else found[1:]
    for pid in victims:
        _signal(pid, SIGKILL)
    return victims


# ---------------------------------------------------------------------------------------------
# Parent: request loop (fork mode)
# ---------------------------------------------------------------------------------------------

class Terminate(BaseException):
    pass


def _on_sigterm(signum, frame):
    raise Terminate()


class Child(object):
    __slots__ = ("pid", "req_id", "fd", "buf", "scanned", "deadline", "workdir", "timeout_ms", "done")

    def __init__(self, pid, req_id, fd, deadline, workdir, timeout_ms):
        self.pid = pid
        self.req_id = req_id
        self.fd = fd
        self.buf = bytearray()
        self.scanned = 0  # buf[:scanned] holds no newline
        self.deadline = deadline
        self.workdir = workdir
        self.timeout_ms = timeout_ms
        self.done = False


_ID_RE = re.compile(rb'"id"\s*:\s*(\d+)')


def _is_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_request(line):
    """Returns (request, error_response)."""
    try:
        req = json.loads(line.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        m = _ID_RE.search(line)
        return None, {"id": int(m.group(1)) if m else None,
                      "error": {"kind": "bad_request", "message": "malformed JSON: %s" % e}}
    if not isinstance(req, dict):
        return None, {"id": None, "error": {"kind": "bad_request", "message": "request must be a JSON object"}}
    rid = req.get("id")
    if req.get("method") == "cancel" and rid is None:
        # A notification: `{"method": "cancel", "params": {"id": N}}` has no id of its own.
        params = req.get("params")
        if not isinstance(params, dict) or not _is_id(params.get("id")):
            return None, {"id": None, "error": {"kind": "bad_request", "message": "cancel needs params.id"}}
        return req, None
    if not _is_id(rid):
        return None, {"id": rid if isinstance(rid, int) and not isinstance(rid, bool) else None,
                      "error": {"kind": "bad_request", "message": "request id must be a non-negative integer"}}
    method = req.get("method")
    params = req.get("params", {})
    if params is None:
        params = {}
        req["params"] = params
    if not isinstance(method, str):
        return None, {"id": rid, "error": {"kind": "bad_request", "message": "method must be a string"}}
    if not isinstance(params, dict):
        return None, {"id": rid, "error": {"kind": "bad_request", "message": "params must be an object"}}
    if method == "cancel":
        if not _is_id(params.get("id")):
            return None, {"id": rid, "error": {"kind": "bad_request", "message": "cancel needs params.id"}}
        return req, None
    if method not in ("ping", "shutdown") and method not in CHILD_METHODS:
        return None, {"id": rid, "error": {"kind": "bad_request", "message": "unknown method %r" % method}}
    if method in CHILD_METHODS:
        problem = check_params(method, params)
        if problem:
            return None, {"id": rid, "error": {"kind": "bad_request", "message": problem}}
        if STATE["planai"] is None:
            return None, {"id": rid, "error": {"kind": "planai_missing", "message": "planai is not importable "
                                               "in %s: %s" % (sys.executable, STATE["import_error"])}}
    return req, None


def cancelled_error(target):
    return {"kind": "cancelled", "message": "request %d was cancelled; its process tree was killed" % target}


class ForkServer(object):
    # How often an idle helper checks its parent and sweeps orphans (seconds); while orphans or
    # zombies are left it looks again after SWEEP_SOON.
    TICK = 1.0
    SWEEP_SOON = 0.02
    READ_SIZE = 1 << 20

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.children = {}  # fd -> Child
        self.inbuf = bytearray()
        self.scanned = 0  # inbuf[:scanned] holds no newline
        self.eof = False
        self.seq = 0
        self.spare = None
        self.want_spare = False
        self.zombies = []  # pids killed after answering, not yet reaped
        self.ppid = STATE["ppid"]
        self.next_sweep = 0.0

    def serve(self):
        os.set_blocking(0, False)
        self.sel.register(0, selectors.EVENT_READ, None)
        try:
            if STATE["planai"] is not None:
                self.want_spare = True
            while not self.eof:
                now = time.monotonic()
                timeout = max(0.0, self.next_sweep - now)
                if self.children:
                    nearest = min(c.deadline for c in self.children.values())
                    timeout = min(timeout, max(0.0, nearest - now))
                if self.zombies:
                    timeout = min(timeout, 0.02)
                if self.want_spare:
                    timeout = 0.0
                events = self.sel.select(timeout)
                for key, _ in events:
                    if key.fd == 0:
                        self.read_stdin()
                    else:
                        self.read_child(self.children.get(key.fd))
                if self.zombies:
                    self.reap_zombies(block=False)
                if self.want_spare and not events and not self.eof:
                    # Idle: fork the next spare now, off any request's critical path.
                    self.want_spare = False
                    try:
                        self.make_spare()
                    except OSError as e:  # fork/mkdtemp failed: retry on demand in spawn()
                        log("could not pre-fork a spare child: %s" % e)
                now = time.monotonic()
                for child in list(self.children.values()):
                    if not child.done and now >= child.deadline:
                        self.finish_timeout(child)
                if now >= self.next_sweep and not self.eof:
                    self.housekeeping()
        finally:
            self.shutdown_children()

    def housekeeping(self):
        """Notices a dead server (we were reparented) and sweeps orphans."""
        if os.getppid() != self.ppid:
            log("the server (pid %d) is gone: killing all children and exiting" % self.ppid)
            self.eof = True
            return
        busy = self.sweep_orphans()
        self.next_sweep = time.monotonic() + (self.SWEEP_SOON if busy else self.TICK)

    def sweep_soon(self):
        self.next_sweep = min(self.next_sweep, time.monotonic() + self.SWEEP_SOON)

    def sweep_orphans(self):
        """Kills and reaps every direct child that is neither a request child nor the spare (daemons
        and double-forked leftovers reparented to us). Returns True while some are not reaped yet."""
        if not CONTAIN["proc"]:
            return False
        tracked = set(c.pid for c in self.children.values())
        tracked.update(self.zombies)
        if self.spare is not None:
            tracked.add(self.spare[0])
        me = os.getpid()
        remaining = False
        for pid in proc_children([me])[me]:
            if pid in tracked:
                continue
            st = proc_stat(pid)
            if st is not None and st[0] not in ("Z", "X"):
                kill_tree(pid)
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            except InterruptedError:
                done = 0
            if not done:
                remaining = True
        return remaining

    def read_stdin(self):
        try:
            data = os.read(0, self.READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            self.eof = True
            if bytes(self.inbuf).strip():
                self.handle_line(bytes(self.inbuf))
            self.inbuf = bytearray()
            return
        # Linear in the input: append, then look for newlines only in what is new.
        buf = self.inbuf
        buf += data
        start = 0
        while not self.eof:
            nl = buf.find(b"\n", max(start, self.scanned))
            if nl < 0:
                break
            line = bytes(buf[start:nl])
            start = nl + 1
            if line.strip():
                self.handle_line(line)
        if start:
            del buf[:start]
        self.scanned = len(buf)

    def handle_line(self, line):
        req, err = parse_request(line)
        if err is not None:
            send(err)
            return
        method = req["method"]
        if method == "ping":
            send({"id": req["id"], "result": {"pong": True}})
            return
        if method == "shutdown":
            send({"id": req["id"], "result": {"ok": True}})
            self.eof = True
            return
        if method == "cancel":
            found = self.cancel(req["params"]["id"])
            if req.get("id") is not None:
                send({"id": req["id"], "result": {"cancelled": found}})
            return
        try:
            self.spawn(req, line)
        except OSError as e:
            send({"id": req["id"], "error": {"kind": "internal", "message": "could not start a child: %s" % e}})

    def cancel(self, target):
        """Kills the process tree of request `target` and answers it with a `cancelled` error once
        the child is dead (so a client counting running children may start the next one). False
        when no such request runs (it finished already, or never existed)."""
        for child in list(self.children.values()):
            if child.req_id == target and not child.done:
                self.reap(child, kill=True)
                err = cancelled_error(target)
                self.cleanup(child)
                send({"id": target, "error": err})
                return True
        return False

    # A spare child is forked ahead of time and waits for its request on a pipe, so a request
    # does not pay for fork() (~10-25 ms for a 150 MB parent) on its critical path.
    def make_spare(self):
        self.seq += 1
        workdir = tempfile.mkdtemp(prefix="req-%d-" % self.seq, dir=STATE["parent_tmp"])
        os.mkdir(os.path.join(workdir, "cwd"))
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:
            for fd in (req_r, req_w, res_r, res_w):
                os.close(fd)
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        if pid == 0:  # child
            code = 0
            try:
                # Die with the helper even if it is SIGKILLed (checked again after the prctl, in case
                # it died in between), and keep this request's orphans inside this child's tree.
                if CONTAIN["proc"]:
                    prctl(PR_SET_PDEATHSIG, SIGKILL)
                    if os.getppid() != parent:
                        os._exit(0)
                    prctl(PR_SET_CHILD_SUBREAPER, 1)
                else:
                    try:
                        os.setpgid(0, 0)
                    except OSError:
                        pass
                os.close(req_w)
                os.close(res_r)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                try:
                    self.sel.close()
                except Exception:
                    pass
                for fd in list(self.children) + [STATE["proto_fd"]]:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                buf = bytearray()  # linear: append, search only what is new
                nl = -1
                while nl < 0:
                    try:
                        data = os.read(req_r, self.READ_SIZE)
                    except InterruptedError:
                        continue
                    if not data:
                        os._exit(0)  # parent gone or shutting down
                    start = len(buf)
                    buf += data
                    nl = buf.find(b"\n", start)
                os.close(req_r)
                text = buf[:nl].decode("utf-8")
                del buf
                req = json.loads(text)
                del text
                child_run(req, res_w, workdir)
            except BaseException:  # noqa: BLE001
                code = 70
            finally:
                os._exit(code)
        # parent
        os.close(req_r)
        os.close(res_w)
        if not CONTAIN["proc"]:
            try:
                os.setpgid(pid, pid)
            except OSError:
                pass
        self.spare = (pid, req_w, res_r, workdir)

    def discard_spare(self):
        if self.spare is None:
            return
        pid, req_w, res_r, workdir = self.spare
        self.spare = None
        for fd in (req_w, res_r):
            try:
                os.close(fd)
            except OSError:
                pass
        kill_tree(pid)
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
        shutil.rmtree(workdir, ignore_errors=True)

    def spawn(self, req, line):
        params = req.get("params") or {}
        timeout_ms = params.get("timeout_ms") or DEFAULT_TIMEOUT_MS
        for attempt in (0, 1):
            if self.spare is None:
                self.make_spare()
            pid, req_w, res_r, workdir = self.spare
            try:
                write_all(req_w, line + b"\n")
                os.close(req_w)
            except OSError:
                self.discard_spare()  # the spare died; fork a fresh one and retry once
                if attempt:
                    raise
                continue
            self.spare = None
            break
        os.set_blocking(res_r, False)
        child = Child(pid, req["id"], res_r, time.monotonic() + timeout_ms / 1000.0, workdir, timeout_ms)
        self.children[res_r] = child
        self.sel.register(res_r, selectors.EVENT_READ, None)
        self.want_spare = True

    def read_child(self, child):
        if child is None:
            return
        try:
            data = os.read(child.fd, 1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        if data:
            child.buf += data
            nl = child.buf.find(b"\n", child.scanned)
            if nl < 0:
                child.scanned = len(child.buf)
                return
            line = bytes(child.buf[:nl])
            # Answer first; the child's exit (address-space teardown) is reaped later, without blocking.
            write_all(STATE["proto_fd"], self.checked_answer(child, line))
            self.reap(child, kill=True, block=False)
            self.cleanup(child)
            return
        # EOF without a complete result
        status = self.reap(child, kill=True)
        err = self.crash_error(child, status)
        self.cleanup(child)
        send({"id": child.req_id, "error": err})

    def checked_answer(self, child, line):
        """The child's result line if it is a response to the child's own request; otherwise (user code
        wrote into the result pipe, or the line is not JSON) a `crashed` error for that request."""
        try:
            msg = json.loads(line.decode("utf-8"))
            ok = (isinstance(msg, dict) and _is_id(msg.get("id")) and msg["id"] == child.req_id
                  and ("result" in msg or "error" in msg))
        except (ValueError, UnicodeDecodeError, RecursionError):
            ok = False
        if ok:
            return line + b"\n"
        log("request %d: the child's result line is not its answer: %s"
            % (child.req_id, line[:200].decode("utf-8", "replace")))
        err = {"kind": "crashed", "message": "the helper child wrote a result line that is not the answer to "
               "request %d" % child.req_id}
        self._attach_output(child, err)
        return encode_message({"id": child.req_id, "error": err})

    def crash_error(self, child, status):
        if status is None:
            desc = "unknown status"
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            desc = "killed by signal %d (%s)" % (sig, name)
        elif os.WIFEXITED(status):
            desc = "exited with code %d" % os.WEXITSTATUS(status)
        else:
            desc = "status %r" % status
        err = {"kind": "crashed", "message": "the helper child %s without sending a result" % desc}
        self._attach_output(child, err)
        return err

    def _attach_output(self, child, err):
        err["stdout"] = read_capture(os.path.join(child.workdir, "stdout"))
        err["stderr"] = read_capture(os.path.join(child.workdir, "stderr"))

    def finish_timeout(self, child):
        self.reap(child, kill=True)
        err = {"kind": "timeout", "message": "validation exceeded %d ms; the child's process tree was killed"
               % child.timeout_ms}
        self._attach_output(child, err)
        self.cleanup(child)
        send({"id": child.req_id, "error": err})

    def reap_zombies(self, block):
        for pid in list(self.zombies):
            try:
                done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                done = pid
            except InterruptedError:
                continue
            if done:
                self.zombies.remove(pid)

    def reap(self, child, kill, block=True):
        """Kill the child's process tree (leftover grandchildren too), reap the child, drop its pipe.
        Returns the wait status (None when not blocking)."""
        child.done = True
        if kill:
            kill_tree(child.pid)
            # The tree's members were reparented to us as they died: reap them soon.
            self.sweep_soon()
        status = None
        if not block:
            self.zombies.append(child.pid)
            self.reap_zombies(block=False)
        while block:
            try:
                _, status = os.waitpid(child.pid, 0)
                break
            except InterruptedError:
                continue
            except ChildProcessError:
                break
        try:
            self.sel.unregister(child.fd)
        except Exception:
            pass
        try:
            os.close(child.fd)
        except OSError:
            pass
        self.children.pop(child.fd, None)
        return status

    @staticmethod
    def cleanup(child):
        shutil.rmtree(child.workdir, ignore_errors=True)

    def shutdown_children(self):
        """Kills everything below the helper (request children, the spare, adopted orphans) at once,
        then reaps it all."""
        if not CONTAIN["proc"]:
            self.discard_spare()
            for child in list(self.children.values()):
                self.reap(child, kill=True)
                self.cleanup(child)
            self.reap_zombies(block=True)
            return
        kill_tree(os.getpid(), include_root=False)
        for child in list(self.children.values()):
            self.reap(child, kill=False, block=False)
            self.cleanup(child)
        if self.spare is not None:
            pid, req_w, res_r, workdir = self.spare
            self.spare = None
            for fd in (req_w, res_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(workdir, ignore_errors=True)
        self.zombies = []
        deadline = time.monotonic() + 5.0
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break  # nothing left
            except InterruptedError:
                continue
            if pid:
                continue
            if time.monotonic() >= deadline:
                log("some children did not die within 5 s")
                break
            kill_tree(os.getpid(), include_root=False)
            time.sleep(0.005)


# ---------------------------------------------------------------------------------------------
# No-fork fallback: a fresh `python helper.py --one-shot` per request (threads are fine here)
# ---------------------------------------------------------------------------------------------

def helper_script_path():
    if HELPER_FILE and not HELPER_FILE.startswith("<") and os.path.isfile(HELPER_FILE):
        return HELPER_FILE
    source = None
    orig = getattr(sys, "orig_argv", None) or []
    if "-c" in orig:
        idx = orig.index("-c")
        if idx + 1 < len(orig):
            source = orig[idx + 1]
    if source is None:
        return None
    path = os.path.join(STATE["parent_tmp"], "planai_lsp_helper.py")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(source)
    return path


def serve_nofork():
    import queue
    import subprocess
    import threading

    script = helper_script_path()
    lock = threading.Lock()
    procs = {}  # request id -> Popen
    cancelled = set()
    procs_lock = threading.Lock()

    def locked_send(obj):
        with lock:
            send(obj)

    def run_one(req, line):
        timeout_ms = (req.get("params") or {}).get("timeout_ms") or DEFAULT_TIMEOUT_MS
        if script is None:
            locked_send({"id": req["id"], "error": {"kind": "internal",
                                                    "message": "cannot locate helper script for --one-shot"}})
            return
        cmd = [sys.executable, "-I", "-B", "-u", script, "--one-shot"]
        kwargs = {}
        if os.name == "nt":
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        else:
            kwargs["start_new_session"] = True
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
                                cwd=STATE["parent_tmp"], **kwargs)
        with procs_lock:
            procs[req["id"]] = proc
        try:
            # The one-shot process imports planai cold (~3 s): count that on top of the request budget.
            out, _ = proc.communicate(line + b"\n", timeout=timeout_ms / 1000.0 + 30.0)
            text = out.decode("utf-8", "replace").strip().splitlines()
            if req["id"] in cancelled:
                locked_send({"id": req["id"], "error": cancelled_error(req["id"])})
            elif proc.returncode == 0 and text:
                with lock:
                    write_all(STATE["proto_fd"], text[-1].encode("utf-8") + b"\n")
            else:
                locked_send({"id": req["id"], "error": {"kind": "crashed", "message":
                            "one-shot helper exited with code %s without a result" % proc.returncode}})
        except subprocess.TimeoutExpired:
            _kill_proc(proc)
            locked_send({"id": req["id"], "error": {"kind": "timeout", "message":
                        "validation exceeded %d ms; the process was killed" % timeout_ms}})
        finally:
            with procs_lock:
                procs.pop(req["id"], None)
                cancelled.discard(req["id"])

    lines = queue.Queue()

    def reader():
        stdin = sys.stdin.buffer
        while True:
            line = stdin.readline()
            if not line:
                lines.put(None)
                return
            lines.put(line.rstrip(b"\r\n"))

    threading.Thread(target=reader, daemon=True).start()
    try:
        while True:
            line = lines.get()
            if line is None:
                break
            if not line.strip():
                continue
            req, err = parse_request(line)
            if err is not None:
                locked_send(err)
                continue
            if req["method"] == "ping":
                locked_send({"id": req["id"], "result": {"pong": True}})
                continue
            if req["method"] == "shutdown":
                locked_send({"id": req["id"], "result": {"ok": True}})
                break
            if req["method"] == "cancel":
                target = req["params"]["id"]
                with procs_lock:
                    proc = procs.get(target)
                    if proc is not None:
                        cancelled.add(target)
                if proc is not None:
                    _kill_proc(proc)  # run_one answers `cancelled`
                if req.get("id") is not None:
                    locked_send({"id": req["id"], "result": {"cancelled": proc is not None}})
                continue
            threading.Thread(target=run_one, args=(req, line), daemon=True).start()
    finally:
        with procs_lock:
            for p in list(procs.values()):
                _kill_proc(p)
        if CONTAIN["proc"]:
            kill_tree(os.getpid(), include_root=False)


def _kill_proc(proc):
    try:
        if CONTAIN["proc"]:
            kill_tree(proc.pid)
        elif os.name != "nt":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        try:
            proc.kill()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except Exception:
        pass


def one_shot():
    """`helper.py --one-shot`: read one request line, handle it in-process, write one response line."""
    STATE["proto_fd"] = os.dup(1)
    os.dup2(2, 1)
    # Like a forked child: die with the helper's thread that started us, keep our orphans.
    parent = os.getppid()
    contain_init()
    prctl(PR_SET_PDEATHSIG, SIGKILL)
    if CONTAIN["libc"] is not None and os.getppid() != parent:
        return 0
    line = sys.stdin.buffer.readline()
    warm_import()
    req, err = parse_request(line.rstrip(b"\r\n"))
    if err is not None:
        send(err)
        return 0
    if req["method"] in ("ping", "shutdown"):
        send({"id": req["id"], "result": {"pong": True} if req["method"] == "ping" else {"ok": True}})
        return 0
    workdir = tempfile.mkdtemp(prefix="req-", dir=STATE["parent_tmp"])
    os.mkdir(os.path.join(workdir, "cwd"))
    child_run(req, STATE["proto_fd"], workdir)
    return 0


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------

def main(argv):
    if "--one-shot" in argv:
        try:
            code = one_shot()
        finally:
            if STATE["parent_tmp"]:
                os.chdir(os.path.dirname(STATE["parent_tmp"]))
                shutil.rmtree(STATE["parent_tmp"], ignore_errors=True)
        os._exit(code)
    # Protocol stream on a private fd; fd 1 -> stderr so stray prints (ours or libraries') cannot
    # corrupt the protocol.
    STATE["proto_fd"] = os.dup(1)
    os.dup2(2, 1)
    use_fork = hasattr(os, "fork") and os.environ.get("PLANAI_LSP_HELPER_NOFORK") != "1"
    send({"event": "hello", "protocol": PROTOCOL, "python": platform.python_version(),
          "executable": sys.executable, "pid": os.getpid()})
    signal.signal(signal.SIGTERM, _on_sigterm)
    STATE["ppid"] = os.getppid()
    contain_init()
    code = 0
    try:
        info = warm_import()
        info["event"] = "ready"
        info["fork"] = use_fork
        ready = {"event": "ready"}
        ready.update(info)
        send(ready)
        if use_fork:
            ForkServer().serve()
        else:
            serve_nofork()
    except (Terminate, KeyboardInterrupt):
        code = 0
    except BrokenPipeError:
        code = 0
    finally:
        tmp = STATE["parent_tmp"]
        if tmp:
            try:
                os.chdir(os.path.dirname(tmp))
            except OSError:
                pass
            shutil.rmtree(tmp, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
