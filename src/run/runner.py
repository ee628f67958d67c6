"""planai-lsp workflow runner (run protocol v1, see docs/protocol.md).

Started by planai-lsp as `python -B -u runner.py` in a fresh process (never the warm validation
helper, whose Graph.run is intercepted), from a scratch working directory. It reads one JSON line
of configuration from stdin, executes the module's buffer text, runs its PlanAI graph for real and
reports what happens as JSON lines on an inherited pipe (`event_fd`), never on stdout: what the
user's code prints goes to stdout/stderr, which planai-lsp forwards as output events.

Stdlib only (plus planai / pydantic from the user's environment); Python 3.10-3.14.
"""

import sys

# Python put this file's directory (the system temp dir) or, under `-c`, the working directory
# first on sys.path. Whatever lies there named like a module (a stray `json.py` or `h2.py` in
# /tmp) would shadow the standard library and the user's packages, so it goes before any
# import; the user's own directories are put first later (setup_environment).
if sys.path and not sys.flags.isolated and not getattr(sys.flags, "safe_path", False):
    del sys.path[0]

import builtins
import ctypes
import ctypes.util
import datetime
import enum
import json
import linecache
import logging
import os
import re
import threading
import time
import traceback
import types
import typing

PROTOCOL = 1
MAX_TEXT = 16 * 1024
RUNNER_FILE = sys._getframe().f_code.co_filename

CONFIG = {}
EVENT_LOCK = threading.Lock()
STATE = {
    "fd": None,
    "graph": None,  # the graph that ran (for statistics and the final result)
    "completed": 0,
    "failed": 0,
    "sink_outputs": 0,
    "seen_graph_run": False,
}


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------

def _json_default(obj):
    try:
        return repr(obj)
    except Exception:
        return "<unrepresentable>"


def emit(event, **fields):
    fields["event"] = event
    fields["time"] = round(time.time(), 6)
    try:
        text = json.dumps(fields, default=_json_default, ensure_ascii=False)
    except (ValueError, TypeError):
        text = json.dumps({"event": "log", "level": "WARNING", "logger": "planai-lsp",
                           "message": "an event could not be encoded: %s" % event})
    data = (text.replace("\n", " ") + "\n").encode("utf-8", "replace")
    fd = STATE["fd"]
    if fd is None:
        return
    with EVENT_LOCK:
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except InterruptedError:
                continue
            except OSError:
                # planai-lsp stopped listening: nothing left to report to.
                STATE["fd"] = None
                return
            view = view[n:]


def clip(text, limit=MAX_TEXT):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


def task_json(task):
    try:
        return task.model_dump(mode="json")
    except Exception:
        try:
            return json.loads(task.model_dump_json())
        except Exception:
            return repr(task)


def provenance_of(task):
    try:
        return [[str(name), value] for name, value in (task._provenance or [])]
    except Exception:
        return []


# ---------------------------------------------------------------------------------------------
# Where a failure happened: the deepest frame in a workspace file
# ---------------------------------------------------------------------------------------------

def is_user_file(filename):
    if not filename or filename == RUNNER_FILE or filename.startswith("<"):
        return False
    if filename == CONFIG.get("path"):
        return True
    absf = os.path.abspath(filename)
    parts = absf.replace("\\", "/").split("/")
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    for root in CONFIG.get("roots") or []:
        root = os.path.abspath(root)
        if absf == root or absf.startswith(root.rstrip(os.sep) + os.sep):
            return True
    return False


def user_location(exc):
    """(path, 1-based line, code-point column) of the deepest traceback frame in the workspace."""
    found = None
    tb = exc.__traceback__ if exc is not None else None
    while tb is not None:
        code = tb.tb_frame.f_code
        if is_user_file(code.co_filename):
            found = tb
        tb = tb.tb_next
    if found is None:
        return None
    line = found.tb_lineno
    text = linecache.getline(found.tb_frame.f_code.co_filename, line)
    column = len(text) - len(text.lstrip()) if text else 0
    return {"path": found.tb_frame.f_code.co_filename, "line": line, "column": column}


def format_traceback(exc):
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return clip("".join(lines))


def error_fields(exc):
    return {
        "exception": type(exc).__name__,
        "message": clip(str(exc), 4000),
        "traceback": format_traceback(exc),
        "location": user_location(exc),
    }


# ---------------------------------------------------------------------------------------------
# Containment: our own orphans stay in our tree, and we die with planai-lsp
# ---------------------------------------------------------------------------------------------

