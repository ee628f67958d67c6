//! End-to-end benchmark of the real server over stdio.
//!
//! ```sh
//! cargo build --release && cargo bench --bench lsp_bench
//! ```
//!
//! Starts the release binary (`target/release/planai-lsp`, or `$PLANAI_LSP_BIN`) as an editor
//! would, speaks LSP over its stdin/stdout (Content-Length framing; the client is shared with
//! `venv_bench` in `support/lsp_stdio.rs`), and for generated PlanAI modules of 600, 6,000 and
//! 60,000 lines measures
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
//! `PLANAI_BENCH_WIRED_PAIRS` (default 400; 0 skips the wired module),
//! `PLANAI_BENCH_WIRED_ONLY` (only the wired edits whose name contains it),
//! `PLANAI_BENCH_RUFF` (ruff binary), `PLANAI_BENCH_STDERR=1` (show the server's log). Only std and serde_json are used.

#[path = "support/lsp_stdio.rs"]
mod lsp_stdio;

use std::time::{Duration, Instant};

use lsp_stdio::{
    binary, env_or, fail, file_uri, mb, med_p90, ms, percentile, verdict, Server, OPEN_TIMEOUT,
};
use planai_lsp::testing::{generate_planai_module, generate_wired_module, wired_worker_edit};
use serde_json::{json, Value};

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

    let mut server = Server::start(&bin, &dir, init_options());
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

    let pairs: usize = env_or("PLANAI_BENCH_WIRED_PAIRS", "400")
        .parse()
        .unwrap_or(400);
    if pairs > 0 {
        bench_wired(&bin, &dir, pairs, edits);
    }

    evict_from_page_cache(&bin);
    let mut fresh = Server::start(&bin, &dir, init_options());
    let idle = fresh.rss();
    let idle_parts = fresh.rss_parts();
    let (open_all, rss) = bench_memory(&mut fresh, &dir, docs);
    let parts = fresh.rss_parts();
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
        "        of which anonymous (heap, stacks) {} and file-backed (code, read-only data) {}; \
         idle: {} and {}",
        mb(parts.0),
        mb(parts.1),
        mb(idle_parts.0),
        mb(idle_parts.1)
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

