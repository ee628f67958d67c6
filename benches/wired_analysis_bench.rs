//! In-process analysis timings on the realistic wired module (`cargo bench --bench
//! wired_analysis_bench`): the same edit kinds as `lsp_bench`'s wired series, timed at
//! `check::check_document` (no LSP, no framing, one thread), so a profile of this binary shows
//! only the analysis. `PLANAI_BENCH_WIRED_PAIRS` (default 400), `PLANAI_BENCH_EDITS` (default
//! 101), `PLANAI_BENCH_WIRED_ONLY` (only the kinds whose name contains it),
//! `PLANAI_BENCH_OPEN_PARTS` (print each open's parse and syntax times), `PLANAI_BENCH_SKIP_OPENS`
//! (no open timings: for profiling edits),
//! `PLANAI_BENCH_HELD_SNAPSHOT` (each edit's check runs while a snapshot of the host taken
//! before it is alive, as when a check of another document runs at the same time: what
//! copy-on-write costs the writer, which copies the file data the snapshot shares instead of
//! changing it in place).
//!
//! Prints medians and p90 per kind, the median CPU time of the process per check (both
//! threads; steadier than wall time on a loaded machine), and which path each check took; no
//! assertions.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use planai_lsp::analysis::check::{
    self, CheckPath, Reusable, ScopedThread, Sequential, Source, Trigger,
};
use planai_lsp::analysis::AnalysisHost;
use planai_lsp::testing::{generate_wired_module, wired_worker_edit};
use planai_lsp::text::Edit;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn offset_of(text: &str, needle: &str, column: usize) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the generated module"))
        + column
}

/// CPU time the process has used (every thread).
fn cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    samples[(samples.len() * p / 100).min(samples.len() - 1)]
}

