//! End-to-end benchmark of the real server over stdio.
//!
//! ```sh
//! cargo build --release && cargo bench --bench lsp_bench
//! ```
//!
//! Starts the release binary (`target/release/planai-lsp`, or `$PLANAI_LSP_BIN`) as an editor
//! would, speaks LSP over its stdin/stdout (Content-Length framing), and for generated PlanAI
//! modules of 600, 6,000 and 60,000 lines measures
//!
//! - open → diagnostics: `didOpen` (version 1) until the `publishDiagnostics` for that version;
//! - edit → diagnostics, 51 times each: a one-character incremental `didChange` that toggles the
//!   digit of `retries = 3` near the end of the file, and one that removes/restores the `:` of
//!   the final `if __name__ == "__main__":` (a syntax error appears/disappears), until the
//!   `publishDiagnostics` carrying the new version;
//!
//! then, in a fresh server, opens 100 documents of 600 lines, waits for all their diagnostics
//! and reads the server's resident memory (`VmRSS`, `VmHWM`) from `/proc/<pid>/status`.
//! Venv validation is turned off (`planai.validation.run = "off"`): this measures the Rust path.
//!
//! Environment: `PLANAI_LSP_BIN` (binary), `PLANAI_BENCH_SIZES` (default `600,6000,60000`),
//! `PLANAI_BENCH_EDITS` (default 51), `PLANAI_BENCH_DOCS` (default 100),
//! `PLANAI_BENCH_STDERR=1` (show the server's log). Only std and serde_json are used.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use planai_lsp::testing::generate_planai_module;
use serde_json::{json, Value};

const OPEN_TIMEOUT: Duration = Duration::from_secs(120);
const EDIT_TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    let bin = binary();
    let sizes: Vec<usize> = env_or("PLANAI_BENCH_SIZES", "600,6000,60000")
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    let edits: usize = env_or("PLANAI_BENCH_EDITS", "51").parse().unwrap_or(51);
    let docs: usize = env_or("PLANAI_BENCH_DOCS", "100").parse().unwrap_or(100);
    let dir = std::env::temp_dir().join(format!("planai-lsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("{}: {e}", dir.display())));

    let mut server = Server::start(&bin, &dir);
    println!("planai-lsp stdio benchmark");
    println!("  binary:            {}", bin.display());
    println!("  position encoding: {}", server.encoding);
    println!("  edits per series:  {edits}");
    println!();
    println!(
        "{:>7} | {:>10} | {:>24} | {:>24} | {:>24}",
        "lines",
        "open→diag",
        "digit edit→diag med/p90",
        "':' break→diag med/p90",
        "':' repair→diag med/p90"
    );
    println!("{}", "-".repeat(7 + 10 + 24 * 3 + 12));
    let mut target_edit = None;
    for &lines in &sizes {
        let row = bench_size(&mut server, &dir, lines, edits);
        println!(
            "{:>7} | {:>10} | {:>24} | {:>24} | {:>24}",
            lines,
            ms(row.open),
            med_p90(&row.digit),
            med_p90(&row.colon_break),
            med_p90(&row.colon_repair),
        );
        if !row.notes.is_empty() {
            for note in &row.notes {
                println!("        note: {note}");
            }
        }
        if lines == 6_000 {
            target_edit = Some(percentile(&row.digit, 50));
        }
    }
    let after_sizes = server.rss();
    server.stop();

    let mut fresh = Server::start(&bin, &dir);
    let idle = fresh.rss();
    let (open_all, rss) = bench_memory(&mut fresh, &dir, docs);
    fresh.stop();
    let _ = std::fs::remove_dir_all(&dir);

    println!();
    println!(
        "memory: fresh server idle VmRSS {}; with {docs} open 600-line documents VmRSS {} \
         (peak VmHWM {}); opening them all took {}",
        mb(idle.0),
        mb(rss.0),
        mb(rss.1),
        ms(open_all)
    );
    println!(
        "        (first server after the size series: VmRSS {}, VmHWM {})",
        mb(after_sizes.0),
        mb(after_sizes.1)
    );
    println!();
    if let Some(median) = target_edit {
        println!(
            "target: edit→diagnostics median at 6,000 lines < 2 ms: {} ({})",
            verdict(median < Duration::from_millis(2)),
            ms(median)
        );
    }
    if docs == 100 {
        println!(
            "target: VmRSS < 30 MB with 100 open 600-line documents: {} ({})",
            verdict(rss.0 < 30 * 1024),
            mb(rss.0)
        );
    }
}

struct Row {
    open: Duration,
    digit: Vec<Duration>,
    colon_break: Vec<Duration>,
    colon_repair: Vec<Duration>,
    notes: Vec<String>,
}

fn bench_size(server: &mut Server, dir: &std::path::Path, lines: usize, edits: usize) -> Row {
    let text = generate_planai_module(lines);
    let uri = file_uri(&dir.join(format!("bench_{lines}.py")));
    let mut notes = Vec::new();

    let start = Instant::now();
    server.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
    );
    let (at, published) = server.wait_publish(&uri, 1, OPEN_TIMEOUT);
    let open = at - start;
    let syntax_at_open = syntax_count(&published);
    if syntax_at_open != 0 {
        notes.push(format!(
            "{syntax_at_open} syntax diagnostics on the valid module"
        ));
    }

    let mut version = 1;
    // Toggle the digit of `retries = 3`.
    let (digit_line, digit_col) = position_of(&text, "    retries = 3\n", "    retries = ".len());
    let mut digit = Vec::with_capacity(edits);
    for k in 0..edits {
        version += 1;
        let new = if k % 2 == 0 { "4" } else { "3" };
        let change = json!({
            "range": range(digit_line, digit_col, digit_line, digit_col + 1),
            "text": new,
        });
        digit.push(server.change(&uri, version, change).0);
    }

    // Remove and restore the `:` of the final `if __name__ == "__main__":`.
    let header = "if __name__ == \"__main__\":\n";
    let (colon_line, colon_col) = position_of(&text, header, header.len() - 2);
    let (mut colon_break, mut colon_repair) = (Vec::new(), Vec::new());
    let mut wrong = 0;
    for k in 0..edits * 2 {
        version += 1;
        let breaking = k % 2 == 0;
        let change = if breaking {
            json!({"range": range(colon_line, colon_col, colon_line, colon_col + 1), "text": ""})
        } else {
            json!({"range": range(colon_line, colon_col, colon_line, colon_col), "text": ":"})
        };
        let (took, published) = server.change(&uri, version, change);
        let syntax = syntax_count(&published);
        if breaking {
            wrong += usize::from(syntax == 0);
            colon_break.push(took);
        } else {
            wrong += usize::from(syntax != syntax_at_open);
            colon_repair.push(took);
        }
    }
    if wrong > 0 {
        notes.push(format!(
            "{wrong} colon edits published an unexpected number of syntax diagnostics"
        ));
    }
    server.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    Row {
        open,
        digit,
        colon_break,
        colon_repair,
        notes,
    }
}

