//! Hostile inputs against CPython 3.11's recorded answers (`cpython_corpus.json`, written by
//! `scripts/cpython_syntax_corpus.py`, so this test needs no `python3`).
//!
//! For every case our first diagnostic must have CPython's message, line and column (CPython's
//! `offset`: 1-based, in code points), unless the case is listed in [`KNOWN`] with what differs
//! and why. A listed case that starts to agree fails the test too, so the list stays true.

use super::*;

/// Cases where our first diagnostic differs from CPython's: (name, what differs, why).
/// `Column`: same message and line, another column. `Answer`: another message or line (or an
/// error where CPython has none, or none where it has one).
#[rustfmt::skip]
const KNOWN: &[(&str, Differs, &str)] = &[
    ("closer_after_unclosed_line", Differs::Answer, "CPython's second pass suggests `==` or `:=` for `name = value` inside brackets; we only for `if`/`elif`/`while` conditions"),
    ("fstring_backslash", Differs::Answer, "f-string replacement fields are checked on the error path only, and tree-sitter accepts this one"),
    ("fstring_nested_too_deep", Differs::Answer, "f-string replacement fields are checked on the error path only, and tree-sitter accepts this one"),
    ("fstring_invalid_expr", Differs::Answer, "ruff reports the field as unclosed; CPython compiles `(a b)` and prefixes its parser's message"),
    ("fstring_newline_single", Differs::Answer, "tree-sitter accepts a line break inside a replacement field (valid since 3.12); strings inside valid statements are not rescanned"),
    ("tab_then_spaces_same_block", Differs::Column, "CPython gives column 1 for tab errors; we mark the line's first token"),
    ("spaces_then_tab_same_block", Differs::Column, "CPython gives column 1 for tab errors; we mark the line's first token"),
    ("tab_inconsistent_dedent", Differs::Column, "CPython gives column 1 for tab errors; we mark the line's first token"),
    ("tab_space_mix_in_one_indent", Differs::Column, "CPython gives column 1 for tab errors; we mark the line's first token"),
    ("unindent_mismatch", Differs::Column, "CPython points past the end of the line; we mark the line's first token"),
    ("unexpected_indent_first_line", Differs::Column, "CPython points at the last blank of the indentation; we mark the first token"),
    ("unexpected_indent_after_comment", Differs::Column, "CPython points at the last blank of the indentation; we mark the first token"),
    ("form_feed_indent_reset", Differs::Column, "CPython points past the end of the line; we mark the line's first token"),
    ("deep_indentation_100", Differs::Column, "CPython gives column 1; we mark the line's first token"),
    ("indent_tabs_only_mixed_width", Differs::Column, "CPython points past the end of the line; we mark the line's first token"),
    ("bom_mid_file", Differs::Answer, "tree-sitter takes U+FEFF for whitespace, and the tokenizer scan runs on the error path only"),
    ("lone_cr_indent", Differs::Column, "CPython points at the last blank of the indentation; we mark the first token"),
    ("decorator_eof", Differs::Answer, "CPython puts its error on the decorator's line at offset 0; ruff (and we) at the end of the file"),
    ("decorator_then_decorator_eof", Differs::Answer, "CPython puts its error on the decorator's line at offset 0; ruff (and we) at the end of the file"),
    ("lambda_star_only", Differs::Answer, "tree-sitter accepts it; the walk does not look into expressions"),
    ("walrus_keyword_argument", Differs::Column, "ruff fails at the `:=`, CPython at the `=` after it"),
    ("walrus_in_comprehension_iterable", Differs::Answer, "a compiler (symtable) check, not a parse error: `ast.parse` accepts it"),
    ("augassign_to_tuple", Differs::Answer, "tree-sitter accepts it; the walk does not look into expressions"),
    ("del_literal", Differs::Answer, "tree-sitter accepts it; the walk does not look into expressions"),
    ("case_expression_pattern", Differs::Column, "ruff fails at the `+`, CPython at the `1` after it"),
    ("case_two_wildcards", Differs::Answer, "a compiler check, not a parse error: `ast.parse` accepts it"),
    ("star_expression_alone", Differs::Answer, "a compiler check, not a parse error: `ast.parse` accepts it"),
    ("only_continuation_lines", Differs::Answer, "CPython's tokenizer fails before the parser reads a token; ruff reports the first backslash, and its error wins"),
    ("comparison_chain_assignment", Differs::Answer, "CPython names the target (`comparison`); our translation of ruff's invalid target knows literals, calls and named expressions only"),
    ("generator_unparenthesized", Differs::Answer, "tree-sitter accepts it; the walk does not look into argument lists"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Differs {
    Column,
    Answer,
}

#[derive(serde::Deserialize)]
struct Recorded {
    name: String,
    parts: Vec<(String, usize)>,
    /// Line and offset are 0 when CPython gives none.
    cpython: Option<Answer>,
}

/// CPython's first error: (message, line, offset).
type Answer = (String, usize, usize);

/// (name, source, CPython's answer) for every case.
fn corpus() -> Vec<(String, String, Option<Answer>)> {
    let recorded: Vec<Recorded> =
        serde_json::from_str(include_str!("cpython_corpus.json")).expect("corpus json");
    recorded
        .into_iter()
        .map(|r| {
            let src: String = r.parts.iter().map(|(t, n)| t.repeat(*n)).collect();
            (r.name, src, r.cpython)
        })
        .collect()
}

/// Our first diagnostic as CPython would print it: (message, 1-based line, 1-based column in
/// code points). Lines end at `\n`, `\r\n` or a lone `\r`, as in CPython.
fn first_as_cpython(src: &str) -> Option<Answer> {
    // The analysis sees lone carriage returns as line feeds (`text::normalize_lone_cr`).
    let text = crate::text::normalize_lone_cr(src.to_string());
    let found = check_invariants(&text);
    let d = found.into_iter().next()?;
    let before = &text[..d.range.start()];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    // CPython's columns do not count a byte order mark.
    let line_start = if line_start == 0 && text.starts_with('\u{feff}') {
        3
    } else {
        line_start
    };
    let column = text[line_start..d.range.start().max(line_start)]
        .chars()
        .count()
        + 1;
    Some((d.message, line, column))
}

#[test]
fn cpython_corpus() {
    let mut wrong = Vec::new();
    let mut counts = [0usize; 3];
    let cases = corpus();
    for (name, src, cpython) in &cases {
        let ours = first_as_cpython(src);
        let differs = match (&ours, cpython) {
            (None, None) => None,
            (Some((m, l, c)), Some((cm, cl, cc))) if m == cm && (l == cl || *cl == 0) => {
                (c != cc && *cc != 0).then_some(Differs::Column)
            }
            _ => Some(Differs::Answer),
        };
        counts[match differs {
            None => 0,
            Some(Differs::Column) => 1,
            Some(Differs::Answer) => 2,
        }] += 1;
        let known = KNOWN.iter().find(|(n, _, _)| n == name).map(|k| k.1);
        if differs != known {
            wrong.push(format!(
                "{name}: ours {ours:?}, CPython {cpython:?}: differs {differs:?}, listed {known:?}"
            ));
        }
    }
    for (name, _, _) in KNOWN {
        assert!(
            cases.iter().any(|(n, _, _)| n == name),
            "{name} is listed but not in the corpus"
        );
    }
    eprintln!(
        "{} cases: {} agree, {} differ in the column only, {} in message or line",
        cases.len(),
        counts[0],
        counts[1],
        counts[2]
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Prints every diagnostic we give for the corpus cases whose name contains
/// `PLANAI_CORPUS_SHOW` (all cases when it is empty), beside CPython's answer.
#[test]
#[ignore = "a debugging aid: PLANAI_CORPUS_SHOW=name cargo test --lib show_corpus -- --ignored --nocapture"]
fn show_corpus() {
    let filter = std::env::var("PLANAI_CORPUS_SHOW").unwrap_or_default();
    for (name, src, cpython) in corpus() {
        if !name.contains(&filter) {
            continue;
        }
        let text = crate::text::normalize_lone_cr(src);
        let shown: String = text.chars().take(120).collect();
        println!("{name}: {shown:?}\n  CPython {cpython:?}");
        if std::env::var_os("PLANAI_CORPUS_RUFF").is_some() {
            let parsed = ruff_python_parser::parse_unchecked(
                &text,
                ruff_python_parser::ParseOptions::from(ruff_python_parser::Mode::Module),
            );
            for e in parsed.errors().iter().take(3) {
                println!("  ruff {:?} at {:?}", e.error, e.location);
            }
        }
        for d in check_invariants(&text).iter().take(8) {
            let line = text[..d.range.start()].matches('\n').count() + 1;
            println!("  ours {:?} line {line} at {:?}", d.message, d.range);
        }
    }
}

/// ruff parses only a prefix of a large text when that decides the first error
/// (`first_error::errors_in_prefix`): for every hostile input, before and inside a large
/// valid module, what the prefix gives must be what the whole parse gives (the first error,
/// and every error on its line).
#[test]
fn a_prefix_parse_finds_the_first_errors_of_the_whole_parse() {
    use ruff_python_parser::{Mode, ParseError, ParseOptions};
    let padding: String = (0..3000)
        .map(|i| format!("value_{i} = call(argument={i})\n"))
        .collect();
    // Definitions like a module of workers, with the constructs ruff parses speculatively
    // (`with (`, `match`), which an unclosed bracket before them turns into one statement.
    let classes: String = (0..300)
        .map(|i| {
            format!(
                "class Worker{i}(TaskWorker):\n    output_types: List[Type[Task]] = [Out{i}]\n\n    \
                 def consume_work(self, task: In{i}):\n        with (open(task.path) as f, lock):\n            \
                 value = f.read()\n        match value:\n            case {{\"k\": [x, *rest]}}:\n                \
                 self.publish_work(Out{i}(value=x), input_task=task)\n            case _:\n                \
                 pass\n\n\n"
            )
        })
        .collect();
    let start = |e: &ParseError| u32::from(e.location.start()) as usize;
    let mut decided = 0;
    let mut by_agreement = 0;
    for (name, src, _) in corpus() {
        for text in [
            format!("{src}\n{padding}"),
            format!("{}{src}\n{padding}", &padding[..padding.len() / 20]),
            format!("{src}\n{classes}"),
            format!(
                "{}{src}\n{classes}",
                &classes[..classes.find("class Worker3(").unwrap()]
            ),
        ] {
            stacker::grow(1 << 30, || {
                use super::super::first_error::{prefix_errors, PrefixRule};
                let Some((prefix, rule)) = prefix_errors(&text) else {
                    return;
                };
                decided += 1;
                by_agreement += usize::from(rule == PrefixRule::Agreement);
                let whole =
                    ruff_python_parser::parse_unchecked(&text, ParseOptions::from(Mode::Module));
                let first = prefix.iter().map(start).min().expect("an error");
                let line_end = first + text[first..].find('\n').unwrap_or(text.len() - first);
                let on_first_line = |errors: &[ParseError]| {
                    let mut v: Vec<ParseError> = errors
                        .iter()
                        .filter(|e| start(e) <= line_end)
                        .cloned()
                        .collect();
                    v.sort_by_key(start);
                    v
                };
                assert_eq!(
                    on_first_line(&prefix),
                    on_first_line(whole.errors()),
                    "{name}"
                );
            });
        }
    }
    assert!(decided > 400, "only {decided} texts decided by the prefix");
    assert!(
        by_agreement > 30,
        "only {by_agreement} texts decided by two prefixes agreeing"
    );
}

/// CPython's first error after statements known to be clean is found by tokenizing and parsing
/// from the last of them (`first_error::cpython_first`): every corpus case, after a clean
/// prefix and alone, and every cut of a program in the middle of a file, gets exactly the
/// diagnostics that starting from the file's start gives.
#[test]
fn the_first_error_found_after_a_clean_prefix_is_the_one_found_from_the_start() {
    const PREFIX: &str = "import os\n\n\nclass Clean:\n    value: int = 1\n\n    def method(self):\n        \
                          return [self.value,\n                (1, 2)]\n\n\nx = {'a': 1}  # comment \\\n\n\n";
    let both = |text: &str| {
        let tree = crate::syntax::parse(text).expect("parse");
        let later = crate::syntax::syntax_diagnostics(&tree, text);
        super::super::first_error::FROM_FILE_START.set(true);
        let from_start = crate::syntax::syntax_diagnostics(&tree, text);
        super::super::first_error::FROM_FILE_START.set(false);
        (later, from_start)
    };
    let mut compared = 0;
    let mut texts: Vec<String> = corpus()
        .into_iter()
        .filter(|(_, src, _)| src.len() < 20_000)
        .flat_map(|(_, src, _)| {
            let src = crate::text::normalize_lone_cr(src);
            [format!("{PREFIX}{src}"), src]
        })
        .collect();
    let program = "from planai import Task\n\n\nclass Q(Task):\n    text: str = 'é'\n\n\n\
                   def build(a, b=1):\n    return [a, (b,\n            {a: b})]\n\n\n@decorator\n\
                   class W:\n    x = f\"{1!r}\"\n\n\ntry:\n    pass\nexcept E:\n    pass\n\n\nvalue = 3\n";
    for (i, _) in program.char_indices() {
        let mut cut = format!("{PREFIX}{}", &program[..i]);
        cut.push_str(&program[i..].chars().skip(1).collect::<String>());
        texts.push(cut);
        texts.push(format!("{PREFIX}{}(\n{}", &program[..i], &program[i..]));
    }
    for text in &texts {
        let (later, from_start) = both(text);
        if !later.is_empty() {
            compared += 1;
        }
        assert_eq!(later, from_start, "{text:?}");
    }
    assert!(compared > 300, "{compared}");
}
