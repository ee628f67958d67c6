//! `planai-lsp run FILE [--graph NAME] [--input JSON]... [--mock-llm] [--debug] [--timeout S]
//! [--format text|json] [--python PATH]`: runs a workflow the way the editor's `planai.run`
//! does and prints its events: a readable log with a status line (text) or one JSON event per
//! line (json). Exit code 0 when the run succeeded, 1 when a task failed or the run did not
//! finish, 2 on bad usage.

use crate::python::envs;
use crate::run::{
    RunEvent, RunLimits, RunManager, RunOutcome, RunProgress, RunRequest, ScratchLocation,
};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const RUN_USAGE: &str = "\
planai-lsp run FILE [--graph NAME] [--input JSON]... [--mock-llm] [--debug] [--timeout S]
                    [--format text|json] [--python PATH]
  --graph NAME   the function that builds the graph (or a module-level Graph); default: run
                 the module as __main__
  --input JSON   an initial task for the entry worker (an object, or an array of objects);
                 default: the tasks the module's own graph.run(...) passes
  --mock-llm     LLM workers answer with generated instances of their output type (no keys,
                 no network)
  --debug        also report each task's input and output and the LLM prompts
  --timeout S    stop the run after S seconds (default 300)
  --python PATH  the interpreter (default: the environment planai-lsp finds from here)
";

#[derive(Debug, PartialEq)]
struct Options {
    file: PathBuf,
    graph: Option<String>,
    inputs: Option<Vec<Value>>,
    mock_llm: bool,
    debug: bool,
    timeout: Option<Duration>,
    json: bool,
    python: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut file = None;
    let mut options = Options {
        file: PathBuf::new(),
        graph: None,
        inputs: None,
        mock_llm: false,
        debug: false,
        timeout: None,
        json: false,
        python: None,
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| {
            iter.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--graph" => options.graph = Some(value("--graph")?),
            "--input" => {
                let text = value("--input")?;
                let parsed: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("--input is not JSON ({e}): {text}"))?;
                let inputs = options.inputs.get_or_insert_with(Vec::new);
                match parsed {
                    Value::Array(items) => inputs.extend(items),
                    Value::Object(_) => inputs.push(parsed),
                    other => return Err(format!("--input must be an object or an array: {other}")),
                }
            }
            "--mock-llm" => options.mock_llm = true,
            "--debug" => options.debug = true,
            "--timeout" => {
                let text = value("--timeout")?;
                let seconds: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| {
                        format!("--timeout takes a positive number of seconds, not {text:?}")
                    })?;
                options.timeout = Some(Duration::from_secs_f64(seconds));
            }
            "--format" => match value("--format")?.as_str() {
                "text" => options.json = false,
                "json" => options.json = true,
                other => return Err(format!("unknown format {other:?} (text or json)")),
            },
            "--python" => options.python = Some(value("--python")?),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            path => {
                if file.replace(PathBuf::from(path)).is_some() {
                    return Err("run takes one FILE".into());
                }
            }
        }
    }
    options.file = file.ok_or("run needs a FILE")?;
    Ok(options)
}

