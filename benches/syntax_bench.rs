//! Syntax diagnostics benchmark (`cargo bench --bench syntax_bench`).
//!
//! After one-character edits near the end of a generated 6,000-line PlanAI module (toggling
//! the digit of `retries = 3`; removing, then restoring, the `:` of the last `if`), each
//! version is reparsed incrementally (not timed), then timed: the full `syntax_diagnostics`
//! walk, or `SyntaxCache::diagnostics` with the cache the previous versions filled. The
//! "walked" and "reused" columns count top-level statements in the cache's last call.
//!
//! Prints medians; no assertions (timings depend on the machine).

use std::hint::black_box;
use std::time::{Duration, Instant};

use planai_lsp::syntax::{new_parser, syntax_diagnostics, SyntaxCache};
use tree_sitter::{Parser, Tree};

const ROUNDS: usize = 300;

/// Replaces `old` bytes at `at` with `new` and reparses incrementally.
fn replace(
    parser: &mut Parser,
    tree: &mut Tree,
    text: &mut String,
    at: usize,
    old: usize,
    new: &str,
) {
    planai_lsp::testing::edit_and_reparse(parser, tree, text, at, at + old, new);
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = black_box(f());
    (start.elapsed(), out)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One benchmark scenario: the edits applied in turn, one version per edit.
struct Scenario {
    name: &'static str,
    /// (byte offset, bytes removed, inserted text) for each step of the cycle.
    cycle: Vec<(usize, usize, &'static str)>,
}

fn main() {
    let base = planai_lsp::testing::generate_planai_module(6_000);
    let digit = base.find("retries = 3").expect("retries") + "retries = ".len();
    let colon = base.rfind("\":\n").expect("last if") + 1;
    let scenarios = [
        Scenario {
            name: "toggle digit in `retries = 3`",
            cycle: vec![(digit, 1, "4"), (digit, 1, "3")],
        },
        Scenario {
            name: "remove ':' of the last `if`",
            cycle: vec![(colon, 1, ""), (colon, 0, ":")],
        },
    ];
    let mut parser = new_parser();
    println!(
        "syntax diagnostics, 6,000-line module ({} KiB), median of {ROUNDS} edits",
        base.len() / 1024
    );
    println!(
        "{:<34} {:>10} {:>10} {:>9} {:>9}",
        "edit", "full ms", "cache ms", "walked", "reused"
    );
    for scenario in &scenarios {
        let steps = scenario.cycle.len();
        // Each version is reparsed, then timed as the server would: right after its reparse.
        // The full computation and the cache get runs of their own so that neither warms the
        // processor's caches for the other; the cache's results are checked after timing.
        let mut full = vec![Vec::new(); steps];
        let mut text = base.clone();
        let mut tree = parser.parse(&text, None).expect("parse");
        for round in 0..ROUNDS * steps {
            let step = round % steps;
            let (at, old, new) = scenario.cycle[step];
            replace(&mut parser, &mut tree, &mut text, at, old, new);
            full[step].push(time(|| syntax_diagnostics(&tree, &text)).0);
        }
        let mut cached = vec![Vec::new(); steps];
        let mut walked = vec![0; steps];
        let mut reused = vec![0; steps];
        let mut text = base.clone();
        let mut tree = parser.parse(&text, None).expect("parse");
        let mut cache = SyntaxCache::new();
        let (cold, _) = time(|| cache.diagnostics(&tree, &text));
        for round in 0..ROUNDS * steps {
            let step = round % steps;
            let (at, old, new) = scenario.cycle[step];
            replace(&mut parser, &mut tree, &mut text, at, old, new);
            let (elapsed, got) = time(|| cache.diagnostics(&tree, &text));
            cached[step].push(elapsed);
            walked[step] = cache.last_recomputed();
            reused[step] = cache.last_reused();
            assert_eq!(
                got,
                syntax_diagnostics(&tree, &text),
                "the cache must agree"
            );
        }
        for step in 0..steps {
            let (_, old, new) = scenario.cycle[step];
            let label = match (step, old, new) {
                (0, _, _) => scenario.name.to_string(),
                (_, 0, new) => format!("  then restore {new:?}"),
                (_, _, new) => format!("  then back to {new:?}"),
            };
            println!(
                "{label:<34} {:>10.3} {:>10.3} {:>9} {:>9}",
                ms(median(std::mem::take(&mut full[step]))),
                ms(median(std::mem::take(&mut cached[step]))),
                walked[step],
                reused[step],
            );
        }
        println!("  (first call, empty cache: {:.3} ms)", ms(cold));
    }
}