def contain():
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


def descendants():
    """Our descendants, parents first (we are a subreaper, so orphans stay below us)."""
    found, frontier = [], [os.getpid()]
    while frontier:
        pid = frontier.pop()
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                    children = [int(c) for c in f.read().split()]
            except (OSError, ValueError):
                continue
            for child in children:
                if child not in found:
                    found.append(child)
                    frontier.append(child)
    return found


def kill_descendants():
    """What the user's code started must not outlive the run: stop them all (so none can fork
    or reparent), then kill them."""
    import signal
    for _ in range(3):
        victims = descendants()
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        for pid in descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


# ---------------------------------------------------------------------------------------------
# Mock LLM: answers with an instance of the schema asked for, built from field types/defaults
# ---------------------------------------------------------------------------------------------

def sample_value(annotation, name, depth=0):
    if depth > 6:
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is typing.Any or annotation is None or annotation is type(None):
        return None
    if origin is typing.Union or (origin is not None and getattr(origin, "__name__", "") == "UnionType"):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) < len(args):
            return None
        return sample_value(non_none[0], name, depth + 1) if non_none else None
    if origin is typing.Literal:
        return args[0] if args else None
    if str(origin) == "typing.Annotated" or getattr(origin, "__name__", "") == "Annotated":
        return sample_value(args[0], name, depth + 1)
    if origin in (list, typing.List, set, frozenset, tuple, typing.Sequence) or origin is typing.Sequence:
        if origin is tuple and args and args[-1] is not Ellipsis:
            return [sample_value(a, name, depth + 1) for a in args]
        return [sample_value(args[0], name, depth + 1)] if args else []
    if origin in (dict, typing.Dict, typing.Mapping):
        return {}
    if isinstance(annotation, type):
        try:
            import pydantic
            if issubclass(annotation, pydantic.BaseModel):
                return sample_model_data(annotation, depth + 1)
        except ImportError:
            pass
        if issubclass(annotation, bool):
            return True
        if issubclass(annotation, enum.Enum):
            members = list(annotation)
            return members[0].value if members else None
        if issubclass(annotation, int):
            return 1
        if issubclass(annotation, float):
            return 0.5
        if issubclass(annotation, str):
            return "mock %s" % name
        if issubclass(annotation, datetime.datetime):
            return "2024-01-01T00:00:00"
        if issubclass(annotation, datetime.date):
            return "2024-01-01"
        if issubclass(annotation, (list, set, tuple)):
            return []
        if issubclass(annotation, dict):
            return {}
    return None


def sample_model_data(model, depth=0):
    data = {}
    for name, field in model.model_fields.items():
        if not field.is_required():
            continue
        data[field.alias or name] = sample_value(field.annotation, name, depth)
    return data


def sample_instance(model):
    return model.model_validate(sample_model_data(model))


def make_mock_llm():
    from planai.testing import MockLLM

    class GeneratingMockLLM(MockLLM):
        """Answers every structured request with a generated instance of the asked schema."""

        def _cached_chat(self, messages, tools=None, temperature=None, response_schema=None,
                         token_usage=None, allow_json_mode=True, max_tool_rounds=None,
                         cache_salt=None, transcript=None, **kwargs):
            if response_schema is None:
                return "mock response"
            instance = sample_instance(response_schema)
            if CONFIG.get("debug"):
                emit("llmCall", worker=current_worker_name(), mock=True,
                     messages=[{"role": m.get("role"), "content": clip(m.get("content", ""))}
                               for m in messages],
                     response=task_json(instance))
            return instance

    return GeneratingMockLLM(responses=[])


WORKER_CONTEXT = threading.local()


def current_worker_name():
    return getattr(WORKER_CONTEXT, "worker", None)


# ---------------------------------------------------------------------------------------------
# Hooks into PlanAI
# ---------------------------------------------------------------------------------------------

class StopModule(BaseException):
    """Raised by an intercepted Graph.run once its initial tasks are captured."""


class Interception(object):
    """What the module's own `graph.run(...)` call is turned into."""

    def __init__(self, mode):
        self.mode = mode  # "run" (let it run), "inputs" (run with our tasks), "capture"
        self.captured = None  # (graph, initial_tasks) in capture mode


INTERCEPT = Interception("run")