pub fn run(args: &[String]) -> i32 {
    let options = match parse(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("planai-lsp run: {message}\n\n{RUN_USAGE}");
            return 2;
        }
    };
    let path = match std::fs::canonicalize(&options.file) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("planai-lsp run: {}: {e}", options.file.display());
            return 2;
        }
    };
    let source = match crate::workspace::read_file(&path) {
        Ok(text) => text.to_string(),
        Err(e) => {
            eprintln!("planai-lsp run: cannot read {}: {e}", path.display());
            return 2;
        }
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let root = if path.starts_with(&cwd) {
        cwd
    } else {
        path.parent().map(PathBuf::from).unwrap_or(cwd)
    };
    let interpreter = match &options.python {
        Some(python) => vec![python.clone()],
        None => {
            let found = envs::discover(&envs::DiscoveryOptions::from_process(
                None,
                vec![root.clone()],
            ));
            match envs::select_default(&found) {
                Some(chosen) => chosen.interpreter.clone(),
                None => {
                    eprintln!("planai-lsp run: {}", envs::no_interpreter_message());
                    return 1;
                }
            }
        }
    };
    let request = RunRequest {
        interpreter,
        path,
        source,
        roots: vec![root],
        graph: options.graph.clone(),
        inputs: options.inputs.clone(),
        mock_llm: options.mock_llm,
        debug: options.debug,
        timeout: options.timeout,
        scratch: ScratchLocation::Temp,
    };
    // Ctrl-C, SIGTERM and SIGHUP cancel the run (killing its whole tree) instead of killing
    // us, which would leave what the user's code started running: they are blocked here
    // (before any thread starts, so every thread inherits the mask) and taken by sigwait.
    let interrupts = block_interrupts();
    // Like the server: what the workflow started is reparented to us if the runner dies, so
    // the run manager can find and kill it (it holds the run's pipes open), instead of it
    // escaping to init and keeping this command waiting for the pipes to close.
    crate::python::process::become_subreaper();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("planai-lsp run: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let outcome = runtime.block_on(async move {
        // The user runs this in the foreground: no nicer than the command itself (the
        // server, where a run competes with typing, starts runs nicer).
        let manager = RunManager::new(RunLimits {
            niceness: 0,
            ..RunLimits::default()
        });
        let mut started = manager.start(request);
        let mut display = Display::new(options.json);
        let mut outcome = RunOutcome::Error;
        let (interrupted_tx, mut interrupted) = tokio::sync::mpsc::unbounded_channel();
        if let Some(set) = interrupts {
            std::thread::spawn(move || {
                while let Some(signal) = wait_for_signal(&set) {
                    if interrupted_tx.send(signal).is_err() {
                        return;
                    }
                }
            });
        }
        loop {
            tokio::select! {
                event = started.events.recv() => {
                    let Some(event) = event else { break };
                    if let RunEvent::Ended { outcome: ended, .. } = &event {
                        outcome = *ended;
                    }
                    display.show(&event);
                }
                Some(signal) = interrupted.recv() => {
                    if !options.json {
                        eprintln!("\nplanai-lsp run: signal {signal}: cancelling the run");
                    }
                    manager.cancel(&started.id);
                }
            }
        }
        display.finish();
        outcome
    });
    // A reader still blocked on a pipe gets at most 2 s, then nothing of the run may outlive us.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    crate::python::process::kill_all_descendants(std::time::Duration::from_secs(2));
    if outcome == RunOutcome::Succeeded {
        0
    } else {
        1
    }
}

/// Blocks SIGINT, SIGTERM and SIGHUP in this thread (and the threads it starts); the set to
/// wait on.
fn block_interrupts() -> Option<libc::sigset_t> {
    // SAFETY: the set is initialised by sigemptyset before use; pthread_sigmask only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        (libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) == 0).then_some(set)
    }
}

/// Waits for one of the blocked signals; its number.
fn wait_for_signal(set: &libc::sigset_t) -> Option<i32> {
    let mut signal = 0;
    // SAFETY: sigwait reads the set and writes the signal number into `signal`.
    (unsafe { libc::sigwait(set, &mut signal) } == 0).then_some(signal)
}

/// Renders events on the terminal: a log line per event and, on a terminal, a status line
/// with the per-worker counts redrawn at most a few times a second.
struct Display {
    json: bool,
    progress: RunProgress,
    status_line: bool,
    last_status: Option<Instant>,
}

impl Display {
    fn new(json: bool) -> Self {
        Self {
            json,
            progress: RunProgress::default(),
            status_line: !json && std::io::stderr().is_terminal(),
            last_status: None,
        }
    }

    fn show(&mut self, event: &RunEvent) {
        self.progress.apply(event);
        let mut out = std::io::stdout().lock();
        if self.json {
            let _ = writeln!(out, "{}", serde_json::to_string(event).unwrap_or_default());
            return;
        }
        if let Some(line) = render(event) {
            if self.status_line {
                eprint!("\r\x1b[2K");
            }
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        if self.status_line
            && self
                .last_status
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(200))
        {
            self.last_status = Some(Instant::now());
            let summary: String = self.progress.summary().chars().take(150).collect();
            eprint!("\r\x1b[2K[{}%] {summary}", self.progress.percentage());
        }
    }

