//! Statement-level reparsing for keystrokes inside one top-level definition or simple
//! statement (an assignment or a call at module level).
//!
//! tree-sitter's incremental reparse still visits every top-level statement of a module (for
//! Python, comparing external-scanner state at each reused subtree), about 3 ms for a
//! 6,000-line file. When the previous version parsed without errors and an edit stays inside
//! one top-level statement, that statement alone decides the new tree: Python statements at
//! column 0 start and end in the same lexer state (no open bracket, string or indentation).
//! So the statement's text is parsed on its own (tree-sitter's included ranges keep the
//! offsets of the whole text) and everything else is reused: the syntax diagnostics of the
//! other statements are moved, and the PlanAI summary replaces just that definition
//! (`AnalysisHost::update_definition`).
//!
//! Architecture Invariant: the fast path gives exactly what a full parse would. It applies
//! only when the previous version had no syntax error (and no syntax diagnostic), the edit
//! does not touch the first character of the next statement (which could join the two), and
//! the statement parses alone without error or diagnostic into exactly one definition or
//! expression statement;
//! anything else takes the full path. (With any diagnostic, `syntax_diagnostics` decides
//! CPython's first error from the whole text, which one statement cannot do.)
//! `tests/statement_edits.rs` checks the equivalence on random edits.

use std::ops::Range;
use std::sync::Arc;

use crate::diagnostics::Diagnostic;
use crate::text::Edit;

/// What the last full or statement-level check of a document leaves for the next one.
pub struct StatementIndex {
    text: Arc<str>,
    /// Start of every top-level statement (comments included), in order.
    starts: Vec<usize>,
    /// The syntax diagnostics of `text`.
    syntax: Vec<Diagnostic>,
    /// The tree of the statement edited last (its slot and its tree as of `text`): the next
    /// keystroke in the same statement reparses it incrementally instead of from scratch,
    /// which matters for a graph builder of a thousand lines.
    last_edited: Option<(usize, tree_sitter::Tree)>,
}

/// One top-level definition of the new text, parsed alone.
pub struct StatementEdit {
    /// The change from the previous text.
    pub edit: Edit,
    /// Where the edited statement started in the previous text.
    pub old_start: usize,
    /// Where the next statement started in the previous text (or its end).
    pub old_end: usize,
    /// The tree of the statement alone; its root's only child is the definition.
    pub tree: tree_sitter::Tree,
    /// The statement is a simple statement directly in the body of a top-level function
    /// (`old_start..old_end` is its own old range, not the top-level statement's), parsed
    /// alone without reparsing the function around it: a keystroke in a graph builder of a
    /// thousand lines costs one line's parse.
    pub nested: bool,
    slot: usize,
    /// The tree the next keystroke in the same top-level statement starts from.
    keep: tree_sitter::Tree,
}

impl StatementEdit {
    /// The edited statement (a `class_definition`, `function_definition`,
    /// `decorated_definition` or `expression_statement` node with offsets into the new text).
    pub fn definition(&self) -> tree_sitter::Node<'_> {
        let root = self.tree.root_node();
        root.named_child(0).unwrap_or(root)
    }
}

impl StatementIndex {
    /// The index of `text` (parsed as `tree`, with `syntax` its diagnostics), or `None` when
    /// the tree has errors (then statement boundaries are not trustworthy) or there is any
    /// syntax diagnostic (then the first one depends on the whole text). `trees`: the text's
    /// tree, or the trees of its consecutive parts when it was parsed in parts
    /// (`syntax::part_boundary`).
    pub fn new(
        text: Arc<str>,
        trees: &[tree_sitter::Tree],
        syntax: Vec<Diagnostic>,
    ) -> Option<StatementIndex> {
        if trees.is_empty()
            || trees.iter().any(|tree| tree.root_node().has_error())
            || !syntax.is_empty()
        {
            return None;
        }
        let mut starts = Vec::new();
        for tree in trees {
            let root = tree.root_node();
            let mut cursor = root.walk();
            starts.extend(root.children(&mut cursor).map(|child| child.start_byte()));
        }
        Some(StatementIndex {
            text,
            starts,
            syntax,
            last_edited: None,
        })
    }

    /// The text this index describes.
    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    /// Parses the one statement `text` changed, if the change is a statement-level edit.
    pub fn reparse(&self, parser: &mut tree_sitter::Parser, text: &str) -> Option<StatementEdit> {
        self.reparse_edit(parser, text, Edit::between(&self.text, text))
    }