/// Opens `docs` 600-line documents at once and waits for all their diagnostics.
fn bench_memory(server: &mut Server, dir: &std::path::Path, docs: usize) -> (Duration, (u64, u64)) {
    let text = generate_planai_module(600);
    let uris: Vec<String> = (0..docs)
        .map(|i| file_uri(&dir.join(format!("mem_{i}.py"))))
        .collect();
    let start = Instant::now();
    for uri in &uris {
        server.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        );
    }
    let mut pending: std::collections::HashSet<&str> = uris.iter().map(String::as_str).collect();
    let deadline = Instant::now() + OPEN_TIMEOUT;
    while !pending.is_empty() {
        let Some((_, msg)) = server.recv_until(deadline) else {
            server.abort(&format!(
                "timed out waiting for diagnostics of {} of {docs} documents",
                pending.len()
            ));
        };
        if msg["method"] == "textDocument/publishDiagnostics" && msg["params"]["version"] == 1 {
            if let Some(uri) = msg["params"]["uri"].as_str() {
                pending.remove(uri);
            }
        }
    }
    let took = start.elapsed();
    // Let any allocation from the last analyses settle before sampling.
    std::thread::sleep(Duration::from_millis(300));
    (took, server.rss())
}

struct Server {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    rx: Receiver<(Instant, Value)>,
    next_id: i64,
    encoding: String,
}

