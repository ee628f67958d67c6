//! The error CPython would report first, once the walk has found that there is one.
//!
//! tree-sitter's error recovery often wraps a whole class in one `ERROR` node when a single
//! method header lost its colon, so the walk alone cannot tell *where* CPython's parser
//! fails. On the error path only (the walk found something, or the tree has an error), this
//! module decides CPython 3.11's first error the way CPython does:
//!
//! 1. A tokenizer error anywhere in the file wins (CPython's tokenizer runs ahead of the
//!    parser, and after a parser error `_PyPegen_tokenize_full_source_to_check_for_errors`
//!    lets one found later take precedence): [`super::tokenizer::scan`].
//! 2. Otherwise the parser's first failure, located by `ruff_python_parser` (a recursive
//!    descent parser that, like CPython's, reports errors at the token where parsing fails).
//!    Its wording is CPython's: the walk's message when the walk has a parser-level message
//!    on that line, else a translation of ruff's error (`expected ':'` after a compound
//!    statement header, `unexpected indent`, `invalid syntax`, ...).
//! 3. A bracket still open at the end of the file is reported instead (`'(' was never
//!    closed`) when it was opened on a line before the parser's failure, or when the parser
//!    failed at the end of the file (CPython's rule).
//!
//! The result replaces the diagnostics before it; those after it stay (they are the walk's
//! best guesses for later errors). Nothing here runs on text the walk found valid, so valid
//! Python never gets a diagnostic from it.

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{InterpolatedStringErrorType, Mode, ParseErrorType, ParseOptions};

use super::tokenizer;
use crate::diagnostics::TextRange;

/// Messages the walk derives from the parse itself (not from its tokenizer emulation); they
/// can name CPython's parser error on the line where the parser fails.
fn parser_level(message: &str) -> bool {
    message == "expected ':'"
        || message == "unexpected indent"
        || message.starts_with("invalid syntax")
        || message.starts_with("expected an indented block")
        || message.starts_with("cannot assign to")
        || message.starts_with("Missing parentheses in call to")
        || message == "non-default argument follows default argument"
        || message == "named arguments must follow bare *"
}

/// Where ruff expects a `:` at the end of a line starting with one of these, CPython says
/// `expected ':'` (`match` and `case` too: ruff only expects the colon of a match statement).
const COMPOUND_KEYWORDS: &[&str] = &[
    "if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def", "class",
    "async", "match", "case",
];

/// CPython's first error for `text`: (range, message). `found` are the walk's diagnostics, in
/// position order, as (range, message).
///
/// `clean_until` is the start of a top-level statement before which tree-sitter and the walk
/// found nothing wrong: the tokenizer scan and ruff's parse start there when it is the start
/// of a logical line at column 0 (the tokenizer's state there is its state at the start of the
/// file, and the module grammar restarts at every such statement), which keeps the error
/// path's cost proportional to what follows the first error rather than to the file. When
/// ruff finds nothing from there, both run again from the start.
pub(super) fn cpython_first(
    text: &str,
    found: &[(TextRange, &str)],
    clean_until: usize,
) -> Option<(TextRange, String)> {
    // Before `from` the walk, which reports the tokenizer's errors too, found nothing.
    let from = clean_logical_line_start(text, clean_until);
    #[cfg(test)]
    let from = if FROM_FILE_START.get() { 0 } else { from };
    if from > 0 {
        let scan = tokenizer::scan_from(text, from);
        if let Some(parser_error) = ruff_first_error(text, from, &scan) {
            return first_error_after(text, found, &scan, from, Some(parser_error));
        }
        // ruff accepts everything after `from`: CPython's first error may come earlier.
    }
    let scan = tokenizer::scan(text);
    let parser_error = ruff_first_error(text, 0, &scan);
    first_error_after(text, found, &scan, 0, parser_error)
}