def install_hooks(planai):
    from planai import dispatcher as dispatcher_module
    Dispatcher = dispatcher_module.Dispatcher
    Graph = planai.Graph
    TaskWorker = planai.TaskWorker
    debug = bool(CONFIG.get("debug"))

    orig_add_to_queue = Dispatcher._add_to_queue

    def add_to_queue(self, worker, task):
        if not self._shutdown_initiated:
            emit("taskQueued", worker=worker.name, taskType=type(task).__name__,
                 provenance=provenance_of(task))
        return orig_add_to_queue(self, worker, task)

    orig_execute_task = Dispatcher._execute_task

    def execute_task(self, worker, task):
        emit("taskStarted", worker=worker.name, taskType=type(task).__name__,
             provenance=provenance_of(task), attempt=int(getattr(task, "retry_count", 0) or 0) + 1)
        if debug:
            emit("debugTaskInput", worker=worker.name, taskType=type(task).__name__, task=task_json(task))
        WORKER_CONTEXT.worker = worker.name
        try:
            return orig_execute_task(self, worker, task)
        finally:
            WORKER_CONTEXT.worker = None

    orig_task_completed = Dispatcher._task_completed

    def task_completed(self, worker, task, future):
        if task is not None:
            try:
                report_completion(worker, task, future)
            except Exception as e:  # never break PlanAI's bookkeeping
                emit("log", level="WARNING", logger="planai-lsp", message="runner: %s" % e)
        return orig_task_completed(self, worker, task, future)

    Dispatcher._add_to_queue = add_to_queue
    Dispatcher._execute_task = execute_task
    Dispatcher._task_completed = task_completed

    if debug:
        orig_publish = TaskWorker.publish_work

        def publish_work(self, task, input_task, consumer=None):
            emit("debugTaskOutput", worker=self.name, taskType=type(task).__name__, task=task_json(task))
            return orig_publish(self, task, input_task, consumer)

        TaskWorker.publish_work = publish_work

        try:
            from llm_interface import LLMInterface
            orig_generate = LLMInterface.generate_pydantic

            def generate_pydantic(self, prompt_template, output_schema, system="", *args, **kwargs):
                started = time.time()
                result = orig_generate(self, prompt_template, output_schema, system, *args, **kwargs)
                emit("llmCall", worker=current_worker_name(), model=getattr(self, "model_name", None),
                     system=clip(system), prompt=clip(prompt_template),
                     response=task_json(result) if result is not None else None,
                     durationMs=round((time.time() - started) * 1000, 3))
                return result

            LLMInterface.generate_pydantic = generate_pydantic
        except Exception:
            pass

    # Never draw a terminal UI or start the dashboard: our output is an event log.
    orig_prepare = Graph.prepare

    def prepare(self, run_dashboard=False, display_terminal=True, dashboard_port=5000):
        return orig_prepare(self, run_dashboard=False, display_terminal=False, dashboard_port=dashboard_port)

    Graph.prepare = prepare

    orig_run = Graph.run

    def run(self, initial_tasks=None, *args, **kwargs):
        return run_intercepted(self, initial_tasks, lambda tasks: orig_run(self, tasks))

    Graph.run = run

    orig_execute = Graph.execute

    def execute(self, initial_tasks=None, *args, **kwargs):
        return run_intercepted(self, initial_tasks, lambda tasks: orig_execute(self, tasks))

    Graph.execute = execute

    def graph_print(self, *args):
        message = " ".join(str(arg) for arg in args)
        emit("log", level="PRINT", logger="planai", message=clip(message, 4000))

    Graph.print = graph_print

    # planai.utils.setup_logging removes the root handlers (ours included).
    try:
        import planai.utils as putils

        def setup_logging(logs_dir="logs", logs_prefix="general_log", logger_name=None, level=logging.INFO, *a, **k):
            return logging.getLogger(logger_name)

        original = putils.setup_logging
        for mod in list(sys.modules.values()):
            try:
                if isinstance(mod, types.ModuleType) and mod.__dict__.get("setup_logging") is original:
                    setattr(mod, "setup_logging", setup_logging)
            except Exception:
                pass
    except Exception:
        pass


