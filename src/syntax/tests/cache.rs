//! `SyntaxCache` must always agree with `syntax_diagnostics`, and must actually reuse work.

use super::{CASES, LIST_VALID_STDLIB};
use crate::syntax::{new_parser, syntax_diagnostics, SyntaxCache};
use crate::testing::{edit_and_reparse as apply_edit, Random as Rng};
use tree_sitter::Tree;

/// A byte offset on a character boundary, often at the start or end of a line, where the
/// boundaries between top-level statements are.
fn random_offset(rng: &mut Rng, text: &str) -> usize {
    let mut at = rng.below(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match rng.below(4) {
        0 => text[..at].rfind('\n').map_or(0, |i| i + 1),
        1 => text[at..].find('\n').map_or(text.len(), |i| at + i),
        _ => at,
    }
}

const INSERTIONS: &[&str] = &[
    ":",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "\"\"\"",
    "\t",
    " ",
    "    ",
    "\n",
    "\r\n",
    "\0",
    "x",
    "#",
    "\\",
    "\x0c",
    "é",
    "if x:",
    "def f(",
    "else:\n",
    "\n    ",
    "\n\t",
    "= 1",
    ",",
    "; ",
    "\\\n",
    " \\",
    "finally:",
    "match x:\n",
    "case 1:",
];

/// Applies `edits` random edits to `source`, checking the cache against a full computation
/// after each one. Now and then the tree is parsed afresh, an edit is undone, or the whole
/// text is replaced, as happens to an open document.
fn check_random_edits(seed: u64, source: &str, edits: usize) {
    let mut rng = Rng(seed);
    let mut parser = new_parser();
    let mut text = source.to_string();
    let mut tree = parser.parse(&text, None).expect("parse");
    let mut cache = SyntaxCache::new();
    for step in 0..edits {
        let mut undo = None;
        match rng.below(20) {
            0 => tree = parser.parse(&text, None).expect("parse"),
            1 => {
                let case = &CASES[rng.below(CASES.len())];
                let (len, src) = (text.len(), case.src);
                apply_edit(&mut parser, &mut tree, &mut text, 0, len, src);
            }
            2 => {
                let (len, src) = (text.len(), source);
                apply_edit(&mut parser, &mut tree, &mut text, 0, len, src);
            }
            _ => {
                let start = random_offset(&mut rng, &text);
                let mut end = start;
                if rng.below(3) == 0 {
                    for _ in 0..=rng.below(3) {
                        end += text[end..].chars().next().map_or(0, char::len_utf8);
                    }
                }
                let insert = if end > start && rng.below(2) == 0 {
                    ""
                } else {
                    INSERTIONS[rng.below(INSERTIONS.len())]
                };
                if rng.below(4) == 0 {
                    undo = Some((start, start + insert.len(), text[start..end].to_string()));
                }
                apply_edit(&mut parser, &mut tree, &mut text, start, end, insert);
            }
        }
        assert_agrees(&mut cache, &tree, &text, seed, step);
        if let Some((start, end, old)) = undo {
            apply_edit(&mut parser, &mut tree, &mut text, start, end, &old);
            assert_agrees(&mut cache, &tree, &text, seed, step);
        }
    }
}

fn assert_agrees(cache: &mut SyntaxCache, tree: &Tree, text: &str, seed: u64, step: usize) {
    let full = syntax_diagnostics(tree, text);
    let cached = cache.diagnostics(tree, text);
    assert!(
        cached == full,
        "seed {seed}, step {step}: the cache disagrees with a full computation\n\
         text: {text:?}\ncached: {cached:#?}\nfull: {full:#?}"
    );
}

/// Valid and invalid Python exercising what the walk tracks across statements: indentation
/// with tabs and form feeds, brackets and strings spanning lines, backslash continuations,
/// CRLF, a BOM, comments between statements.
const TRICKY: &str = "\u{feff}import os\r\nx = (1,\r\n     2)\r\n\r\nif x:\r\n\tpass\r\n\
    \x0cdef f(a,\n      b):  # c \\\n    return [a,\n  b]\n\n\n@dec\nclass A:\n    '''doc\n\
    string'''\n    def g(self): return 1 + \\\n        2\n\n    def h(self):\n\tpass\n\
    \n        # deep comment\nmatch x:\n    case 1:\n        pass\n    case _:\n        pass\n\
    y = 'unterminated\nz = 2\n  w = 3\nfor i in range(3):\nprint(i)\nwhile True\n    break\n\
    try:\n    pass\nfinally:\n    pass\ns = \"\"\"never\nclosed\n";

/// Three seeds per source by default; `PLANAI_SYNTAX_CACHE_SEEDS=n` runs `n` for a deeper search.
#[test]
fn cache_agrees_with_full_computation_under_random_edits() {
    let seeds = std::env::var("PLANAI_SYNTAX_CACHE_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3u64);
    let planai = crate::testing::generate_planai_module(600);
    let all_cases: String = CASES.iter().map(|c| c.src).collect::<Vec<_>>().join("\n");
    let sources: [(&str, usize); 4] = [
        (&planai, 400),
        (TRICKY, 600),
        (&all_cases, 400),
        (
            "class A(Task)\n    x: int = 1\n\ndef f(:\n    pass\n\ny = [1 2]\nz = (\n",
            400,
        ),
    ];
    for (i, (source, edits)) in sources.iter().enumerate() {
        for seed in 0..seeds {
            check_random_edits(seed * 16 + i as u64, source, *edits);
        }
    }
}

/// Random edits to the first `PLANAI_SYNTAX_CACHE_CORPUS` (default 12: about 2 s in a debug
/// build) stdlib files CPython compiles (real code has constructs the sources above lack).
/// Raise it for a longer run; a few hundred files take minutes.
#[test]
fn cache_agrees_on_edited_stdlib_files() {
    let limit = std::env::var("PLANAI_SYNTAX_CACHE_CORPUS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(12);
    let out = std::process::Command::new("python3")
        .args(["-c", LIST_VALID_STDLIB, &limit.to_string()])
        .output()
        .expect("python3 on PATH (it lists the stdlib files it compiles)");
    assert!(out.status.success(), "python3 could not list the stdlib");
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        list.lines().count() >= limit.min(6),
        "too few stdlib files listed: {list:?}"
    );
    for (i, path) in list.lines().enumerate() {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        eprintln!("{path}");
        check_random_edits(i as u64, &text, 60);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Arbitrary short texts, each followed by a few arbitrary splices.
    #[test]
    fn cache_agrees_on_arbitrary_texts(
        src in "[a-z :()\\[\\]\"'#=\\\\\n\t\x0c\0é]{0,120}",
        edits in proptest::collection::vec(
            (0usize..200, 0usize..4, "[a-z :()\\[\\]\"'#=\\\\\n\t\0]{0,3}"),
            1..12,
        ),
    ) {
        let mut parser = new_parser();
        let mut text = src.clone();
        let mut tree = parser.parse(&text, None).expect("parse");
        let mut cache = SyntaxCache::new();
        proptest::prop_assert_eq!(cache.diagnostics(&tree, &text), syntax_diagnostics(&tree, &text));
        for (at, removed, insert) in edits {
            let mut start = at.min(text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = start;
            for _ in 0..removed {
                end += text[end..].chars().next().map_or(0, char::len_utf8);
            }
            apply_edit(&mut parser, &mut tree, &mut text, start, end, &insert);
            proptest::prop_assert_eq!(
                cache.diagnostics(&tree, &text),
                syntax_diagnostics(&tree, &text)
            );
        }
    }
}

#[test]
fn unchanged_statements_are_reused() {
    let mut text = crate::testing::generate_planai_module(600);
    let mut parser = new_parser();
    let mut tree = parser.parse(&text, None).expect("parse");
    let mut cache = SyntaxCache::new();
    assert!(cache.diagnostics(&tree, &text).is_empty());
    let statements = cache.last_recomputed();
    assert!(statements > 50, "{statements}");
    assert_eq!(cache.last_reused(), 0);

    // The same version again: nothing to walk.
    assert!(cache.diagnostics(&tree, &text).is_empty());
    assert_eq!(
        (cache.last_recomputed(), cache.last_reused()),
        (0, statements)
    );

    // A digit inside `def main()`: only that statement is walked again.
    let digit = text.find("retries = 3").expect("retries") + "retries = ".len();
    apply_edit(&mut parser, &mut tree, &mut text, digit, digit + 1, "4");
    assert!(cache.diagnostics(&tree, &text).is_empty());
    assert_eq!(cache.last_recomputed(), 1);
    assert_eq!(cache.last_reused(), statements - 1);

    // Without the last `:`, a few statements at the end are walked, the rest is reused.
    let colon = text.rfind("\":").expect("colon") + 1;
    apply_edit(&mut parser, &mut tree, &mut text, colon, colon + 1, "");
    let found = cache.diagnostics(&tree, &text);
    assert_eq!(found, syntax_diagnostics(&tree, &text));
    assert_eq!(found[0].message, "expected ':'");
    assert!(cache.last_recomputed() <= 3, "{}", cache.last_recomputed());
    assert!(cache.last_reused() >= statements - 3);

    // A line inserted at the top moves every statement: still reused, ranges shifted.
    apply_edit(&mut parser, &mut tree, &mut text, colon, colon, ":");
    apply_edit(&mut parser, &mut tree, &mut text, 0, 0, "\n");
    assert!(cache.diagnostics(&tree, &text).is_empty());
    assert!(
        cache.last_reused() >= statements - 3,
        "{}",
        cache.last_reused()
    );

    // With an error left in the middle of the file, only the statement with the error is
    // walked again besides the edited one: the statements after it are still reused.
    let half = text.len() / 2;
    let middle = text[half..].find("\n\n\nclass ").expect("class") + half;
    apply_edit(
        &mut parser,
        &mut tree,
        &mut text,
        middle,
        middle,
        "\n\nx = 1 +",
    );
    let found = cache.diagnostics(&tree, &text);
    assert_eq!(found, syntax_diagnostics(&tree, &text));
    assert_eq!(found.len(), 1, "{found:?}");
    let digit = text.find("retries = 4").expect("retries") + "retries = ".len();
    apply_edit(&mut parser, &mut tree, &mut text, digit, digit + 1, "5");
    assert_eq!(cache.diagnostics(&tree, &text), found);
    assert!(cache.last_recomputed() <= 2, "{}", cache.last_recomputed());
}

#[test]
fn reused_diagnostics_move_with_their_statement() {
    // Tab/space mixtures tree-sitter accepts but CPython's tokenizer rejects: diagnostics
    // without any ERROR node, which the cache replays.
    let unit = "if x:\n\tif y:\n\t\tpass\n        pass\n\n";
    let mut text = unit.repeat(20);
    let mut parser = new_parser();
    let mut tree = parser.parse(&text, None).expect("parse");
    let mut cache = SyntaxCache::new();
    let first = cache.diagnostics(&tree, &text);
    assert_eq!(first, syntax_diagnostics(&tree, &text));
    assert_eq!(first.len(), 20, "{first:#?}");
    apply_edit(&mut parser, &mut tree, &mut text, 0, 0, "# moved\n");
    let moved = cache.diagnostics(&tree, &text);
    assert_eq!(moved, syntax_diagnostics(&tree, &text));
    // All but the first statement, which no longer starts the file (where a BOM is skipped).
    assert_eq!((cache.last_recomputed(), cache.last_reused()), (2, 19));
    let shifted: Vec<_> = first.iter().map(|d| d.range.start() + 8).collect();
    let got: Vec<_> = moved.iter().map(|d| d.range.start()).collect();
    assert_eq!(got, shifted);
}

/// A 40-pair wired module and the offset of the digit in a `consume_work` body.
fn wired_module_and_body_digit() -> (String, usize) {
    let text = crate::testing::generate_wired_module(40);
    let at = text
        .find("value = task.index + 7  # body edit")
        .expect("body edit")
        + "value = task.index + ".len();
    (text, at)
}

#[test]
fn closing_a_bracket_reuses_the_statements_from_before_it_was_opened() {
    let (mut text, at) = wired_module_and_body_digit();
    let mut parser = new_parser();
    let mut tree = parser.parse(&text, None).expect("parse");
    let mut cache = SyntaxCache::new();
    assert!(cache.diagnostics(&tree, &text).is_empty());
    let statements = cache.last_recomputed();
    for round in 0..3 {
        // `(` leaves a bracket open: the statements after it are walked inside it the first
        // time, and remembered with the bracket open.
        apply_edit(&mut parser, &mut tree, &mut text, at, at + 1, "(");
        let found = cache.diagnostics(&tree, &text);
        assert_eq!(found, syntax_diagnostics(&tree, &text));
        assert_eq!(found.len(), 1, "{found:?}");
        let walked = cache.last_recomputed();
        if round == 0 {
            assert!(walked > 10, "{walked}");
        } else {
            assert_eq!(
                walked, 1,
                "round {round}: only the statement with the bracket"
            );
        }

        // Closing it again brings back every statement of two versions ago.
        apply_edit(&mut parser, &mut tree, &mut text, at, at + 1, "7");
        assert!(cache.diagnostics(&tree, &text).is_empty());
        assert_eq!(
            (cache.last_recomputed(), cache.last_reused()),
            (0, statements),
            "round {round}"
        );
    }
}

#[test]
fn typing_inside_an_unclosed_bracket_walks_only_the_statement_with_it() {
    let (mut text, at) = wired_module_and_body_digit();
    let mut parser = new_parser();
    let mut tree = parser.parse(&text, None).expect("parse");
    let mut cache = SyntaxCache::new();
    cache.diagnostics(&tree, &text);
    let without_the_bracket = cache.last_recomputed();
    apply_edit(&mut parser, &mut tree, &mut text, at, at, "(");
    let found = cache.diagnostics(&tree, &text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].message, "'(' was never closed");
    let statements = cache.last_recomputed() + cache.last_reused();
    for digit in ["8", "9", "7", "8"] {
        apply_edit(&mut parser, &mut tree, &mut text, at + 1, at + 2, digit);
        let found = cache.diagnostics(&tree, &text);
        assert_eq!(found, syntax_diagnostics(&tree, &text));
        assert_eq!(found[0].message, "'(' was never closed");
        assert_eq!(
            (cache.last_recomputed(), cache.last_reused()),
            (1, statements - 1),
            "after {digit}"
        );
    }
    // Removing the bracket four keystrokes later brings back the statements after it as they
    // were before it was typed: only the edited statement is walked.
    apply_edit(&mut parser, &mut tree, &mut text, at, at + 1, "");
    assert!(cache.diagnostics(&tree, &text).is_empty());
    assert_eq!(
        (cache.last_recomputed(), cache.last_reused()),
        (1, without_the_bracket - 1)
    );
}
