//! Python parsing with tree-sitter and syntax-error diagnostics.

use crate::diagnostics::Diagnostic;

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

/// Syntax errors in `tree` (parsed from `text`) as diagnostics with readable messages.
pub fn syntax_diagnostics(tree: &tree_sitter::Tree, _text: &str) -> Vec<Diagnostic> {
    use crate::diagnostics::{DiagnosticSource, Severity, TextRange};
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            out.push(Diagnostic::new(
                DiagnosticSource::Syntax,
                Severity::Error,
                "syntax",
                TextRange::new(node.start_byte(), node.end_byte()),
                "invalid syntax",
            ));
        } else if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}