def report_completion(worker, task, future):
    exc = future.exception()
    duration = None
    if getattr(task, "_start_time", None) and getattr(task, "_end_time", None):
        duration = round((task._end_time - task._start_time) * 1000, 3)
    common = {"worker": worker.name, "taskType": type(task).__name__,
              "provenance": provenance_of(task), "durationMs": duration}
    if exc is None:
        STATE["completed"] += 1
        emit("taskCompleted", **common)
        graph = getattr(worker, "_graph", None)
        if graph is not None and any(worker is sink for sink in getattr(graph, "_sink_workers", [])):
            STATE["sink_outputs"] += 1
            emit("sinkOutput", worker=worker.name, taskType=type(task).__name__, task=task_json(task))
        return
    retrying = worker.num_retries > 0 and task.retry_count < worker.num_retries
    if not retrying:
        STATE["failed"] += 1
    emit("taskFailed", willRetry=bool(retrying), **dict(common, **error_fields(exc)))


def run_intercepted(graph, initial_tasks, really_run):
    initial_tasks = list(initial_tasks or [])
    if getattr(RUNNING, "graph", None) is graph:
        return really_run(initial_tasks)
    mode = INTERCEPT.mode
    if mode == "capture":
        INTERCEPT.captured = (graph, initial_tasks)
        raise StopModule()
    if mode == "inputs":
        entry = initial_tasks[0][0] if initial_tasks else None
        initial_tasks = tasks_from_inputs(graph, entry)
        INTERCEPT.mode = "run"
    return run_graph(graph, initial_tasks, really_run)


RUNNING = threading.local()


def run_graph(graph, initial_tasks, really_run):
    if getattr(RUNNING, "graph", None) is graph:
        # Graph.run calls Graph.execute: one run, reported once.
        return really_run(initial_tasks)
    RUNNING.graph = graph
    try:
        return run_graph_reported(graph, initial_tasks, really_run)
    finally:
        RUNNING.graph = None


def run_graph_reported(graph, initial_tasks, really_run):
    STATE["graph"] = graph
    STATE["seen_graph_run"] = True
    emit("graphStarted", graph=getattr(graph, "name", None), workers=describe_workers(graph),
         initialTasks=[{"worker": w.name, "taskType": type(t).__name__, "task": task_json(t)}
                       for w, t in initial_tasks])
    if CONFIG.get("mock_llm"):
        mock_llm_workers(graph)
    started = time.time()
    try:
        return really_run(initial_tasks)
    finally:
        emit("stats", graph=getattr(graph, "name", None), workers=worker_stats(graph),
             durationMs=round((time.time() - started) * 1000, 3))


def describe_workers(graph):
    out = []
    for worker in list(getattr(graph, "workers", [])):
        downstream = [w.name for w in graph.dependencies.get(worker, [])] if hasattr(graph, "dependencies") else []
        out.append({"name": worker.name, "downstream": downstream})
    return out


def worker_stats(graph):
    dispatcher = getattr(graph, "_dispatcher", None)
    stats = {}
    if dispatcher is None:
        return stats
    for name, ws in dict(getattr(dispatcher, "worker_stats", {})).items():
        entry = {}
        try:
            raw = ws.get_statistics()
        except Exception:
            raw = {}
        for key in ("completed", "failed", "queued", "active"):
            if isinstance(raw.get(key), int):
                entry[key] = raw[key]
        if raw.get("count"):
            entry["medianDurationMs"] = round(raw.get("median", 0) * 1000, 3)
            entry["maxDurationMs"] = round(raw.get("max", 0) * 1000, 3)
        stats[name] = entry
    return stats


def mock_llm_workers(graph):
    try:
        from planai import LLMTaskWorker
    except ImportError:
        return
    mock = None
    for worker in list(graph.workers):
        if isinstance(worker, LLMTaskWorker):
            if mock is None:
                mock = make_mock_llm()
            try:
                worker.llm = mock
            except Exception:
                object.__setattr__(worker, "llm", mock)


def patch_llm_from_config():
    """mockLlm: building an LLM needs no key and touches no network."""
    import llm_interface
    originals = set()
    for modname in ("planai", "llm_interface", "llm_interface.llm_config"):
        mod = sys.modules.get(modname)
        fn = getattr(mod, "llm_from_config", None) if mod is not None else None
        if fn is not None:
            originals.add(fn)

    def llm_from_config(*args, **kwargs):
        return make_mock_llm()

    for mod in list(sys.modules.values()):
        try:
            if isinstance(mod, types.ModuleType) and mod.__dict__.get("llm_from_config") in originals:
                setattr(mod, "llm_from_config", llm_from_config)
        except Exception:
            pass
    del llm_interface


# ---------------------------------------------------------------------------------------------
# Inputs: JSON objects validated against the entry worker's Task type before anything runs
# ---------------------------------------------------------------------------------------------

class InputError(Exception):
    pass


