//! Python parsing with tree-sitter and syntax-error diagnostics.
//!
//! tree-sitter-python is an error-tolerant parser: it never fails, it marks what it could not
//! parse with `ERROR` nodes and zero-width `MISSING` tokens, and it is more permissive than
//! CPython (it does not check indentation at all, for instance). [`syntax_diagnostics`] turns
//! that tree into the messages CPython users know (`expected ':'`, `'(' was never closed`,
//! `unexpected indent`, ...). See `diagnose.rs` for how each message is derived.

use crate::diagnostics::Diagnostic;

mod diagnose;
pub(crate) mod fields;
mod first_error;
mod indent;
pub mod statements;
#[cfg(test)]
mod tests;
mod tokenizer;

/// At most this many syntax diagnostics are reported for one file.
pub const MAX_SYNTAX_DIAGNOSTICS: usize = 100;

/// A fresh parser for Python.
pub fn new_parser() -> tree_sitter::Parser {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("tree-sitter-python grammar is compatible with the tree-sitter runtime");
    parser
}

/// Parses `text` from scratch.
pub fn parse(text: &str) -> Option<tree_sitter::Tree> {
    new_parser().parse(text, None)
}

/// Parses `text[range]` alone as a module, keeping offsets into `text` (tree-sitter's included
/// ranges); the tree may have errors. `None` for an empty or out-of-bounds range.
pub fn parse_part(text: &str, range: std::ops::Range<usize>) -> Option<tree_sitter::Tree> {
    parse_part_with(&mut new_parser(), text, range, None)
}

/// [`parse_part`] with `parser`, starting from `old_tree` (edited to match `text`). The
/// parser sees the whole text again afterwards.
pub(crate) fn parse_part_with(
    parser: &mut tree_sitter::Parser,
    text: &str,
    range: std::ops::Range<usize>,
    old_tree: Option<&tree_sitter::Tree>,
) -> Option<tree_sitter::Tree> {
    if range.start >= range.end || range.end > text.len() || !text.is_char_boundary(range.start) {
        return None;
    }
    let start_point = crate::text::str_offset_to_point(text, range.start);
    let end_point = statements::advance(start_point, &text.as_bytes()[range.start..range.end]);
    let included = tree_sitter::Range {
        start_byte: range.start,
        end_byte: range.end,
        start_point,
        end_point,
    };
    parser.set_included_ranges(&[included]).ok()?;
    let tree = parser.parse(text, old_tree);
    let _ = parser.set_included_ranges(&[]);
    tree
}

/// From this size a parse without an earlier tree (a document being opened) may be done in
/// two parts on two cores (`analysis::check`): tree-sitter parses ~7 MB/s here, so below this
/// a whole parse takes under ~10 ms and cutting saves little.
pub const PARSE_IN_PARTS_MIN_BYTES: usize = 64 * 1024;

/// Where `text` may be cut in two so that each part parses alone as a module: the start of a
/// line near the middle that begins a top-level definition ([`starts_definition`]). `None` for a text under [`PARSE_IN_PARTS_MIN_BYTES`] or without
/// such a line in its middle half.
///
/// The cut is a guess, checked by parsing: a line that only looks like a definition (inside a
/// string or brackets, or an `@` continuing an expression) leaves an error in one of the
/// parts, and parts are only used when neither has one. Two error-free parts cut at a
/// column-0 line start are exactly the whole module's top-level statements: a statement
/// continued across the cut (an open bracket or string, a backslash, a decorator, a clause
/// such as `else:`) would leave an error on one side.
pub fn part_boundary(text: &str) -> Option<usize> {
    if text.len() < PARSE_IN_PARTS_MIN_BYTES {
        return None;
    }
    let bytes = text.as_bytes();
    // The start of the line after the newline at `newline`, if it begins a definition.
    let candidate = |newline: usize| {
        let line = newline + 1;
        let continued = newline > 0 && bytes[newline - 1] == b'\\';
        (line < bytes.len() && !continued && starts_definition(&bytes[line..])).then_some(line)
    };
    let (quarter, middle) = (bytes.len() / 4, bytes.len() / 2);
    memchr::memchr_iter(b'\n', &bytes[middle..bytes.len() - quarter])
        .find_map(|at| candidate(middle + at))
        .or_else(|| {
            memchr::memrchr_iter(b'\n', &bytes[quarter..middle])
                .find_map(|at| candidate(quarter + at))
        })
}

/// Whether a line (`rest`: the text from its start) begins a definition at column 0: a
/// decorator, or `class`, `def` or `async` followed by a space or tab. Only a guess about the
/// text (the line may lie inside a string or brackets); callers check it against a parse.
pub(crate) fn starts_definition(rest: &[u8]) -> bool {
    rest.starts_with(b"@")
        || ["class", "def", "async"].iter().any(|keyword| {
            rest.strip_prefix(keyword.as_bytes())
                .and_then(|after| after.first())
                .is_some_and(|b| *b == b' ' || *b == b'\t')
        })
}

/// [`syntax_diagnostics`] of a module parsed in consecutive parts, each cut at a top-level
/// statement boundary (see [`part_boundary`]) and free of errors: exactly what the whole
/// module's tree gives.
pub fn syntax_diagnostics_of_parts(trees: &[tree_sitter::Tree], text: &str) -> Vec<Diagnostic> {
    diagnose::run_parts(trees, text)
}

/// Syntax errors in `tree` (parsed from `text`) as diagnostics with readable messages.
///
/// Every diagnostic has code `syntax`, source [`DiagnosticSource::Syntax`] and severity
/// [`Severity::Error`]; they are ordered by position, deduplicated and capped at
/// [`MAX_SYNTAX_DIAGNOSTICS`]. Ranges are byte ranges into `text` on UTF-8 character
/// boundaries. Never panics, whatever the input; the tree is walked iteratively.
///
/// [`DiagnosticSource::Syntax`]: crate::diagnostics::DiagnosticSource::Syntax
/// [`Severity::Error`]: crate::diagnostics::Severity::Error
pub fn syntax_diagnostics(tree: &tree_sitter::Tree, text: &str) -> Vec<Diagnostic> {
    diagnose::run(tree, text)
}

/// [`syntax_diagnostics`] for successive versions of one document, reusing the work done for
/// top-level statements that did not change.
///
/// Keep one per open document and call [`SyntaxCache::diagnostics`] with each version's tree
/// (incrementally reparsed or fresh) and text (edited in any way): the result is always exactly
/// what [`syntax_diagnostics`] returns for the same tree and text. A statement is reused when
/// its text, its position on its line and the state of the walk before it (indentation, open
/// brackets and strings, ...) match a statement of the previous call; see `diagnose/memo.rs`.
/// The cache holds hashes and the few diagnostics of each statement of the last call, never
/// text or trees.
#[derive(Debug, Default)]
pub struct SyntaxCache {
    memo: diagnose::StatementMemo,
}

impl SyntaxCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Exactly `syntax_diagnostics(tree, text)`, computed incrementally.
    pub fn diagnostics(&mut self, tree: &tree_sitter::Tree, text: &str) -> Vec<Diagnostic> {
        diagnose::run_with(tree, text, Some(&mut self.memo))
    }

    /// How many top-level statements the last [`SyntaxCache::diagnostics`] call walked.
    pub fn last_recomputed(&self) -> usize {
        self.memo.recomputed()
    }

    /// How many top-level statements the last [`SyntaxCache::diagnostics`] call reused.
    pub fn last_reused(&self) -> usize {
        self.memo.reused()
    }
}