/// The realistic shape (`generate_wired_module`): one graph builder wires every worker, and
/// each kind of edit a user makes, measured against ruff's server (`ruff server`, from
/// `$PLANAI_BENCH_RUFF` or `ruff` on `PATH`) on the same text in the same run, the two servers
/// edited in turn so load hits both alike.
fn bench_wired(bin: &std::path::Path, dir: &std::path::Path, pairs: usize, edits: usize) {
    let text = generate_wired_module(pairs);
    let lines = text.lines().count();
    let ruff = ruff_binary();
    let mut servers = vec![(
        "planai-lsp".to_string(),
        Server::start(bin, dir, init_options()),
    )];
    if let Some(ruff) = &ruff {
        servers.push((
            "ruff server".to_string(),
            Server::start_command(ruff, &["server"], dir, Value::Null),
        ));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!();
    println!(
        "wired module: {pairs} Task/worker pairs, {lines} lines, one build() that instantiates, \
         adds and chains every worker; load average at start: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    if ruff.is_none() {
        println!("  (ruff not found: set PLANAI_BENCH_RUFF or put `ruff` on PATH to compare)");
    }

    // The servers start their own work (environment probes, indexing); `PLANAI_BENCH_SETTLE_MS`
    // lets it finish before the open is timed.
    let settle: u64 = env_or("PLANAI_BENCH_SETTLE_MS", "0").parse().unwrap_or(0);
    std::thread::sleep(Duration::from_millis(settle));
    let mut uris = Vec::new();
    let mut opens = Vec::new();
    for (i, (_, server)) in servers.iter_mut().enumerate() {
        let uri = file_uri(&dir.join(format!("wired_{pairs}_{i}.py")));
        let start = Instant::now();
        server.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        );
        let (at, published) = server.wait_publish(&uri, 1, OPEN_TIMEOUT);
        if i == 0
            && published["params"]["diagnostics"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
        {
            println!(
                "  note: planai-lsp reported {} on the valid module",
                published["params"]["diagnostics"]
            );
        }
        opens.push(at - start);
        uris.push(uri);
    }

    // (name, needle, column of the edited character within it, the two texts it alternates).
    let body = position_of(
        &text,
        "value = task.index + 7  # body edit",
        "value = task.index + ".len(),
    );
    let module = position_of(&text, "MIDDLE_SETTING = 1", "MIDDLE_SETTING = ".len());
    let builder = position_of(
        &text,
        "(num_retries=2)  # builder edit",
        "(num_retries=".len(),
    );
    let (worker_needle, worker_digits) = wired_worker_edit(pairs);
    let worker = position_of(
        &text,
        &worker_needle,
        worker_needle.len() - "]  # worker edit".len() - 1,
    );
    // The body kind "inside an unclosed bracket" first types `(` before the digit (not
    // timed), toggles the digit after it while the error lasts, and removes the `(` again.
    // Each kind's edits cycle through its texts, the last restoring the module. Digits cycle
    // through three, so that an edit never returns to the text before the previous one (which
    // the cache of a unit's previous result would make cheap: undo is measured apart).
    let worker_digits: Vec<&str> = worker_digits.iter().map(String::as_str).collect();
    let kinds: [(&str, (usize, usize), &[&str]); 7] = [
        ("digit inside a consume_work body", body, &["8", "9", "7"]),
        (
            "body: digit typed inside an unclosed bracket",
            (body.0, body.1 + 1),
            &["8", "9", "7"],
        ),
        (
            "consume_work body: add/remove a syntax error",
            body,
            &["(", "7"],
        ),
        ("digit at module level", module, &["2", "3", "1"]),
        (
            "module-level line: add/remove a syntax error",
            module,
            &["(", "1"],
        ),
        ("digit inside the graph builder", builder, &["3", "4", "2"]),
        (
            "a worker's declared output type changed",
            worker,
            &worker_digits,
        ),
    ];
    println!(
        "{:<46} | {:>18} | {:>18} | {:>7}",
        "edit → diagnostics (median / p90)", "planai-lsp", "ruff server", "ratio"
    );
    println!("{}", "-".repeat(46 + 18 * 2 + 7 + 9));
    let open_ratio = opens
        .get(1)
        .map(|r| r.as_secs_f64() / opens[0].as_secs_f64());
    println!(
        "{:<46} | {:>18} | {:>18} | {:>7}",
        "open → first diagnostics",
        ms(opens[0]),
        opens.get(1).map_or("-".into(), |d| ms(*d)),
        open_ratio.map_or("-".into(), |r| format!("{r:.1}×"))
    );
    let mut versions = vec![1i64; servers.len()];
    let only = env_or("PLANAI_BENCH_WIRED_ONLY", "");
    for (name, (line, col), texts) in kinds {
        if !name.contains(only.as_str()) {
            continue;
        }
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); servers.len()];
        let unclosed = name.contains("unclosed bracket");
        // `(` typed just before the toggled digit, and deleted again afterwards.
        let open_bracket = json!({"range": range(line, col - 1, line, col - 1), "text": "("});
        let remove_bracket = json!({"range": range(line, col - 1, line, col), "text": ""});
        if unclosed {
            for (i, (_, server)) in servers.iter_mut().enumerate() {
                versions[i] += 1;
                server.change(&uris[i], versions[i], open_bracket.clone(), EDIT_TIMEOUT);
            }
        }
        for k in 0..edits * texts.len() {
            let new = texts[k % texts.len()];
            for (i, (_, server)) in servers.iter_mut().enumerate() {
                versions[i] += 1;
                let change = json!({"range": range(line, col, line, col + 1), "text": new});
                samples[i].push(server.change(&uris[i], versions[i], change, EDIT_TIMEOUT).0);
            }
        }
        if unclosed {
            for (i, (_, server)) in servers.iter_mut().enumerate() {
                versions[i] += 1;
                server.change(&uris[i], versions[i], remove_bracket.clone(), EDIT_TIMEOUT);
            }
        }
        let ratio = samples
            .get(1)
            .map(|r| percentile(r, 50).as_secs_f64() / percentile(&samples[0], 50).as_secs_f64());
        println!(
            "{:<46} | {:>18} | {:>18} | {:>7}",
            name,
            med_p90(&samples[0]),
            samples.get(1).map_or("-".into(), |s| med_p90(s)),
            ratio.map_or("-".into(), |r| format!("{r:.1}×"))
        );
    }
    for (_, server) in servers {
        server.stop();
    }
}

fn ruff_binary() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("PLANAI_BENCH_RUFF") {
        return Some(path.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("ruff"))
            .find(|candidate| candidate.is_file())
    })
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
        digit.push(server.change(&uri, version, change, EDIT_TIMEOUT).0);
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
        let (took, published) = server.change(&uri, version, change, EDIT_TIMEOUT);
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

/// Drops the server binary's pages from the page cache, so the memory server maps its code as
/// a freshly installed binary is mapped. How the file came into the cache (copied, built,
/// read) changes how many code pages each fault maps around it: the same binary measured
/// 9.4 or 10.5 MB file-backed depending only on that, more than the heap changes measured.
fn evict_from_page_cache(bin: &std::path::Path) {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open(bin) else {
        return;
    };
    // SAFETY: posix_fadvise only advises the kernel about a file descriptor we own; it
    // touches no memory.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
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

/// Venv validation is turned off: this measures the Rust path.
fn init_options() -> Value {
    json!({"planai": {"validation": {"run": "off"}}})
}