def entry_candidates(graph, entry=None):
    if entry is not None:
        return [entry]
    initial = getattr(graph, "_initial_worker", None)
    if initial is not None and graph.dependencies.get(initial):
        return list(graph.dependencies.get(initial))
    sinks = list(getattr(graph, "_sink_workers", []))
    downstream = set()
    for worker, consumers in graph.dependencies.items():
        if worker is initial:
            continue
        for consumer in consumers:
            downstream.add(id(consumer))
    return [w for w in graph.workers
            if id(w) not in downstream and w is not initial and not any(w is s for s in sinks)]


def tasks_from_inputs(graph, entry=None):
    inputs = CONFIG.get("inputs") or []
    candidates = entry_candidates(graph, entry)
    if not candidates:
        raise InputError("the graph has no entry worker to give the inputs to")
    tasks = []
    for index, data in enumerate(inputs):
        if not isinstance(data, dict):
            raise InputError("input %d is not a JSON object" % (index + 1))
        errors = []
        for worker in candidates:
            try:
                task_cls = worker.get_task_class()
            except Exception as e:
                errors.append("%s: %s" % (worker.name, e))
                continue
            try:
                tasks.append((worker, task_cls.model_validate(data)))
                break
            except Exception as e:
                errors.append("%s takes %s: %s" % (worker.name, task_cls.__name__, e))
        else:
            raise InputError("input %d does not fit the entry worker's task type: %s"
                             % (index + 1, "; ".join(errors)))
    if not tasks:
        raise InputError("no inputs given")
    return tasks


# ---------------------------------------------------------------------------------------------
# Module execution
# ---------------------------------------------------------------------------------------------

class EventLogHandler(logging.Handler):
    def emit(self, record):
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        fields = {"level": record.levelname, "logger": record.name, "message": clip(message, 4000)}
        if record.exc_info and record.exc_info[1] is not None:
            fields["exception"] = "%s: %s" % (type(record.exc_info[1]).__name__, clip(record.exc_info[1], 2000))
        emit("log", **fields)


def setup_environment():
    sys.dont_write_bytecode = True
    os.environ["PLANAI_LSP_RUN"] = "1"
    if CONFIG.get("mock_llm"):
        for key in list(os.environ):
            if key.upper().endswith("_API_KEY"):
                del os.environ[key]
    entries = []
    path = CONFIG.get("path")
    if path:
        entries.append(os.path.dirname(os.path.abspath(path)))
    for root in CONFIG.get("roots") or []:
        entries.append(root)
        src = os.path.join(root, "src")
        if os.path.isdir(src):
            entries.append(src)
    new = []
    for e in entries:
        if e and e not in new:
            new.append(e)
    sys.path[:] = new + [p for p in sys.path if p not in new]
    root = logging.getLogger()
    level = logging.INFO if CONFIG.get("debug") else logging.WARNING
    root.handlers = [EventLogHandler(level=level)]
    root.setLevel(min(root.level or logging.WARNING, level))


def exec_module(name):
    path = CONFIG["path"]
    source = CONFIG["source"]
    lines = [l + "\n" for l in re.split(r"\r\n|\r|\n", source)]
    linecache.cache[path] = (len(source), None, lines, path)
    code = compile(source, path, "exec", dont_inherit=True)
    module = types.ModuleType(name)
    module.__file__ = path
    module.__builtins__ = builtins
    sys.modules[name] = module
    sys.argv = [path]
    exec(code, module.__dict__)
    return module


def module_name_for_import():
    name = CONFIG.get("module_name")
    if name:
        return name
    stem = os.path.splitext(os.path.basename(CONFIG["path"]))[0]
    return stem if stem.isidentifier() else "planai_lsp_run_module"


def graph_from_builder(module, name):
    planai = sys.modules["planai"]
    target = getattr(module, name, None)
    if target is None:
        raise InputError("the module has no %r" % name)
    if isinstance(target, planai.Graph):
        return target
    if not callable(target):
        raise InputError("%r is neither a Graph nor a function that builds one" % name)
    graph = target()
    if not isinstance(graph, planai.Graph):
        raise InputError("%s() returned %s, not a Graph" % (name, type(graph).__name__))
    return graph


def map_captured_tasks(graph, captured):
    """The module's own initial tasks, on the builder's graph (workers matched by name)."""
    by_name = {w.name: w for w in graph.workers}
    tasks = []
    for worker, task in captured:
        mapped = by_name.get(worker.name)
        if mapped is None:
            raise InputError("the module's run(...) starts at %s, which %s does not have"
                             % (worker.name, CONFIG.get("graph")))
        tasks.append((mapped, task))
    return tasks