impl Server {
    fn start(bin: &PathBuf, root: &std::path::Path) -> Server {
        let stderr = if std::env::var_os("PLANAI_BENCH_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let mut child = Command::new(bin)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| fail(&format!("cannot start {}: {e}", bin.display())));
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("piped stdin")));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = channel();
        let replies = Arc::clone(&stdin);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(msg) = read_message(&mut reader) {
                let at = Instant::now();
                // Answer the server's own requests so it never waits on us.
                if msg.get("id").is_some() && msg.get("method").is_some() {
                    let result = match msg["method"].as_str() {
                        Some("workspace/configuration") => {
                            let n = msg["params"]["items"].as_array().map_or(0, Vec::len);
                            Value::Array(vec![Value::Null; n])
                        }
                        _ => Value::Null,
                    };
                    let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result});
                    if let Ok(mut w) = replies.lock() {
                        let _ = write_message(&mut *w, &reply);
                    }
                    continue;
                }
                if tx.send((at, msg)).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            stdin,
            rx,
            next_id: 0,
            encoding: String::new(),
        };
        let root_uri = file_uri(root);
        let result = server.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "clientInfo": {"name": "planai-lsp-bench"},
                "rootUri": root_uri,
                "workspaceFolders": [{"uri": root_uri, "name": "bench"}],
                "capabilities": {
                    "general": {"positionEncodings": ["utf-8", "utf-16"]},
                    "textDocument": {
                        "synchronization": {"didSave": true},
                        "publishDiagnostics": {"relatedInformation": true, "versionSupport": true}
                    }
                },
                "initializationOptions": {"planai": {"validation": {"run": "off"}}}
            }),
        );
        server.encoding = result["capabilities"]["positionEncoding"]
            .as_str()
            .unwrap_or("utf-16 (default)")
            .to_string();
        server.notify("initialized", json!({}));
        server
    }

    fn send(&mut self, msg: &Value) {
        let ok = match self.stdin.lock() {
            Ok(mut w) => write_message(&mut *w, msg).is_ok(),
            Err(_) => false,
        };
        if !ok {
            self.abort("the server closed its stdin");
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + OPEN_TIMEOUT;
        loop {
            let Some((_, msg)) = self.recv_until(deadline) else {
                self.abort(&format!("no response to {method}"));
            };
            if msg["id"] == id && msg.get("method").is_none() {
                if let Some(error) = msg.get("error") {
                    self.abort(&format!("{method} failed: {error}"));
                }
                return msg["result"].clone();
            }
        }
    }

    fn recv_until(&mut self, deadline: Instant) -> Option<(Instant, Value)> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => self.abort("the server exited"),
        }
    }

    /// Waits for the `publishDiagnostics` of `uri` that carries `version`.
    fn wait_publish(&mut self, uri: &str, version: i64, timeout: Duration) -> (Instant, Value) {
        let deadline = Instant::now() + timeout;
        loop {
            let Some((at, msg)) = self.recv_until(deadline) else {
                self.abort(&format!(
                    "timed out after {timeout:?} waiting for diagnostics of {uri} version {version}"
                ));
            };
            if msg["method"] == "textDocument/publishDiagnostics"
                && msg["params"]["uri"] == uri
                && msg["params"]["version"] == version
            {
                return (at, msg);
            }
        }
    }

    /// Sends one incremental change and waits for the diagnostics of the new version.
    fn change(&mut self, uri: &str, version: i64, change: Value) -> (Duration, Value) {
        while self.rx.try_recv().is_ok() {}
        let start = Instant::now();
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}),
        );
        let (at, msg) = self.wait_publish(uri, version, EDIT_TIMEOUT);
        (at - start, msg)
    }

    /// (VmRSS, VmHWM) in KiB.
    fn rss(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn stop(mut self) {
        let _ = self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("warning: the server did not exit after shutdown/exit; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn abort(&mut self, message: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        fail(message)
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            }
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn write_message(w: &mut impl Write, msg: &Value) -> std::io::Result<()> {
    let body = serde_json::to_vec(msg)?;
    write!(w, "Content-Length: {}\r\n\r\n", body.len())?;
    w.write_all(&body)?;
    w.flush()
}

fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("PLANAI_LSP_BIN") {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            fail(&format!("PLANAI_LSP_BIN={} is not a file", bin.display()));
        }
        return bin;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let bin = target.join("release").join("planai-lsp");
    if !bin.is_file() {
        fail(&format!(
            "{} not found: run `cargo build --release` first (or set PLANAI_LSP_BIN)",
            bin.display()
        ));
    }
    bin
}

/// (0-based line, column) of `column_in_needle` within the last occurrence of `needle`.
fn position_of(text: &str, needle: &str, column_in_needle: usize) -> (usize, usize) {
    let at = text
        .rfind(needle)
        .unwrap_or_else(|| fail(&format!("the generated module lacks {needle:?}")));
    let line = text[..at].matches('\n').count();
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    // The generated text is ASCII, so byte, UTF-8 and UTF-16 columns agree.
    (line, at - line_start + column_in_needle)
}

fn range(l1: usize, c1: usize, l2: usize, c2: usize) -> Value {
    json!({"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}})
}

fn syntax_count(publish: &Value) -> usize {
    publish["params"]["diagnostics"]
        .as_array()
        .map_or(0, |ds| ds.iter().filter(|d| d["code"] == "syntax").count())
}

fn file_uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn percentile(samples: &[Duration], p: usize) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn med_p90(samples: &[Duration]) -> String {
    format!(
        "{} / {}",
        ms(percentile(samples, 50)),
        ms(percentile(samples, 90))
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

fn fail(message: &str) -> ! {
    eprintln!("lsp_bench: {message}");
    std::process::exit(1)
}