#[cfg(test)]
thread_local! {
    /// Makes `cpython_first` tokenize and parse from the start of the file, as if nothing
    /// before the first error were known to be clean (what starting later must equal).
    pub(super) static FROM_FILE_START: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `clean_until` when it starts a logical line at column 0 (the line before it is complete:
/// it does not end on a `\` continuation), else 0.
fn clean_logical_line_start(text: &str, clean_until: usize) -> usize {
    let b = text.as_bytes();
    let Some(before) = clean_until.checked_sub(1).and_then(|i| b.get(..i)) else {
        return 0;
    };
    let at_line_start = b.get(clean_until - 1) == Some(&b'\n')
        && b.get(clean_until)
            .is_some_and(|c| !c.is_ascii_whitespace() && *c != b'#');
    let continued = before
        .strip_suffix(b"\r")
        .unwrap_or(before)
        .ends_with(b"\\");
    if at_line_start && !continued {
        clean_until
    } else {
        0
    }
}

/// CPython's first error, given the scan of the text from `from` (0, or a column-0 logical line
/// before which nothing is wrong) and ruff's first error parsing from there.
fn first_error_after(
    text: &str,
    found: &[(TextRange, &str)],
    scan: &tokenizer::Scan,
    from: usize,
    parser_error: Option<(TextRange, ParseErrorType)>,
) -> Option<(TextRange, String)> {
    // Line numbers counted from `from`: only compared with each other, and every position
    // compared lies after `from` (the walk found nothing before it).
    let newlines: Vec<usize> = memchr::memchr_iter(b'\n', &text.as_bytes()[from..])
        .map(|i| from + i)
        .collect();
    let line_of = |at: usize| newlines.partition_point(|&n| n < at);
    // The walk's own range for the same message on the same line, if it has one.
    let walk_range = |range: TextRange, message: &str| {
        let line = line_of(range.start());
        found
            .iter()
            .find(|(r, m)| *m == message && line_of(r.start()) == line)
            .map_or(range, |(r, _)| *r)
    };
    let b = text.as_bytes();
    let parser_error = parser_error.as_ref().map(|(r, e)| (*r, e));
    let parser_first = parser_error.map(|(range, error)| {
        // The start of the logical line holding the error.
        let logical = scan
            .logical_lines
            .partition_point(|&s| s <= range.start())
            .checked_sub(1)
            .map_or(0, |i| scan.logical_lines[i]);
        let mut translated = translate(text, range, error, logical, &scan.logical_lines);
        if translated.1.starts_with("expected 'except'") {
            // At the end of the file ruff fails there, CPython after the `try` block's last
            // token, where the walk puts it.
            let walked = found
                .iter()
                .rev()
                .find(|(r, m)| *m == translated.1 && r.start() <= range.start());
            return walked.map_or(translated, |(r, m)| (*r, m.to_string()));
        }
        // A colon expected before another token: the walk's `expected ':'` on that line (the
        // colon tree-sitter inserts at the line's end) is not CPython's error.
        let colon_before_token = matches!(
            error,
            ParseErrorType::ExpectedToken {
                expected: TokenKind::Colon,
                found,
            } if *found != TokenKind::Newline
        );
        if translated.1 == "expected ':'"
            || translated.1.starts_with("f-string")
            || specific_translation(&translated.1)
        {
            return translated;
        }
        let in_fstring = scan
            .fstrings
            .iter()
            .any(|&(s, e)| s < range.start() && range.start() < e);
        if in_fstring && translated.1 == "invalid syntax" {
            translated.1 = "f-string: invalid syntax".to_string();
            return translated;
        }
        let line = line_of(range.start());
        // The walk suggests a missing comma for any two operands in a row inside brackets;
        // CPython only where an expression could follow another (ruff expects a comma).
        let comma_expected = matches!(
            error,
            ParseErrorType::ExpectedToken {
                expected: TokenKind::Comma,
                ..
            }
        );
        match found.iter().find(|(r, m)| {
            line_of(r.start()) == line
                && parser_level(m)
                && !(colon_before_token && *m == "expected ':'")
                && (comma_expected || !m.contains("Perhaps you forgot a comma"))
        }) {
            // Same wording: ruff's location is the token where the parse fails, as CPython's.
            Some((_, m)) if *m == translated.1 && m.starts_with("invalid syntax") => translated,
            Some((r, m)) => (*r, m.to_string()),
            None => translated,
        }
    });
    // Where CPython's parser fails: at ruff's error, or earlier at an f-string it rejects
    // while reading it (then that is the parser's error).
    let mut parser_at = parser_error.map(|(r, _)| next_token(b, r.start()));
    let parser_first = match &scan.fstring_error {
        Some((string_start, e)) if parser_at.is_none_or(|at| *string_start <= at) => {
            parser_at = Some(*string_start);
            Some((e.range, e.message.clone()))
        }
        _ => parser_first,
    };
    if let Some(e) = &scan.error {
        // Met by the parser before it fails, or found by the scan of the rest of the file
        // that follows a parser error (except after `unexpected indent`, which CPython
        // reports without that scan).
        // CPython points after a `\` the file ends on or that does not end its line; ruff
        // fails at the `\` itself.
        let after_backslash = e.message == "unexpected EOF while parsing"
            || e.message
                .starts_with("unexpected character after line continuation");
        let met_at = if after_backslash {
            e.range.start().saturating_sub(1)
        } else {
            e.range.start()
        };
        let first = match &parser_first {
            None => true,
            Some((r, m)) => {
                met_at <= parser_at.unwrap_or(r.start())
                    || (e.raised_anywhere() && m != "unexpected indent")
            }
        };
        if first {
            return Some((walk_range(e.range, &e.message), e.message.clone()));
        }
        return parser_first;
    }
    if let Some((pos, ch)) = scan.unclosed {
        // The tokenizer's innermost bracket, not the walk's first on that line.
        let unclosed = || {
            let message = format!("'{}' was never closed", ch as char);
            Some((TextRange::new(pos, pos + 1), message))
        };
        let Some((range, _)) = parser_error else {
            return unclosed();
        };
        // CPython compares the bracket's line with the furthest token its parser read; ruff's
        // error ranges (a generator expression, say) end near it. A `=` inside a bracket
        // never closed sends CPython's second pass looking for a keyword argument's value,
        // which runs on to the end of the file when an unclosed bracket opens after the `=`
        // (`x = (\ny = [\n`), or past the line when they all open before it.
        let at = next_token(b, range.start());
        let furthest = at.max(range.end().saturating_sub(1));
        let message = parser_first.as_ref().map_or("", |(_, m)| m.as_str());
        let keyword_like = b.get(at) == Some(&b'=')
            && b.get(at + 1) != Some(&b'=')
            && scan
                .outermost_unclosed
                .is_some_and(|outermost| outermost < at)
            && !message.starts_with("invalid syntax. Maybe");
        if line_of(pos) < line_of(furthest) || at >= text.trim_end().len() || keyword_like {
            return unclosed();
        }
    }
    parser_first
}

/// Whether a parser of CPython's grammar (ruff's) and CPython's tokenizer both accept all of
/// `text`. tree-sitter's scanner sometimes ends a block inside brackets (a continuation line
/// indented less than its block, `def f():\n    w = g(a=\nb)`), and the walk's guesses at
/// its ERROR nodes then describe valid Python. `false` when ruff's parse cannot run.
pub(super) fn grammar_accepts(text: &str) -> bool {
    let scan = tokenizer::scan(text);
    scan.error.is_none()
        && scan.unclosed.is_none()
        && scan.fstring_error.is_none()
        && ruff_parses_cleanly(text, &scan)
}

fn ruff_parses_cleanly(text: &str, scan: &tokenizer::Scan) -> bool {
    let Some(stack) = scan
        .max_line_tokens
        .checked_mul(STACK_PER_TOKEN)
        .and_then(|s| s.checked_add(STACK_BASE))
        .filter(|&s| s <= STACK_MAX)
    else {
        return false;
    };
    ruff_accepts(text, stack)
}

/// Whether ruff's parser finds no error in `text`, on a stack of at least `stack` bytes (the
/// thread's own when it has that much left).
fn ruff_accepts(text: &str, stack: usize) -> bool {
    stacker::maybe_grow(stack, stack, || {
        ruff_python_parser::parse_unchecked(text, ParseOptions::from(Mode::Module))
            .errors()
            .is_empty()
    })
}

/// Whether ruff's parser accepts `statement` (one statement tree-sitter parsed without error),
/// `None` when it is too long to bound the stack its parse needs. The cheap test before
/// `cpython_first`: most statements pass it, and it allocates a stack for the parse only
/// when the thread's own is short of what the statement's length could need (`grow` on every
/// statement mapped megabytes each time).
pub(super) fn statement_parses_cleanly(statement: &str) -> Option<bool> {
    let red_zone = statement
        .len()
        .checked_mul(STACK_PER_TOKEN)?
        .checked_add(STATEMENT_STACK_BASE)
        .filter(|&s| s <= STACK_MAX)?;
    Some(ruff_accepts(statement, red_zone))
}

/// What one short statement's parse needs besides its tokens' share.
const STATEMENT_STACK_BASE: usize = 128 << 10;

/// Stack for ruff's parse (and the drop of its tree, which recurses): a base plus this much
/// per token of the longest logical line, the bound on how deeply the tree can nest.
const STACK_BASE: usize = 4 << 20;
const STACK_PER_TOKEN: usize = 2 << 10;
/// Beyond this, no second parse: the walk's diagnostics stand.
const STACK_MAX: usize = 1 << 30;

/// ruff's first error by position, on a stack large enough for the deepest tree the text can
/// produce; `None` when the text is too deeply nested for CPython anyway (its tokenizer
/// already failed) or too large to bound.
/// Only `text[from..]` is parsed; ranges are into `text`.
fn ruff_first_error(
    text: &str,
    from: usize,
    scan: &tokenizer::Scan,
) -> Option<(TextRange, ParseErrorType)> {
    if scan.error.as_ref().is_some_and(|e| {
        e.message == "too many nested parentheses" || e.message == "too many levels of indentation"
    }) {
        return None;
    }
    let stack = scan
        .max_line_tokens
        .checked_mul(STACK_PER_TOKEN)?
        .checked_add(STACK_BASE)
        .filter(|&s| s <= STACK_MAX)?;
    let whole = text;
    let text = &whole[from..];
    stacker::grow(stack, || {
        let errors = errors_in_prefix(text).unwrap_or_else(|| {
            ruff_python_parser::parse_unchecked(text, ParseOptions::from(Mode::Module))
                .errors()
                .to_vec()
        });
        let first = errors.iter().min_by_key(|e| e.location.start())?;
        // A `try` block followed by something else than `except` or `finally`: CPython says
        // so on that line, whatever else is wrong there.
        let line_end = text[u32::from(first.location.start()) as usize..]
            .find('\n')
            .map_or(text.len(), |i| {
                u32::from(first.location.start()) as usize + i
            });
        let try_without_handler = errors.iter().find(|e| {
            (u32::from(e.location.start()) as usize) <= line_end
                && matches!(&e.error, ParseErrorType::OtherError(m)
                    if m.starts_with("Expected `except` or `finally`"))
        });
        try_without_handler.or(Some(first)).map(|e| {
            let start = (u32::from(e.location.start()) as usize).min(text.len());
            let end = (u32::from(e.location.end()) as usize).clamp(start, text.len());
            (TextRange::new(from + start, from + end), e.error.clone())
        })
    })
}

/// How much of the text after an error's statement ruff parses first (see
/// `errors_in_prefix`).
const PREFIX_BYTES: usize = 16 << 10;

/// The shorter prefix `errors_in_prefix` compares the first error with when the longer one
/// ends inside a statement.
const SHORT_PREFIX_BYTES: usize = 4 << 10;

/// `text` up to the first line end at or after `at` (the whole line), `None` when there is
/// none.
fn cut_at_line_end(text: &str, at: usize) -> Option<usize> {
    Some(
        at + text
            .as_bytes()
            .get(at..)?
            .iter()
            .position(|b| *b == b'\n')?
            + 1,
    )
}

/// ruff's errors of `text` up to the end of the first error's line, from a parse of a prefix,
/// when the prefix can tell. `None` when the text is short or the prefix cannot tell.
///
/// Two ways a prefix tells:
/// - **Statements.** The errors before the last top-level statement of the first
///   `PREFIX_BYTES` (cut at a line end), when the first of them and its whole line lie
///   before it: those are exactly the full parse's errors there, since ruff parses statement
///   by statement, reading at most a token or two past a statement's end, and the statements
///   before the last one of the prefix end where they end in the whole text. So a slip in
///   the middle of a large module costs a parse of a few kilobytes, not of the rest of the
///   file.
/// - **Agreement.** While a bracket is left open, the rest of the file is one statement, so
///   no statement of the prefix ends after the error. Then the first error of the
///   `PREFIX_BYTES` prefix is taken when a parse of the first `SHORT_PREFIX_BYTES` finds the
///   same error at the same place, on a line that ends inside both prefixes. ruff reads
///   tokens left to right and decides with a bounded lookahead, except where it parses
///   speculatively and rewinds (`with (`, `match`); a first error that 12 more kilobytes
///   of text did not move is the whole parse's (a file ending where the prefix does is the
///   one case a prefix stands for exactly, and the unclosed bracket makes the prefix and the
///   whole text end alike: inside it). `tests/cpython_corpus.rs` holds both ways to the
///   whole parse.
pub(super) fn errors_in_prefix(text: &str) -> Option<Vec<ruff_python_parser::ParseError>> {
    prefix_errors(text).map(|(errors, _)| errors)
}

/// Which way a prefix told (see `errors_in_prefix`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PrefixRule {
    Statements,
    Agreement,
}

/// `errors_in_prefix`, with the way the prefix told.
pub(super) fn prefix_errors(
    text: &str,
) -> Option<(Vec<ruff_python_parser::ParseError>, PrefixRule)> {
    use ruff_text_size::Ranged;
    if text.len() <= 2 * PREFIX_BYTES {
        return None;
    }
    let start = |e: &ruff_python_parser::ParseError| u32::from(e.location.start()) as usize;
    let cut = cut_at_line_end(text, PREFIX_BYTES)?;
    let parsed =
        ruff_python_parser::parse_unchecked(&text[..cut], ParseOptions::from(Mode::Module));
    let ruff_python_ast::Mod::Module(module) = parsed.syntax() else {
        return None;
    };
    let first = parsed.errors().iter().min_by_key(|e| start(e))?;
    let line_end = start(first) + text[start(first)..].find('\n')?;
    let up_to_first_line = |errors: &[ruff_python_parser::ParseError]| {
        errors
            .iter()
            .filter(|e| start(e) <= line_end)
            .cloned()
            .collect::<Vec<_>>()
    };
    if let [.., _, last] = &module.body[..] {
        if line_end < u32::from(last.range().start()) as usize {
            return Some((up_to_first_line(parsed.errors()), PrefixRule::Statements));
        }
    }
    let short_cut = cut_at_line_end(text, SHORT_PREFIX_BYTES)?;
    if line_end >= short_cut {
        return None;
    }
    let short =
        ruff_python_parser::parse_unchecked(&text[..short_cut], ParseOptions::from(Mode::Module));
    let short_first = short.errors().iter().min_by_key(|e| start(e))?;
    let errors = up_to_first_line(parsed.errors());
    (short_first == first && up_to_first_line(short.errors()) == errors)
        .then_some((errors, PrefixRule::Agreement))
}

/// Translations of ruff's errors that say more than the walk's message on the same line.
fn specific_translation(message: &str) -> bool {
    message == "expected '('"
        || message.starts_with("expected an indented block")
        || message.starts_with("cannot use assignment expressions with")
        || message.ends_with("here. Maybe you meant '==' instead of '='?")
        || message == "illegal target for annotation"
        || message.starts_with("only single target")
}

/// The end of the last line of `b` (without its line break): where CPython reports what it
/// finds missing at the end of the file.
pub(super) fn end_of_last_line(b: &[u8]) -> usize {
    b.len()
        - if b.ends_with(b"\r\n") {
            2
        } else {
            usize::from(b.ends_with(b"\n") || b.ends_with(b"\r"))
        }
}

/// What CPython calls the expression `target` in `cannot assign to ...` messages, for the
/// kinds told apart by their text alone.
fn expression_name(target: &str) -> Option<&'static str> {
    let first = target.chars().next()?;
    if target.contains(":=") {
        return Some("named expression");
    }
    if first.is_ascii_digit() || first == '"' || first == '\'' {
        return Some("literal");
    }
    let callee = target.strip_suffix(')').and_then(|t| t.split_once('('))?.0;
    (!callee.is_empty()
        && callee
            .chars()
            .all(|c| c == '_' || c == '.' || c.is_alphanumeric()))
    .then_some("function call")
}