    fn finish(&mut self) {
        if self.status_line {
            eprintln!("\r\x1b[2K");
        }
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 300 {
        format!("{}...", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

/// One readable line per event (queued tasks and statistics only show in the status line).
fn render(event: &RunEvent) -> Option<String> {
    Some(match event {
        RunEvent::Started {
            python,
            planai,
            pid,
            ..
        } => format!(
            "started   Python {python}, planai {} (pid {pid})",
            planai.as_deref().unwrap_or("?")
        ),
        RunEvent::GraphStarted {
            graph,
            workers,
            initial_tasks,
        } => format!(
            "graph     {} with {} workers, {} initial task(s)",
            graph.as_deref().unwrap_or("(unnamed)"),
            workers.len(),
            initial_tasks.len()
        ),
        RunEvent::TaskQueued { .. } | RunEvent::Stats { .. } => return None,
        RunEvent::TaskStarted {
            worker,
            task_type,
            attempt,
            ..
        } => {
            let retry = if *attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            };
            format!("start     {worker} <- {task_type}{retry}")
        }
        RunEvent::TaskCompleted {
            worker,
            task_type,
            duration_ms,
            ..
        } => format!(
            "done      {worker} <- {task_type} in {:.1} ms",
            duration_ms.unwrap_or(0.0)
        ),
        RunEvent::TaskFailed {
            worker,
            task_type,
            exception,
            message,
            location,
            will_retry,
            ..
        } => {
            let place = location
                .as_ref()
                .map(|l| format!(" at {}:{}", l.path, l.line))
                .unwrap_or_default();
            let retry = if *will_retry { " (will retry)" } else { "" };
            format!("FAILED    {worker} <- {task_type}: {exception}: {message}{place}{retry}")
        }
        RunEvent::SinkOutput {
            worker,
            task_type,
            task,
        } => format!("output    {worker} {task_type} {}", compact(task)),
        RunEvent::Log {
            level,
            logger,
            message,
            ..
        } => format!("log       {level} {logger}: {message}"),
        RunEvent::DebugTaskInput {
            worker,
            task_type,
            task,
        } => format!("in        {worker} {task_type} {}", compact(task)),
        RunEvent::DebugTaskOutput {
            worker,
            task_type,
            task,
        } => format!("out       {worker} {task_type} {}", compact(task)),
        RunEvent::LlmCall {
            worker, response, ..
        } => format!(
            "llm       {} -> {}",
            worker.as_deref().unwrap_or("?"),
            compact(response)
        ),
        RunEvent::RunnerError {
            kind,
            exception,
            message,
            location,
            traceback,
        } => {
            let place = location
                .as_ref()
                .map(|l| format!(" at {}:{}", l.path, l.line))
                .unwrap_or_default();
            let mut text = format!("ERROR     ({kind}) {exception}: {message}{place}");
            if !traceback.is_empty() {
                text.push('\n');
                text.push_str(traceback.trim_end());
            }
            text
        }
        RunEvent::Finished {
            completed,
            failed,
            sink_outputs,
            ..
        } => format!(
            "finished  {completed} task(s) completed, {failed} failed, {sink_outputs} sink output(s)"
        ),
        RunEvent::Output { stream, text } => match stream {
            crate::run::Stream::Stdout => format!("stdout    {text}"),
            crate::run::Stream::Stderr => format!("stderr    {text}"),
        },
        RunEvent::OutputTruncated { limit_bytes } => {
            format!("(output over {limit_bytes} bytes dropped)")
        }
        RunEvent::Ended {
            outcome, message, ..
        } => match message {
            Some(message) => format!("ended     {}: {message}", outcome.as_str()),
            None => format!("ended     {}", outcome.as_str()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_every_option() {
        let options = parse(&args(&[
            "flow.py",
            "--graph",
            "build",
            "--input",
            r#"{"text": "a"}"#,
            "--input",
            r#"[{"text": "b"}]"#,
            "--mock-llm",
            "--debug",
            "--timeout",
            "2.5",
            "--format",
            "json",
        ]))
        .unwrap();
        assert_eq!(options.file, PathBuf::from("flow.py"));
        assert_eq!(options.graph.as_deref(), Some("build"));
        assert_eq!(
            options.inputs,
            Some(vec![
                serde_json::json!({"text": "a"}),
                serde_json::json!({"text": "b"})
            ])
        );
        assert!(options.mock_llm && options.debug && options.json);
        assert_eq!(options.timeout, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn bad_usage_is_explained() {
        for (given, expected) in [
            (vec![], "needs a FILE"),
            (vec!["a.py", "b.py"], "one FILE"),
            (vec!["a.py", "--input", "3"], "object or an array"),
            (vec!["a.py", "--input", "{"], "not JSON"),
            (vec!["a.py", "--timeout", "-1"], "positive number"),
            (vec!["a.py", "--format", "xml"], "unknown format"),
            (vec!["a.py", "--graph"], "needs a value"),
            (vec!["a.py", "--frobnicate"], "unknown option"),
        ] {
            let error = parse(&args(&given)).unwrap_err();
            assert!(error.contains(expected), "{given:?}: {error}");
        }
    }
}