fn main() {
    let pairs: usize = env_or("PLANAI_BENCH_WIRED_PAIRS", "400")
        .parse()
        .unwrap_or(400);
    let edits: usize = env_or("PLANAI_BENCH_EDITS", "101").parse().unwrap_or(101);
    let only = env_or("PLANAI_BENCH_WIRED_ONLY", "");
    let hold_snapshot = std::env::var_os("PLANAI_BENCH_HELD_SNAPSHOT").is_some();
    let base = generate_wired_module(pairs);
    let path = Path::new("/bench/wired.py");
    // A module whose edited body already has an unclosed bracket, for keystrokes while a
    // syntax error lasts.
    let unclosed = base.replacen(
        "task.index + 7  # body edit",
        "task.index + (7  # body edit",
        1,
    );
    // The middle worker's declared output type: `[Item201]` ↔ `[Item202]` changes what one
    // worker produces, so the builder's edges around it change (the second breaks one).
    let (worker_edit, worker_digits) = wired_worker_edit(pairs);
    let worker_digits: Vec<&str> = worker_digits.iter().map(String::as_str).collect();
    // Each kind's edits cycle through its texts, the last restoring the module. Digits cycle
    // through three, so that an edit never returns to the text before the previous one (which
    // the cache of a unit's previous result would make cheap: undo is measured apart).
    let kinds: [(&str, usize, &[&str]); 7] = [
        (
            "digit inside a consume_work body",
            offset_of(&base, "value = task.index + 7  # body edit", 21),
            &["8", "9", "7"],
        ),
        (
            "consume_work body: add/remove a syntax error",
            offset_of(&base, "value = task.index + 7  # body edit", 21),
            &["(", "7"],
        ),
        (
            "digit at module level",
            offset_of(&base, "MIDDLE_SETTING = 1", 17),
            &["2", "3", "1"],
        ),
        (
            "module-level line: add/remove a syntax error",
            offset_of(&base, "MIDDLE_SETTING = 1", 17),
            &["(", "1"],
        ),
        (
            "body: digit typed inside an unclosed bracket",
            offset_of(&unclosed, "value = task.index + (7  # body edit", 22),
            &["8", "9", "7"],
        ),
        (
            "digit inside the graph builder",
            offset_of(&base, "(num_retries=2)  # builder edit", 13),
            &["3", "4", "2"],
        ),
        (
            "a worker's declared output type changed",
            offset_of(
                &base,
                &worker_edit,
                worker_edit.len() - "]  # worker edit".len() - 1,
            ),
            &worker_digits,
        ),
    ];
    println!(
        "wired module, {pairs} pairs, {} lines, in-process check_document (one thread){}",
        base.lines().count(),
        if hold_snapshot {
            ", each edit while an older snapshot of the host is alive"
        } else {
            ""
        }
    );
    {
        // The first open of the process (cold allocator, as a server sees it) and the median
        // of the next five.
        let mut opens = Vec::new();
        let mut first = None;
        let rounds = if std::env::var_os("PLANAI_BENCH_SKIP_OPENS").is_some() {
            0
        } else {
            6
        };
        for _ in 0..rounds {
            let host = RwLock::new(AnalysisHost::default());
            let started = Instant::now();
            let cpu_started = cpu_time();
            let checked = check_once(
                &host,
                path,
                &base,
                None,
                Trigger::Opened,
                None,
                Reusable::default(),
            );
            let took = (started.elapsed(), cpu_time().saturating_sub(cpu_started));
            if let (
                CheckPath::Full {
                    parse,
                    syntax,
                    parts,
                    shared_units,
                },
                true,
            ) = (
                checked.path,
                std::env::var_os("PLANAI_BENCH_OPEN_PARTS").is_some(),
            ) {
                println!(
                    "  open: parse {parse:?} ({parts} part(s) side by side), syntax {syntax:?} (beside the PlanAI analysis, \
                     then {shared_units} of its check units), total {:?}",
                    took.0
                );
            }
            if first.is_none() {
                first = Some(took);
            } else {
                opens.push(took);
            }
        }
        let (first_wall, first_cpu) = first.unwrap_or_default();
        opens.sort();
        let (wall, cpu) = opens.get(opens.len() / 2).copied().unwrap_or_default();
        println!(
            "{:<46} {:>7.2} ms  (cpu {:.2} ms); later opens {:.2} ms (cpu {:.2} ms)",
            "open, first in the process",
            first_wall.as_secs_f64() * 1e3,
            first_cpu.as_secs_f64() * 1e3,
            wall.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3
        );
    }
    for (name, at, texts) in kinds {
        if !name.contains(only.as_str()) {
            continue;
        }
        let host = RwLock::new(AnalysisHost::default());
        let mut text = if name.contains("unclosed bracket") {
            unclosed.clone()
        } else {
            base.clone()
        };
        let first = check_once(
            &host,
            path,
            &text,
            None,
            Trigger::Opened,
            None,
            Reusable::default(),
        );
        let mut tree = first.tree;
        let mut reusable = first.reusable;
        let mut samples = Vec::new();
        let mut cpu = Vec::new();
        let mut paths = std::collections::BTreeMap::<&str, usize>::new();
        // Of full-path checks: the parse, and the syntax checks (beside the PlanAI analysis).
        let (mut parses, mut syntaxes) = (Vec::new(), Vec::new());
        for k in 0..edits * texts.len() {
            let new = texts[k % texts.len()];
            let old_len = text[at..].chars().next().map_or(0, char::len_utf8);
            text.replace_range(at..at + old_len, new);
            let edit = Edit {
                start: at,
                old_end: at + old_len,
                new_end: at + new.len(),
            };
            if let Some(tree) = tree.as_mut() {
                tree.edit(&tree_sitter::InputEdit {
                    start_byte: edit.start,
                    old_end_byte: edit.old_end,
                    new_end_byte: edit.new_end,
                    start_position: planai_lsp::text::str_offset_to_point(&text, edit.start),
                    old_end_position: planai_lsp::text::str_offset_to_point(&text, edit.start),
                    new_end_position: planai_lsp::text::str_offset_to_point(&text, edit.new_end),
                });
            }
            let held = hold_snapshot.then(|| host.read().unwrap().snapshot());
            let started = Instant::now();
            let cpu_started = cpu_time();
            let checked = check_edit(
                &host,
                path,
                &text,
                tree.as_ref(),
                edit,
                std::mem::take(&mut reusable),
            );
            samples.push(started.elapsed());
            cpu.push(cpu_time().saturating_sub(cpu_started));
            drop(held);
            if let CheckPath::Full { parse, syntax, .. } = checked.path {
                parses.push(parse);
                syntaxes.push(syntax);
            }
            *paths
                .entry(match checked.path {
                    CheckPath::Statement => "statement",
                    CheckPath::PlanaiOnly => "planai-only",
                    CheckPath::Full { .. } => "full",
                })
                .or_default() += 1;
            if checked.tree.is_some() {
                tree = checked.tree;
            }
            reusable = checked.reusable;
        }
        let median = percentile(&mut samples, 50);
        let p90 = percentile(&mut samples, 90);
        println!(
            "{name:<46} {:>7.2} ms  p90 {:>7.2} ms  cpu {:>6.2} ms  paths {paths:?}",
            median.as_secs_f64() * 1e3,
            p90.as_secs_f64() * 1e3,
            percentile(&mut cpu, 50).as_secs_f64() * 1e3
        );
        if !parses.is_empty() {
            println!(
                "{:<46} parse {:.2} ms, syntax checks {:.2} ms (medians)",
                "",
                percentile(&mut parses, 50).as_secs_f64() * 1e3,
                percentile(&mut syntaxes, 50).as_secs_f64() * 1e3
            );
        }
    }
}

/// One edit's check, apart from the opens so that a profiler can collect edits alone
/// (`valgrind --tool=callgrind --toggle-collect='*check_edit*'`).
#[inline(never)]
fn check_edit(
    host: &RwLock<AnalysisHost>,
    path: &Path,
    text: &str,
    tree: Option<&tree_sitter::Tree>,
    edit: Edit,
    previous: Reusable,
) -> check::Checked {
    check_once(
        host,
        path,
        text,
        tree,
        Trigger::Edited,
        Some(edit),
        previous,
    )
}

fn check_once(
    host: &RwLock<AnalysisHost>,
    path: &Path,
    text: &str,
    tree: Option<&tree_sitter::Tree>,
    trigger: Trigger,
    edit: Option<Edit>,
    previous: Reusable,
) -> check::Checked {
    check::check_document(
        host,
        Source {
            path,
            text: Arc::from(text),
            tree,
            tree_is_current: false,
            trigger,
            edit,
        },
        previous,
        &TwoThreads,
    )
}

/// The server's `Join` without its threads (a scoped thread per join), or `Sequential` with
/// `PLANAI_BENCH_SEQUENTIAL`.
struct TwoThreads;

impl check::Join for TwoThreads {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        if std::env::var_os("PLANAI_BENCH_SEQUENTIAL").is_some() {
            return Sequential.join(a, b);
        }
        ScopedThread.join(a, b)
    }
}