def run_selected(planai):
    graph_name = CONFIG.get("graph")
    inputs = CONFIG.get("inputs")
    if not graph_name:
        # The module-level run: execute as __main__, its own graph.run(...) runs (with our
        # inputs instead of its initial tasks when we have some).
        INTERCEPT.mode = "inputs" if inputs else "run"
        exec_module("__main__")
        if not STATE["seen_graph_run"]:
            raise InputError("the module ran no graph: name the function that builds it (graph) "
                             "and give initial tasks (inputs)")
        return
    if inputs:
        module = exec_module(module_name_for_import())
        graph = graph_from_builder(module, graph_name)
        run_graph(graph, tasks_from_inputs(graph), lambda tasks: graph.run(tasks))
        return
    # A builder without inputs: the initial tasks the module's own run(...) call passes.
    INTERCEPT.mode = "capture"
    try:
        module = exec_module("__main__")
    except StopModule:
        module = sys.modules["__main__"]
    captured = INTERCEPT.captured
    INTERCEPT.mode = "run"
    if captured is None or not captured[1]:
        raise InputError("no initial tasks: the module's own run(...) call passes none; give inputs")
    graph = graph_from_builder(module, graph_name)
    tasks = captured[1] if graph is captured[0] else map_captured_tasks(graph, captured[1])
    run_graph(graph, tasks, lambda t: graph.run(t))


def main():
    line = sys.stdin.readline()
    CONFIG.update(json.loads(line))
    # stdin stays open but empty for user code that reads it: EOF right away.
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    except OSError:
        pass
    fd = int(CONFIG.get("event_fd", 3))
    STATE["fd"] = fd
    try:
        os.set_inheritable(fd, False)
    except OSError:
        pass
    contain()
    setup_environment()
    started = time.time()
    try:
        import planai
    except BaseException as e:  # noqa: BLE001
        emit("runnerError", kind="import", **error_fields(e))
        emit("finished", outcome="error", completed=0, failed=0, sinkOutputs=0, durationMs=0)
        return 3
    emit("started", protocol=PROTOCOL, pid=os.getpid(), python=sys.version.split()[0],
         planai=getattr(planai, "__version__", None), path=CONFIG.get("path"),
         graph=CONFIG.get("graph"), mockLlm=bool(CONFIG.get("mock_llm")), debug=bool(CONFIG.get("debug")))
    install_hooks(planai)
    if CONFIG.get("mock_llm"):
        try:
            patch_llm_from_config()
        except Exception as e:
            emit("log", level="WARNING", logger="planai-lsp", message="mockLlm: %s" % e)
    outcome = "succeeded"
    exit_code = 0
    try:
        run_selected(planai)
    except InputError as e:
        emit("runnerError", kind="input", exception="InputError", message=str(e), traceback="", location=None)
        outcome, exit_code = "error", 2
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if code != 0:
            emit("runnerError", kind="exit", exception="SystemExit", message="exit code %s" % code,
                 traceback="", location=None)
            outcome, exit_code = "error", 1
    except SyntaxError as e:
        fields = error_fields(e)
        if e.filename == CONFIG.get("path") and e.lineno:
            fields["location"] = {"path": e.filename, "line": e.lineno, "column": max((e.offset or 1) - 1, 0)}
        emit("runnerError", kind="syntax", **fields)
        outcome, exit_code = "error", 1
    except BaseException as e:  # noqa: BLE001 - user code may raise anything
        emit("runnerError", kind="exception", **error_fields(e))
        outcome, exit_code = "error", 1
    if outcome == "succeeded" and STATE["failed"]:
        outcome = "failed"
    graph = STATE["graph"]
    sink_tasks = []
    if graph is not None:
        try:
            sink_tasks = [task_json(t) for t in graph.get_output_tasks()]
        except Exception:
            sink_tasks = []
    emit("finished", outcome=outcome, completed=STATE["completed"], failed=STATE["failed"],
         sinkOutputs=STATE["sink_outputs"], outputs=sink_tasks,
         durationMs=round((time.time() - started) * 1000, 3))
    return exit_code


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.platform.startswith("linux"):
        kill_descendants()
    # Worker threads of a graph that failed to stop would keep us alive: leave now.
    os._exit(code)