/// CPython's wording for a ruff parse error at `range`.
/// `logical` is the start of the logical line holding `range`.
fn translate(
    text: &str,
    range: TextRange,
    error: &ParseErrorType,
    logical: usize,
    logical_lines: &[usize],
) -> (TextRange, String) {
    let b = text.as_bytes();
    let line_start = b[..range.start()]
        .iter()
        .rposition(|&c| c == b'\n' || c == b'\r')
        .map_or(0, |i| i + 1);
    let line_end = b[range.start()..]
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .map_or(b.len(), |i| range.start() + i);
    let on_line = TextRange::new(range.start(), range.end().min(line_end).max(range.start()));
    let invalid = || (on_line, "invalid syntax".to_string());
    match error {
        ParseErrorType::ExpectedToken {
            expected: TokenKind::Colon,
            found: TokenKind::Newline,
        } => {
            let first_word: String = text[logical..]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            if COMPOUND_KEYWORDS.contains(&first_word.as_str()) {
                let at = end_of_code(b, line_start, range.start());
                (TextRange::empty(at), "expected ':'".to_string())
            } else {
                invalid()
            }
        }
        // `def f() x:`, `try pass`: where CPython's grammar demands the colon (`&&':'`), any
        // token there is `expected ':'`, at that token. Other headers (`if x pass`, `class A
        // pass`) say `expected ':'` only before the line's end, else `invalid syntax`.
        ParseErrorType::ExpectedToken {
            expected: TokenKind::Colon,
            ..
        } if colon_demanded(b, logical, range.start()) => {
            (TextRange::empty(range.start()), "expected ':'".to_string())
        }
        ParseErrorType::UnexpectedIndentation => (on_line, "unexpected indent".to_string()),
        ParseErrorType::ExpectedToken {
            expected: TokenKind::Lpar,
            ..
        } if text[logical..].starts_with("def") || text[logical..].starts_with("async") => {
            (on_line, "expected '('".to_string())
        }
        ParseErrorType::OtherError(m) if m.starts_with("Expected an indented block after ") => {
            // `` `match` statement``, `` `case` block``, `function definition` ...
            let what = &m["Expected an indented block after ".len()..];
            let what = match what.strip_prefix('`').and_then(|w| w.split_once('`')) {
                Some((keyword, " definition")) => format!("{keyword} definition"),
                Some((keyword, _)) => format!("'{keyword}' statement"),
                None => what.to_string(),
            };
            // The header's line: where the logical line ending with the `:` starts.
            let colon = end_of_code(b, line_start, range.start()).saturating_sub(1);
            let header = logical_lines
                .partition_point(|&s| s <= colon)
                .checked_sub(1)
                .map_or(0, |i| logical_lines[i]);
            let header_line = b[..header].iter().filter(|&&c| c == b'\n').count() + 1;
            let at_end = next_token(b, range.start()) >= b.len();
            let range = if at_end {
                TextRange::empty(end_of_last_line(b))
            } else {
                on_line
            };
            (
                range,
                format!("expected an indented block after {what} on line {header_line}"),
            )
        }
        ParseErrorType::InvalidNamedAssignmentTarget => {
            let target = &text[range.start()..on_line.end()];
            let name = if target.ends_with(']') {
                Some("subscript")
            } else if target
                .rsplit_once('.')
                .is_some_and(|(_, attr)| attr.chars().all(|c| c == '_' || c.is_alphanumeric()))
            {
                Some("attribute")
            } else {
                expression_name(target)
            };
            match name {
                Some(name) => (
                    on_line,
                    format!("cannot use assignment expressions with {name}"),
                ),
                None => invalid(),
            }
        }
        ParseErrorType::InvalidAssignmentTarget => {
            // `1 = x`: a single `=` after the target (not `==`, not a chain of them).
            let target = &text[range.start()..on_line.end()];
            // `(x := 1) = 2`: ruff's target is inside the parentheses.
            let mut after = next_token(b, on_line.end());
            while b.get(after) == Some(&b')') {
                after = next_token(b, after + 1);
            }
            let rest = &b[after..line_end.max(after)];
            let single = rest.starts_with(b"=")
                && !rest.starts_with(b"==")
                && !rest[1..].windows(1).any(|w| w == b"=");
            match expression_name(target) {
                Some(name) if single => (
                    on_line,
                    format!("cannot assign to {name} here. Maybe you meant '==' instead of '='?"),
                ),
                _ => invalid(),
            }
        }
        // `fi (x):` (a mistyped `if` that reads as a call): with an annotation after the
        // colon CPython says the target is illegal; without one, its parse fails at the colon.
        ParseErrorType::InvalidAnnotatedAssignmentTarget => {
            let mut colon = next_token(b, range.end());
            while b.get(colon) == Some(&b')') {
                colon = next_token(b, colon + 1);
            }
            if b.get(colon) != Some(&b':') {
                return invalid();
            }
            let annotation = b[colon + 1..]
                .iter()
                .find(|c| !matches!(c, b' ' | b'\t' | b'\x0c'))
                .is_some_and(|c| !matches!(c, b'\n' | b'\r' | b'#'));
            if annotation {
                (on_line, "illegal target for annotation".to_string())
            } else {
                (
                    TextRange::new(colon, colon + 1),
                    "invalid syntax".to_string(),
                )
            }
        }
        ParseErrorType::NonDefaultParamAfterDefaultParam => (
            on_line,
            "non-default argument follows default argument".to_string(),
        ),
        // CPython points just after the argument.
        ParseErrorType::PositionalAfterKeywordArgument => (
            TextRange::empty(on_line.end()),
            "positional argument follows keyword argument".to_string(),
        ),
        ParseErrorType::PositionalAfterKeywordUnpacking => (
            on_line,
            "positional argument follows keyword argument unpacking".to_string(),
        ),
        ParseErrorType::InvalidArgumentUnpackingOrder => (
            on_line,
            "iterable argument unpacking follows keyword argument unpacking".to_string(),
        ),
        // `a, b: int`: ruff's message is CPython's, capitalised.
        ParseErrorType::OtherError(m) if m.starts_with("Only single target (not ") => {
            (on_line, format!("o{}", &m[1..]))
        }
        ParseErrorType::OtherError(m) if m.starts_with("Expected `except` or `finally`") => {
            (on_line, "expected 'except' or 'finally' block".to_string())
        }
        ParseErrorType::FStringError(e)
        | ParseErrorType::Lexical(ruff_python_parser::LexicalErrorType::FStringError(e)) => {
            let message = match e {
                InterpolatedStringErrorType::UnclosedLbrace => "f-string: expecting '}'",
                InterpolatedStringErrorType::SingleRbrace => "f-string: single '}' is not allowed",
                _ => "f-string: invalid syntax",
            };
            (on_line, message.to_string())
        }
        _ => invalid(),
    }
}