    /// [`StatementIndex::reparse`] with the edit from the indexed text to `text` already known
    /// (recorded as the document was edited; a covering edit is fine).
    pub fn reparse_edit(
        &self,
        parser: &mut tree_sitter::Parser,
        text: &str,
        edit: Edit,
    ) -> Option<StatementEdit> {
        let (slot, old_range) = self.slot_of(edit)?;
        let new_range = old_range.start..edit.map_end(old_range.end);
        let old_tree = match &self.last_edited {
            Some((last, tree)) if *last == slot => {
                let mut tree = tree.clone();
                tree.edit(&self.input_edit(text, edit));
                Some(tree)
            }
            _ => None,
        };
        if let Some(edited) = &old_tree {
            if let Some(nested) = nested_statement_edit(parser, text, edit, slot, edited) {
                return Some(nested);
            }
        }
        let tree = parse_range(parser, text, new_range.clone(), old_tree.as_ref())?;
        if !is_one_definition_at(&tree, new_range.start)
            || !super::syntax_diagnostics(&tree, text).is_empty()
        {
            return None;
        }
        Some(StatementEdit {
            edit,
            old_start: old_range.start,
            old_end: old_range.end,
            keep: tree.clone(),
            tree,
            nested: false,
            slot,
        })
    }

    /// `edit` (from the indexed text to `text`) as tree-sitter takes it.
    fn input_edit(&self, text: &str, edit: Edit) -> tree_sitter::InputEdit {
        let start_position = crate::text::str_offset_to_point(&self.text, edit.start);
        tree_sitter::InputEdit {
            start_byte: edit.start,
            old_end_byte: edit.old_end,
            new_end_byte: edit.new_end,
            start_position,
            old_end_position: advance(
                start_position,
                &self.text.as_bytes()[edit.start..edit.old_end],
            ),
            new_end_position: advance(start_position, &text.as_bytes()[edit.start..edit.new_end]),
        }
    }

    /// The slot (statement index and old byte range up to the next statement) holding
    /// `edit`, when it holds all of it.
    fn slot_of(&self, edit: Edit) -> Option<(usize, Range<usize>)> {
        let slot = self
            .starts
            .partition_point(|s| *s <= edit.start)
            .checked_sub(1)?;
        let end = self.starts.get(slot + 1).copied();
        let inside = match end {
            // Touching the next statement's first character could join the two.
            Some(next) => edit.old_end < next,
            None => edit.old_end <= self.text.len(),
        };
        inside.then(|| (slot, self.starts[slot]..end.unwrap_or(self.text.len())))
    }

    /// The index of the new text after `change`, and its syntax diagnostics: none, since
    /// neither the previous text nor the reparsed statement has any.
    pub fn apply(&self, text: Arc<str>, change: &StatementEdit) -> StatementIndex {
        let edit = change.edit;
        debug_assert!(self.syntax.is_empty());
        let syntax = Vec::new();
        let delta = edit.new_end as isize - edit.old_end as isize;
        let starts = self
            .starts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i > change.slot {
                    (*s as isize + delta) as usize
                } else {
                    *s
                }
            })
            .collect();
        StatementIndex {
            text,
            starts,
            syntax,
            last_edited: Some((change.slot, change.keep.clone())),
        }
    }

    /// The syntax diagnostics of the indexed text.
    pub fn syntax(&self) -> &[Diagnostic] {
        &self.syntax
    }
}

/// A keystroke inside a simple statement (an assignment, a call) directly in the body of a
/// top-level function: that statement parsed alone. `slot_tree` is the tree of the enclosing
/// top-level statement, with `edit` applied but not reparsed (its statement boundaries are
/// still right: every earlier keystroke that took this path left its statement one statement
/// with the same start).
///
/// Why the statement alone decides: the previous text had no error; the edit stays strictly
/// inside the statement (its indentation and the newline that ends it are untouched, and it
/// does not end in a line continuation); and the statement alone parses, without error, into
/// one expression statement spanning exactly its new range, which the walk accepts at the
/// indentation of its line. The function's other statements, and every other top-level
/// statement, are then unchanged tokens in an unchanged lexical state.
fn nested_statement_edit(
    parser: &mut tree_sitter::Parser,
    text: &str,
    edit: Edit,
    slot: usize,
    slot_tree: &tree_sitter::Tree,
) -> Option<StatementEdit> {
    let mut node = slot_tree
        .root_node()
        .descendant_for_byte_range(edit.start, edit.new_end)?;
    while node.kind() != "expression_statement" {
        node = node.parent()?;
    }
    let block = node.parent().filter(|b| b.kind() == "block")?;
    let function = block
        .parent()
        .filter(|f| f.kind() == "function_definition")?;
    let top = match function.parent()? {
        d if d.kind() == "decorated_definition" => d.parent()?,
        p => p,
    };
    if top.kind() != "module" {
        return None;
    }
    // `node` is as of the new text (the edit is applied to `slot_tree`).
    let new_range = node.start_byte()..node.end_byte();
    let old_end = new_range
        .end
        .checked_add(edit.old_end)?
        .checked_sub(edit.new_end)?;
    if !(new_range.start < edit.start && edit.new_end <= new_range.end)
        || text.as_bytes().get(new_range.end.checked_sub(1)?) == Some(&b'\\')
    {
        return None;
    }
    let tree = parse_range(parser, text, new_range.clone(), None)?;
    let only = {
        let root = tree.root_node();
        let mut cursor = root.walk();
        let mut children = root.children(&mut cursor);
        match (children.next(), children.next()) {
            (Some(only), None) => only,
            _ => return None,
        }
    };
    if only.kind() != "expression_statement"
        || only.start_byte() != new_range.start
        || only.end_byte() != new_range.end
        || !line_breaks_are_inside_brackets(only, text)
        || !super::diagnose::run_in_block(&tree, text).is_some_and(|d| d.is_empty())
    {
        return None;
    }
    Some(StatementEdit {
        edit,
        old_start: new_range.start,
        old_end,
        tree,
        nested: true,
        slot,
        keep: slot_tree.clone(),
    })
}