/// Whether CPython's grammar demands a `:` at `at` (`&&':'`), in the statement starting at
/// `logical`: right after `try`, `finally` or `else`, or after a function header's parameters
/// and return annotation.
fn colon_demanded(b: &[u8], logical: usize, at: usize) -> bool {
    let keyword_alone = ["try", "finally", "else"].iter().any(|k| {
        b[logical..].starts_with(k.as_bytes())
            && b.get(logical + k.len())
                .is_some_and(|c| !c.is_ascii_alphanumeric() && *c != b'_')
            && next_token(b, logical + k.len()) == at
    });
    keyword_alone || after_def_parameters(b, logical, at)
}

/// Whether `at` follows the closed parameter list of a `def` (or `async def`) header that
/// starts the logical line at `logical`: outside any bracket and after the parameters' `)`.
/// A colon expected inside the header (a lambda in a default value) is not the header's.
fn after_def_parameters(b: &[u8], logical: usize, at: usize) -> bool {
    let header = &b[logical..at.min(b.len())];
    let keyword_then_blank = |word: &[u8], s: &[u8]| {
        s.starts_with(word) && s.get(word.len()).is_some_and(|c| matches!(c, b' ' | b'\t'))
    };
    let is_def = keyword_then_blank(b"def", header)
        || (keyword_then_blank(b"async", header)
            && keyword_then_blank(b"def", header[5..].trim_ascii_start()));
    if !is_def {
        return false;
    }
    let mut depth = 0usize;
    let mut closed_parameters = false;
    let mut quote = None;
    let mut i = 0;
    while i < header.len() {
        match (header[i], quote) {
            (b'\\', Some(_)) => i += 1,
            (c, Some(q)) if c == q => quote = None,
            (_, Some(_)) => {}
            (c @ (b'"' | b'\''), None) => quote = Some(c),
            (b'#', None) => {
                while i < header.len() && header[i] != b'\n' {
                    i += 1;
                }
            }
            (b'(' | b'[' | b'{', None) => depth += 1,
            (b')' | b']' | b'}', None) => {
                depth = depth.saturating_sub(1);
                closed_parameters |= depth == 0;
            }
            _ => {}
        }
        i += 1;
    }
    closed_parameters && depth == 0 && quote.is_none()
}

/// The first byte at or after `at` that is not a blank, a line break or a comment.
pub(super) fn next_token(b: &[u8], mut at: usize) -> usize {
    while at < b.len() {
        match b[at] {
            b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' => at += 1,
            b'#' => {
                while at < b.len() && !matches!(b[at], b'\n' | b'\r') {
                    at += 1;
                }
            }
            _ => break,
        }
    }
    at
}

/// The end of the last token before `at` on the line starting at `line_start` (or on an
/// earlier line), skipping a comment and blanks.
fn end_of_code(b: &[u8], line_start: usize, at: usize) -> usize {
    let mut end = at.min(b.len());
    // A `#` outside string quotes on this line starts a comment that ends at `at`.
    let mut quote = None;
    let mut i = line_start;
    while i < end {
        match (b[i], quote) {
            (b'\\', Some(_)) => i += 1,
            (c @ (b'"' | b'\''), None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            (b'#', None) => {
                end = i;
                break;
            }
            _ => {}
        }
        i += 1;
    }
    while end > 0 && matches!(b[end - 1], b' ' | b'\t' | b'\x0c' | b'\n' | b'\r') {
        end -= 1;
    }
    end
}