/// Whether every line break inside `statement` continues it the way Python does: inside
/// brackets or a string, or after a backslash. Parsed alone, tree-sitter also joins
/// `x =` and a next line (no NEWLINE token is expected after `=`), where the whole text has
/// an error. Continuation lines must also be indented at least as deep as the statement and
/// not blank: in the whole text, tree-sitter's scanner ends the block at a shallower one even
/// inside brackets (then the whole tree has an error the statement alone cannot show).
fn line_breaks_are_inside_brackets(statement: tree_sitter::Node, text: &str) -> bool {
    let bytes = text.as_bytes();
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |n| n + 1);
    let indentation = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count()
    };
    let own = indentation(line_start(statement.start_byte()));
    (statement.start_byte()..statement.end_byte())
        .filter(|&at| {
            bytes[at] == b'\n' || (bytes[at] == b'\r' && bytes.get(at + 1) != Some(&b'\n'))
        })
        .all(|at| {
            let next = indentation(at + 1);
            if next < own || matches!(bytes.get(at + 1 + next), None | Some(b'\n' | b'\r')) {
                return false;
            }
            let continued = match at.checked_sub(1).map(|b| bytes[b]) {
                Some(b'\\') => true,
                Some(b'\r') => at >= 2 && bytes[at - 2] == b'\\',
                _ => false,
            };
            continued
                || statement
                    .descendant_for_byte_range(at, at + 1)
                    .is_some_and(|mut node| loop {
                        if matches!(
                            node.kind(),
                            "argument_list"
                                | "parenthesized_expression"
                                | "list"
                                | "tuple"
                                | "dictionary"
                                | "set"
                                | "subscript"
                                | "list_comprehension"
                                | "dictionary_comprehension"
                                | "set_comprehension"
                                | "generator_expression"
                                | "string"
                                | "parameters"
                        ) {
                            break true;
                        }
                        match node.parent() {
                            Some(parent) if node.id() != statement.id() => node = parent,
                            _ => break false,
                        }
                    })
        })
}

/// Whether the root of `tree` holds exactly one definition, starting at `start`.
fn is_one_definition_at(tree: &tree_sitter::Tree, start: usize) -> bool {
    let root = tree.root_node();
    let mut cursor = root.walk();
    let mut children = root.children(&mut cursor);
    match (children.next(), children.next()) {
        (Some(only), None) => {
            only.start_byte() == start
                && matches!(
                    only.kind(),
                    "class_definition"
                        | "function_definition"
                        | "decorated_definition"
                        | "expression_statement"
                )
        }
        _ => false,
    }
}

/// The point after `text`, which starts at `from`.
/// Bytes, not `str`: an edit found by diffing may split a character.
pub(super) fn advance(from: tree_sitter::Point, text: &[u8]) -> tree_sitter::Point {
    match text.iter().rposition(|b| *b == b'\n') {
        Some(last) => tree_sitter::Point::new(
            from.row + text.iter().filter(|b| **b == b'\n').count(),
            text.len() - last - 1,
        ),
        None => tree_sitter::Point::new(from.row, from.column + text.len()),
    }
}

/// Parses `text[range]` as a module on its own, keeping offsets into `text`; `None` when it
/// has a syntax error.
fn parse_range(
    parser: &mut tree_sitter::Parser,
    text: &str,
    range: Range<usize>,
    old_tree: Option<&tree_sitter::Tree>,
) -> Option<tree_sitter::Tree> {
    super::parse_part_with(parser, text, range, old_tree).filter(|t| !t.root_node().has_error())
}
