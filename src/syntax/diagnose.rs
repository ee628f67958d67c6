//! Derivation of CPython-style syntax errors from a tree-sitter tree.
//!
//! One iterative pre-order walk (a [`tree_sitter::TreeCursor`], so no recursion whatever the
//! nesting depth) visits only the "statement skeleton" of the tree: the module, blocks,
//! compound statements and their clauses, plus every node that contains an error. Valid
//! expressions are not descended into, which keeps the walk proportional to the number of
//! statements rather than the number of tokens. During the walk we
//!
//! - match brackets like CPython's tokenizer (`unmatched ')'`, `'(' was never closed`,
//!   `closing parenthesis ']' does not match opening parenthesis '('`). Brackets inside valid
//!   nodes are balanced by construction, so only brackets that we do visit matter;
//! - emulate the tokenizer's indentation stack on logical-line starts (`unexpected indent`,
//!   `unindent does not match any outer indentation level`, `expected an indented block after
//!   'if' statement on line N`, `inconsistent use of tabs and spaces in indentation`), because
//!   tree-sitter-python does not check indentation;
//! - turn `MISSING` tokens into `expected ':'` and friends, loose or unfinished string
//!   delimiters into `unterminated string literal (detected at line N)`;
//! - remember the outermost `ERROR` nodes, classified after the walk: if a more specific
//!   diagnostic explains them they are dropped, otherwise they become `expected ':'` (a compound
//!   statement header without its colon), `invalid syntax. Perhaps you forgot a comma?`, ... or
//!   `invalid syntax` on the first token.

use super::fields::{Field, FieldChildren};
use crate::diagnostics::{Code, Diagnostic, DiagnosticSource, Severity, TextRange};
use tree_sitter::{Node, Tree, TreeCursor};

mod memo;

use super::first_error;
use super::tokenizer::{too_deeply_nested, MAX_INDENT, MAX_LEVEL};

pub(super) use memo::StatementMemo;

use super::MAX_SYNTAX_DIAGNOSTICS;

/// Diagnostics generated internally before sorting/capping; generous so that the 100 kept
/// are the first ones by position, but bounded so pathological inputs stay cheap.
const INTERNAL_CAP: usize = 4 * MAX_SYNTAX_DIAGNOSTICS;
/// How many leaves of one ERROR node we keep for classifying it.
const ERROR_LEAF_CAP: usize = 256;

/// Nodes whose children can start logical lines: we always descend into these.
const CONTAINERS: &[&str] = &[
    "module",
    "block",
    "if_statement",
    "elif_clause",
    "else_clause",
    "for_statement",
    "while_statement",
    "try_statement",
    "except_clause",
    "except_group_clause",
    "finally_clause",
    "with_statement",
    "function_definition",
    "class_definition",
    "decorated_definition",
    "match_statement",
    "case_clause",
];

/// Keywords that start a compound statement header (which needs a `:`).
const COMPOUND_KEYWORDS: &[&str] = &[
    "if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def", "class",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// Tokenizer-level or otherwise precise: brackets, strings, NUL bytes, MISSING tokens.
    Specific,
    /// Indentation problems.
    Indent,
    /// Derived from an ERROR node.
    Error,
}

struct Found {
    range: TextRange,
    message: String,
    origin: Origin,
}

#[derive(Clone, Copy)]
struct Opener {
    ch: u8,
    pos: usize,
    row: usize,
}

#[derive(Clone, Copy)]
struct Leaf {
    start: usize,
    end: usize,
    kind: &'static str,
    named: bool,
    row: usize,
    end_row: usize,
}

struct ErrorInfo {
    start: usize,
    end: usize,
    /// Already turned into a diagnostic by a context rule.
    consumed: bool,
    /// Inside an open bracket (where CPython suggests a missing comma).
    in_brackets: bool,
    leaves: Vec<Leaf>,
}

enum Pending {
    /// A compound statement header ended with `:`; the next logical line must be indented.
    Block {
        what: &'static str,
        line: usize,
        colon: TextRange,
    },
    /// Something inside an ERROR ended with `:`; an indent is plausible, nothing is required.
    Lenient,
}

/// The parent and previous sibling of the node being visited, tracked by the walk.
#[derive(Clone, Copy, Default)]
struct Near<'t> {
    parent: Option<Node<'t>>,
    prev: Option<Node<'t>>,
}

use super::indent::Indent;

struct Walker<'a> {
    text: &'a str,
    bytes: &'a [u8],
    found: Vec<Found>,
    brackets: Vec<Opener>,
    errors: Vec<ErrorInfo>,
    /// End of the outermost ERROR node we are inside (nodes starting before it are inside).
    error_until: usize,
    /// End of the string node we are inside.
    string_until: usize,
    /// Regions (start, end) where CPython would see a string: everything is suppressed there.
    string_regions: Vec<(usize, usize)>,
    skip_until: usize,
    indents: Vec<Indent>,
    pending: Option<Pending>,
    last_line_start: Option<usize>,
    last_error_touch: Option<usize>,
    total_lines: Option<usize>,
    /// A message pushed since this was last cleared names a line number (`... on line 3`), so
    /// it cannot be reused for the same statement on another line.
    mentioned_line: bool,
    /// tree-sitter found an error somewhere (possibly a hidden MISSING token the walk cannot
    /// see).
    tree_has_error: bool,
    /// The start of the first top-level statement that is not known to be clean.
    clean_until: usize,
}

pub(super) fn run(tree: &Tree, text: &str) -> Vec<Diagnostic> {
    run_with(tree, text, None)
}

/// [`run`], replaying what `memo` remembers of top-level statements that have not changed
/// instead of walking them again, and remembering the statements it does walk.
pub(super) fn run_with(
    tree: &Tree,
    text: &str,
    memo: Option<&mut StatementMemo>,
) -> Vec<Diagnostic> {
    run_from(std::slice::from_ref(tree), text, memo, Indent::ZERO)
}

/// [`run`] for a module parsed in consecutive parts, each cut at a top-level statement
/// boundary and parsed alone (`syntax::parse_in_parts`): the parts' top-level statements are
/// walked in order as the children of one module.
pub(super) fn run_parts(trees: &[Tree], text: &str) -> Vec<Diagnostic> {
    run_from(trees, text, None, Indent::ZERO)
}

/// [`run`] for a tree that holds one statement of an indented block parsed alone (its root
/// starts where the statement does, after its line's indentation): the walk starts inside a
/// block at that indentation, as it would reach the statement in the whole text. `None` when
/// the statement does not start its line.
pub(super) fn run_in_block(tree: &Tree, text: &str) -> Option<Vec<Diagnostic>> {
    let start = tree.root_node().start_byte();
    let line = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
    let mut indent = Indent::ZERO;
    for &c in &text.as_bytes()[line..start] {
        if !indent.advance(c) {
            return None;
        }
    }
    Some(run_from(std::slice::from_ref(tree), text, None, indent))
}

fn run_from(
    trees: &[Tree],
    text: &str,
    mut memo: Option<&mut StatementMemo>,
    block: Indent,
) -> Vec<Diagnostic> {
    let mut indents = vec![Indent::ZERO];
    if block != Indent::ZERO {
        indents.push(block);
    }
    let mut w = Walker {
        text,
        bytes: text.as_bytes(),
        found: Vec::new(),
        brackets: Vec::new(),
        errors: Vec::new(),
        error_until: 0,
        string_until: 0,
        string_regions: Vec::new(),
        skip_until: 0,
        indents,
        pending: None,
        last_line_start: None,
        last_error_touch: None,
        total_lines: None,
        mentioned_line: false,
        tree_has_error: trees.iter().any(|tree| tree.root_node().has_error()),
        clean_until: 0,
    };
    if let Some(memo) = memo.as_deref_mut() {
        memo.start_pass();
    }
    w.null_bytes();
    w.walk(trees, memo.as_deref_mut());
    if let Some(memo) = memo {
        memo.end_pass();
    }
    w.finish_walk();
    w.classify_errors();
    let first = w.found.iter().map(|f| f.range.start()).min();
    w.clean_until = clean_prefix(trees, first);
    w.into_diagnostics()
}

/// The start of the top-level statement before the one holding the first error (the first
/// diagnostic at `first`, or an error in the tree): a clause that lost its statement (an
/// `except` after a clean `try`, say) makes the statement before it invalid too. 0 when there
/// is no such statement or the tree's error cannot be seen (a hidden MISSING token).
fn clean_prefix(trees: &[Tree], first: Option<usize>) -> usize {
    if trees.iter().any(|tree| tree.root_node().kind() != "module") {
        return 0;
    }
    let first = first.unwrap_or(usize::MAX);
    let (mut previous, mut before_previous) = (0, 0);
    let roots: Vec<Node> = trees.iter().map(Tree::root_node).collect();
    let mut cursors: Vec<_> = roots.iter().map(|root| root.walk()).collect();
    let children = roots
        .iter()
        .zip(cursors.iter_mut())
        .flat_map(|(root, cursor)| root.children(cursor));
    for child in children {
        if child.has_error() || child.end_byte() > first {
            return if child.start_byte() <= first {
                previous
            } else {
                before_previous
            };
        }
        before_previous = previous;
        previous = child.start_byte();
    }
    0
}

const CONTAINER: u16 = 1;
const STRING: u16 = 2;
const STRING_START: u16 = 4;
const COMMENT: u16 = 8;
const NO_LINE: u16 = 16;
const OPEN: u16 = 32;
const CLOSE: u16 = 64;
const COLON: u16 = 128;
const BLOCK: u16 = 256;
const EXPRESSION_STATEMENT: u16 = 512;
/// `print x` or `exec code`, which tree-sitter-python still parses as statements.
const PYTHON2_STATEMENT: u16 = 1024;
const TRY: u16 = 2048;
const ASSIGNMENT: u16 = 4096;
const NAMED_EXPRESSION: u16 = 8192;
/// `return`, `break`, `continue`, `nonlocal`, `from m import *`: allowed only in some scopes.
const SCOPED: u16 = 16384;
/// `def`: its parameters are checked (defaults, duplicates, a bare `*`).
const FUNCTION: u16 = 32768;

/// What the walk needs to know about a node kind.
#[derive(Clone, Copy, Default)]
struct KindInfo {
    flags: u16,
    /// The field holding the body `block` of a compound statement (0: none).
    body_field: u16,
}

/// [`KindInfo`] by kind id (string comparisons on every visited node would dominate the walk).
fn kind_info(id: u16) -> KindInfo {
    static TABLE: std::sync::OnceLock<Vec<KindInfo>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
        let field = |name: &str| language.field_id_for_name(name).map_or(0, |f| f.get());
        let (body, consequence) = (field("body"), field("consequence"));
        (0..language.node_kind_count())
            .map(|i| {
                let id = i as u16;
                let Some(kind) = language.node_kind_for_id(id) else {
                    return KindInfo::default();
                };
                let named = language.node_kind_is_named(id);
                let flags = match (kind, named) {
                    ("module", true) => CONTAINER | NO_LINE,
                    ("block", true) => CONTAINER | NO_LINE | BLOCK,
                    ("expression_statement", true) => EXPRESSION_STATEMENT,
                    ("print_statement" | "exec_statement", true) => PYTHON2_STATEMENT,
                    ("try_statement", true) => CONTAINER | TRY,
                    ("assignment" | "augmented_assignment", true) => ASSIGNMENT,
                    ("named_expression", true) => NAMED_EXPRESSION,
                    (
                        "return_statement"
                        | "break_statement"
                        | "continue_statement"
                        | "nonlocal_statement"
                        | "import_from_statement",
                        true,
                    ) => SCOPED,
                    ("function_definition", true) => CONTAINER | FUNCTION,
                    (k, true) if CONTAINERS.contains(&k) => CONTAINER,
                    ("string", true) => STRING,
                    ("string_start", true) => STRING_START,
                    ("comment" | "line_continuation", true) => COMMENT,
                    ("(" | "[" | "{", false) => OPEN,
                    (")" | "]" | "}", false) => CLOSE,
                    (":", false) => COLON,
                    _ => 0,
                };
                let body_field = match (kind, named) {
                    (
                        "function_definition"
                        | "class_definition"
                        | "for_statement"
                        | "while_statement"
                        | "try_statement"
                        | "with_statement"
                        | "else_clause",
                        true,
                    ) => body,
                    ("if_statement" | "elif_clause" | "case_clause", true) => consequence,
                    // Not match_statement: its body block starts on the header's line (it
                    // contains the indent), so the walk must see its `:`.
                    _ => 0,
                };
                KindInfo { flags, body_field }
            })
            .collect()
    });
    table.get(id as usize).copied().unwrap_or_default()
}

fn kind_flags(id: u16) -> u16 {
    kind_info(id).flags
}

/// For a compound statement without errors, the byte where its body starts: the walk jumps
/// there, skipping the header's children (keyword, name, parameters, condition, `:`), which
/// are balanced and cannot start a logical line.
fn body_start(node: Node<'_>) -> Option<usize> {
    let field = kind_info(node.kind_id()).body_field;
    if field == 0 || node.has_error() {
        return None;
    }
    let body = node.child_by_field_id(field)?;
    (body.end_byte() > body.start_byte()).then(|| body.start_byte())
}

fn is_closer(kind: &str) -> Option<u8> {
    match kind {
        ")" => Some(b'('),
        "]" => Some(b'['),
        "}" => Some(b'{'),
        _ => None,
    }
}

fn header_description(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "if_statement" => "'if' statement",
        "elif_clause" => "'elif' statement",
        "else_clause" => "'else' statement",
        "for_statement" => "'for' statement",
        "while_statement" => "'while' statement",
        "try_statement" => "'try' statement",
        "except_clause" => "'except' statement",
        "except_group_clause" => "'except*' statement",
        "finally_clause" => "'finally' statement",
        "with_statement" => "'with' statement",
        "function_definition" => "function definition",
        "class_definition" => "class definition",
        "match_statement" => "'match' statement",
        "case_clause" => "'case' statement",
        _ => return None,
    })
}

impl<'a> Walker<'a> {
    fn push(&mut self, range: TextRange, message: impl Into<String>, origin: Origin) {
        if self.found.len() < INTERNAL_CAP {
            self.found.push(Found {
                range,
                message: message.into(),
                origin,
            });
        }
    }

    fn full(&self) -> bool {
        self.found.len() >= INTERNAL_CAP
    }

    /// CPython refuses any NUL byte; tree-sitter turns them into ERROR nodes.
    fn null_bytes(&mut self) {
        if !contains_nul(self.bytes) {
            return;
        }
        let mut i = 0;
        while i < self.bytes.len() && !self.full() {
            if self.bytes[i] == 0 {
                let start = i;
                while i < self.bytes.len() && self.bytes[i] == 0 {
                    i += 1;
                }
                self.push(
                    TextRange::new(start, i),
                    "source code string cannot contain null bytes",
                    Origin::Specific,
                );
            } else {
                i += 1;
            }
        }
    }

    /// Pre-order walk, one top-level statement (child of the root) at a time so that `memo` can
    /// stand in for statements it has seen before.
    ///
    /// `trees` are the consecutive parts of one module (one tree, unless the module was parsed
    /// in parts): the first root is visited as the module, and the top-level statements of
    /// every part are walked as its children, in order.
    fn walk(&mut self, trees: &[Tree], mut memo: Option<&mut StatementMemo>) {
        let Some(first) = trees.first() else {
            return;
        };
        if !self.visit(first.root_node(), Near::default()) {
            return;
        }
        let mut prev = None;
        for tree in trees {
            self.walk_statements(tree.root_node(), &mut prev, memo.as_deref_mut());
        }
    }

    /// Walks the top-level statements of `root`, `prev` being the statement before them.
    fn walk_statements<'t>(
        &mut self,
        root: Node<'t>,
        prev: &mut Option<Node<'t>>,
        mut memo: Option<&mut StatementMemo>,
    ) {
        let mut cursor = root.walk();
        let entered = match body_start(root) {
            Some(at) => cursor.goto_first_child_for_byte(at).is_some(),
            None => cursor.goto_first_child(),
        };
        if !entered {
            return;
        }
        // Outcomes are only remembered for children of a `module` (never of a root ERROR).
        let memoize = root.kind() == "module";
        let mut statement_cursor = root.walk();
        let mut parents = Vec::new();
        loop {
            let node = cursor.node();
            let near = Near {
                parent: Some(root),
                prev: *prev,
            };
            match memo.as_deref_mut() {
                Some(memo) if memoize => {
                    self.memoized_statement(node, near, memo, &mut statement_cursor, &mut parents)
                }
                Some(memo) => {
                    memo.count_walked();
                    self.walk_subtree(node, near, &mut statement_cursor, &mut parents);
                }
                None => {
                    // As `memoized_statement` does for a statement it could remember: the
                    // cached and the full computation must agree.
                    let keyed = memoize && self.parsed_alone(node);
                    let found = self.found.len();
                    self.walk_subtree(node, near, &mut statement_cursor, &mut parents);
                    if keyed {
                        self.parser_errors_in_valid_statement(node, found, None);
                    }
                }
            }
            *prev = Some(node);
            if !cursor.goto_next_sibling() {
                return;
            }
        }
    }

    /// Pre-order walk of `top` and the part of its subtree [`Walker::visit`] asks for, with a
    /// cursor (`cursor` and `parents` are scratch space reused across statements). Parents and
    /// previous siblings are tracked here because `Node::parent` and `Node::prev_sibling`
    /// search down from the root: calling them for every statement would make the walk
    /// quadratic in the number of top-level statements.
    fn walk_subtree<'t>(
        &mut self,
        top: Node<'t>,
        near: Near<'t>,
        cursor: &mut TreeCursor<'t>,
        parents: &mut Vec<Node<'t>>,
    ) {
        cursor.reset(top);
        parents.clear();
        parents.extend(near.parent);
        let mut prev = near.prev;
        loop {
            let node = cursor.node();
            let near = Near {
                parent: parents.last().copied(),
                prev,
            };
            let flags = kind_flags(node.kind_id());
            if flags & (SCOPED | EXPRESSION_STATEMENT) != 0 && !node.has_error() {
                self.outside_its_scope(node, flags, parents);
            }
            let descend = self.visit(node, near);
            let entered = descend
                && match body_start(node) {
                    Some(at) => {
                        // The header is skipped, so its nesting is checked here.
                        self.check_nesting(node.start_byte(), at);
                        cursor.goto_first_child_for_byte(at).is_some()
                    }
                    None => cursor.goto_first_child(),
                };
            if entered {
                parents.push(node);
                prev = None;
                continue;
            }
            loop {
                let here = cursor.node();
                // At `top` itself both fail: the cursor was reset to it, so it is the root.
                if cursor.goto_next_sibling() {
                    prev = Some(here);
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
                parents.pop();
            }
        }
    }

    /// Handles one node; returns whether to visit its children.
    fn visit(&mut self, node: Node<'_>, near: Near<'_>) -> bool {
        let start = node.start_byte();
        let end = node.end_byte();
        if node.is_missing() {
            self.touch_error(start);
            self.on_missing(node, near);
            return false;
        }
        let is_error = node.is_error();
        if is_error && start >= self.error_until {
            self.on_error(node, near);
        }
        let in_error = start < self.error_until;
        if in_error {
            self.touch_error(start);
        }
        let flags = kind_flags(node.kind_id());
        let has_error = node.has_error();
        let descend = has_error || flags & CONTAINER != 0;
        if start < self.string_until {
            // Inside a well-formed string (f-string interpolations, ...): only look for errors.
            return has_error;
        }
        let is_leaf = node.child_count() == 0;
        if in_error
            && end > start
            && flags & COMMENT == 0
            && (is_leaf || !descend || flags & STRING != 0)
        {
            if let Some(info) = self.errors.last_mut() {
                if info.leaves.len() < ERROR_LEAF_CAP {
                    info.leaves.push(Leaf {
                        start,
                        end,
                        kind: node.kind(),
                        named: node.is_named(),
                        row: node.start_position().row,
                        end_row: node.end_position().row,
                    });
                }
            }
        }
        if start < self.skip_until || end == start || flags & COMMENT != 0 {
            return descend;
        }
        if flags & STRING != 0 {
            self.string_until = end;
            self.line_start(node, in_error);
            self.check_string(node);
            return has_error;
        }
        if flags & STRING_START != 0 {
            // A string delimiter outside a string node: tree-sitter gave up on this string.
            self.line_start(node, in_error);
            self.loose_string_start(node);
            return false;
        }
        if flags & NO_LINE == 0 && !is_error {
            self.line_start(node, in_error);
        }
        if flags & EXPRESSION_STATEMENT != 0 && !has_error {
            self.expression_statement(node);
        }
        if flags & PYTHON2_STATEMENT != 0 && !has_error {
            self.python2_statement(node);
        }
        if flags & TRY != 0 && !has_error {
            self.try_without_handler(node);
        }
        if flags & FUNCTION != 0 && !has_error {
            self.parameters(node);
        }
        if flags & BLOCK != 0 {
            self.block(node, near, in_error);
        }
        if is_leaf {
            if flags & OPEN != 0 {
                if self.brackets.len() == MAX_LEVEL {
                    self.push(
                        TextRange::new(start, start + 1),
                        "too many nested parentheses",
                        Origin::Specific,
                    );
                }
                self.brackets.push(Opener {
                    ch: self.bytes[start],
                    pos: start,
                    row: node.start_position().row,
                });
            } else if flags & CLOSE != 0 {
                self.close_bracket(node);
            } else if flags & COLON != 0 {
                self.colon(node, near, in_error);
            }
        } else if !descend {
            self.check_nesting(start, end);
        }
        descend
    }

    /// CPython's tokenizer refuses brackets nested more than [`MAX_LEVEL`] deep, also in valid
    /// code, but the walk does not descend into valid expressions: the text of one it skips
    /// (`start..end`) is scanned when it is long enough to nest that deep, which few are.
    fn check_nesting(&mut self, start: usize, end: usize) {
        let open = self.brackets.len();
        // Going past the limit takes more than `room` openers, and as many closers.
        let room = MAX_LEVEL.saturating_sub(open);
        if end.saturating_sub(start) <= 2 * room {
            return;
        }
        let Some(stretch) = self.bytes.get(start..end) else {
            return;
        };
        if let Some(at) = too_deeply_nested(stretch, open) {
            let at = start + at;
            self.push(
                TextRange::new(at, at + 1),
                "too many nested parentheses",
                Origin::Specific,
            );
        }
    }

    /// `else:` mistyped as `esle:` followed by an indented line: tree-sitter reads an
    /// annotation whose type is the next line (and, when that line is an assignment, its
    /// value too: `els:\n    y = 2` is `els: y = 2`). A newline outside brackets ends the
    /// statement, so CPython sees `esle:` alone: `invalid syntax`.
    fn annotation_on_next_line(&mut self, assignment: Node<'_>) {
        let (Some(left), Some(annotation)) =
            (assignment.field(Field::Left), assignment.field(Field::Type))
        else {
            return;
        };
        let colon = left.end_byte()
            + self.bytes[left.end_byte()..annotation.start_byte()]
                .iter()
                .position(|&c| c == b':')
                .map_or(0, |i| i + 1);
        if annotation.start_position().row > left.end_position().row
            && !self.continued(colon, annotation.start_byte())
        {
            self.push(TextRange::empty(colon), "invalid syntax", Origin::Specific);
        }
    }

    /// The checks of a statement tree-sitter found valid that CPython may not: an annotation
    /// whose type is on the next line, an unparenthesized named expression. This runs for
    /// every expression statement, so it goes by kind ids and child positions (an assignment
    /// is `left = right`, `left: type` or `left: type = right`), not names and fields.
    fn expression_statement(&mut self, statement: Node<'_>) {
        let Some(first) = statement.child(0) else {
            return;
        };
        let flags = kind_flags(first.kind_id());
        if flags & NAMED_EXPRESSION != 0 {
            self.unparenthesized_walrus(first);
            return;
        }
        if flags & ASSIGNMENT == 0 {
            return;
        }
        let count = first.child_count();
        // At most `left: type = right`; more children come from error recovery, and
        // `Node::child` walks the children from the first (an unclosed bracket made this
        // quadratic).
        if count > 5 {
            return;
        }
        let Some(last) = first.child(count.saturating_sub(1) as u32) else {
            return;
        };
        if kind_flags(last.kind_id()) & NAMED_EXPRESSION != 0 {
            self.unparenthesized_walrus(last);
        }
        // `left: type` or `left: type = right`.
        let annotated = count >= 3
            && first
                .child(1)
                .is_some_and(|c| kind_flags(c.kind_id()) & COLON != 0);
        if annotated {
            self.annotation_on_next_line(first);
            self.annotated_unpacking(first);
        }
    }

    /// `a, b: int` and `[a, b]: int`: tree-sitter accepts any assignment pattern before an
    /// annotation, CPython only a single target.
    fn annotated_unpacking(&mut self, assignment: Node<'_>) {
        let Some(left) = assignment.field(Field::Left) else {
            return;
        };
        let kind = match left.kind() {
            "pattern_list" => "tuple",
            // `(x): int` is a single target in parentheses; `(x,)` is a tuple.
            "tuple_pattern"
                if left.named_child_count() > 1 || child_of_kind(left, ",").is_some() =>
            {
                "tuple"
            }
            "list_pattern" => "list",
            _ => return,
        };
        let range = TextRange::new(left.start_byte(), left.end_byte());
        self.push(
            range,
            format!("only single target (not {kind}) can be annotated"),
            Origin::Specific,
        );
    }

    /// What CPython's parser refuses in a statement that tree-sitter parsed without error and
    /// the walk found nothing in since `found_before` (`f(a=1, 2)`, `f(x for x in y, 1)`,
    /// `del 1`, `x = *a`, `a, b += 1`, `012`, ...: the walk does not descend into valid
    /// expressions, and tree-sitter's grammar is looser there). The statement is parsed alone
    /// by ruff's parser (`first_error`), which the module grammar allows: it restarts at every
    /// statement that starts its line. Memoised with the statement's other outcomes, so an
    /// edit pays for the statements it changed.
    fn parser_errors_in_valid_statement(
        &mut self,
        statement: Node<'_>,
        found_before: usize,
        cache: Option<(&mut memo::ParsedStatements, u64)>,
    ) {
        // Not `;` (a child of the module between two statements on one line), not a comment.
        if !statement.is_named()
            || statement.has_error()
            || kind_flags(statement.kind_id()) & COMMENT != 0
            || self.found.len() != found_before
            || self.full()
        {
            return;
        }
        let (start, end) = (statement.start_byte(), statement.end_byte());
        let Some(source) = self.text.get(start..end) else {
            return;
        };
        let parse = || match first_error::statement_parses_cleanly(source) {
            Some(true) => None,
            _ => match first_error::cpython_first(source, &[], 0) {
                // CPython 3.11's f-string rules, which 3.12 relaxed (PEP 701): valid Python of a
                // later version gets no diagnostic (tree-sitter accepted it).
                Some((_, message)) if relaxed_after_3_11(&message) => None,
                Some((range, message)) => Some((range.start(), range.end(), message.into())),
                None => None,
            },
        };
        let error = match cache {
            Some((cache, key)) => cache.entry(key).or_insert_with(parse).clone(),
            None => parse(),
        };
        if let Some((from, to, message)) = error {
            let range = TextRange::new(start + from, start + to);
            self.push(range, message.into_string(), Origin::Specific);
        }
    }

    /// `return`, `yield` and `await` outside a function, `break` and `continue` outside a
    /// loop, `nonlocal` at module level, `import *` in a function or class: tree-sitter
    /// accepts them anywhere, CPython's compiler refuses them (at import). `parents` are the
    /// statement's enclosing nodes, outermost first.
    fn outside_its_scope(&mut self, statement: Node<'_>, flags: u16, parents: &[Node<'_>]) {
        let (node, kind) = if flags & SCOPED != 0 {
            if statement.kind() == "import_from_statement" {
                // Only `import *` is scoped; most imports sit at module level (no parents).
                if parents.len() <= 1 {
                    return;
                }
                match child_of_kind(statement, "wildcard_import") {
                    Some(star) => (star, "import *"),
                    None => return,
                }
            } else {
                (statement, statement.kind())
            }
        } else {
            // An expression statement that is a bare `yield ...` or `await ...`.
            match statement.child(0) {
                Some(first) if matches!(first.kind(), "yield" | "await") => (first, first.kind()),
                _ => return,
            }
        };
        // The innermost function, class or loop decides; a loop's `else` is not in the loop.
        let mut in_loop_else = false;
        let mut in_loop = false;
        let mut scope = None;
        for parent in parents.iter().rev() {
            match parent.kind() {
                "else_clause" => in_loop_else = true,
                "for_statement" | "while_statement" if in_loop_else => in_loop_else = false,
                "for_statement" | "while_statement" => in_loop = true,
                "function_definition" | "class_definition" => {
                    scope = Some(*parent);
                    break;
                }
                _ => in_loop_else = false,
            }
            if in_loop && matches!(kind, "break_statement" | "continue_statement") {
                return;
            }
        }
        let at_module_level = scope.is_none();
        let function = scope.filter(|s| s.kind() == "function_definition");
        let is_async = |f: Node<'_>| f.child(0).is_some_and(|c| c.kind() == "async");
        let message = match kind {
            "nonlocal_statement" if at_module_level => {
                "nonlocal declaration not allowed at module level"
            }
            "import *" if !at_module_level => "import * only allowed at module level",
            "return_statement" if function.is_none() => "'return' outside function",
            "yield" if function.is_none() => "'yield' outside function",
            "await" if function.is_none() => "'await' outside function",
            "await" if !function.is_some_and(is_async) => "'await' outside async function",
            "break_statement" => "'break' outside loop",
            "continue_statement" => "'continue' not properly in loop",
            _ => return,
        };
        let range = TextRange::new(node.start_byte(), node.end_byte());
        self.push(range, message, Origin::Specific);
    }

    /// A `def`'s parameters as CPython 3.11 checks them: a parameter without a default after
    /// one with a default (before `*`), the same name twice, a bare `*` with nothing after it.
    fn parameters(&mut self, function: Node<'_>) {
        let Some(parameters) = function.field(Field::Parameters) else {
            return;
        };
        let mut names: Vec<&[u8]> = Vec::new();
        let mut seen_default = false;
        let mut after_star = false;
        // A bare `*` not yet followed by a keyword-only parameter.
        let mut bare_star: Option<Node<'_>> = None;
        let mut cursor = parameters.walk();
        for parameter in parameters.named_children(&mut cursor) {
            let (role, name) = parameter_role(parameter);
            match role {
                ParameterRole::Plain if seen_default && !after_star => {
                    let range = TextRange::new(parameter.start_byte(), parameter.end_byte());
                    let message = "non-default argument follows default argument";
                    self.push(range, message, Origin::Specific);
                }
                ParameterRole::Default => seen_default = true,
                ParameterRole::Star => after_star = true,
                ParameterRole::BareStar => {
                    after_star = true;
                    bare_star = Some(parameter);
                }
                _ => {}
            }
            if matches!(role, ParameterRole::Plain | ParameterRole::Default) {
                bare_star = None;
            }
            let Some(name) = name else {
                continue;
            };
            let text = &self.bytes[name.start_byte()..name.end_byte()];
            if names.contains(&text) {
                let range = TextRange::new(name.start_byte(), name.end_byte());
                let name = String::from_utf8_lossy(text);
                let message = format!("duplicate argument '{name}' in function definition");
                self.push(range, message, Origin::Specific);
            } else {
                names.push(text);
            }
        }
        if let Some(star) = bare_star {
            let range = TextRange::new(star.start_byte(), star.end_byte());
            self.push(
                range,
                "named arguments must follow bare *",
                Origin::Specific,
            );
        }
    }

    /// `x := 1` and `x = y := 1`: tree-sitter accepts a named expression as a statement and
    /// as an assignment's value, CPython only inside brackets (and a few other places).
    fn unparenthesized_walrus(&mut self, named: Node<'_>) {
        if let Some(walrus) = child_of_kind(named, ":=") {
            let range = TextRange::new(walrus.start_byte(), walrus.end_byte());
            self.push(range, "invalid syntax", Origin::Specific);
        }
    }

    /// `print x`: CPython names the missing parentheses (not for `print >>f, x`, which is an
    /// expression for CPython too).
    fn python2_statement(&mut self, statement: Node<'_>) {
        let Some(keyword) = statement.child(0) else {
            return;
        };
        let name = keyword.kind();
        if !matches!(name, "print" | "exec")
            || statement.child(1).is_some_and(|c| c.kind() == "chevron")
        {
            return;
        }
        let start = statement.start_byte();
        let line_end = self.bytes[start..statement.end_byte()]
            .iter()
            .position(|&c| c == b'\n' || c == b'\r')
            .map_or(statement.end_byte(), |i| start + i);
        self.push(
            TextRange::new(start, line_end),
            format!("Missing parentheses in call to '{name}'. Did you mean {name}(...)?"),
            Origin::Specific,
        );
    }

    /// tree-sitter-python accepts a `try` block with neither `except` nor `finally`; CPython
    /// reports it at the token after the block (at the block's end, at the end of the file).
    fn try_without_handler(&mut self, statement: Node<'_>) {
        let mut cursor = statement.walk();
        let handled = statement.children(&mut cursor).any(|c| {
            matches!(
                c.kind(),
                "except_clause" | "except_group_clause" | "finally_clause"
            )
        });
        let Some(body) = statement.field(Field::Body) else {
            return;
        };
        if handled {
            return;
        }
        let next = first_error::next_token(self.bytes, body.end_byte());
        let range = if next < self.bytes.len() {
            let word = self.bytes[next..]
                .iter()
                .position(|&c| !(c == b'_' || c.is_ascii_alphanumeric()))
                .unwrap_or(self.bytes.len() - next);
            TextRange::new(next, next + word.max(1))
        } else {
            TextRange::empty(body.end_byte())
        };
        self.push(
            range,
            "expected 'except' or 'finally' block",
            Origin::Specific,
        );
        // The range depends on the text after the statement, which the memo of top-level
        // statements does not key on: like a message naming a line, it is not reused.
        self.mentioned_line = true;
    }

    fn touch_error(&mut self, pos: usize) {
        self.last_error_touch = Some(self.last_error_touch.map_or(pos, |p| p.max(pos)));
    }

    fn close_bracket(&mut self, node: Node<'_>) {
        let start = node.start_byte();
        let kind = node.kind();
        let Some(open) = is_closer(kind) else { return };
        let range = TextRange::new(start, start + 1);
        match self.brackets.last().copied() {
            None => self.push(range, format!("unmatched '{kind}'"), Origin::Specific),
            Some(top) if top.ch == open => {
                self.brackets.pop();
            }
            Some(top) => {
                let mut message = format!(
                    "closing parenthesis '{kind}' does not match opening parenthesis '{}'",
                    top.ch as char
                );
                let row = node.start_position().row;
                if top.row != row {
                    message.push_str(&format!(" on line {}", top.row + 1));
                    self.mentioned_line = true;
                }
                self.push(range, message, Origin::Specific);
                // Recover: close up to a matching opener if there is one, else the top one.
                match self.brackets.iter().rposition(|o| o.ch == open) {
                    Some(i) => self.brackets.truncate(i),
                    None => {
                        self.brackets.pop();
                    }
                }
            }
        }
    }

    fn on_missing(&mut self, node: Node<'_>, near: Near<'_>) {
        let kind = node.kind();
        let pos = self.back_over_space(node.start_byte());
        if let Some(open) = is_closer(kind) {
            // tree-sitter closed the bracket for us; CPython would say it was never closed.
            let opener = match self.brackets.last() {
                Some(top) if top.ch == open => self.brackets.pop().map(|o| o.pos),
                _ => {
                    // The opener is an earlier sibling (`parameters` → `(` ... MISSING `)`).
                    let mut found = None;
                    if let Some(parent) = near.parent {
                        let mut cursor = parent.walk();
                        for s in parent.children(&mut cursor) {
                            if s.start_byte() >= node.start_byte() {
                                break;
                            }
                            if s.kind().as_bytes() == [open] {
                                found = Some(s.start_byte());
                            }
                        }
                    }
                    if let Some(p) = found {
                        if let Some(i) = self.brackets.iter().rposition(|o| o.pos == p) {
                            self.brackets.truncate(i);
                        }
                    }
                    found
                }
            };
            match opener {
                Some(p) => self.push(
                    TextRange::new(p, p + 1),
                    format!("'{}' was never closed", open as char),
                    Origin::Specific,
                ),
                None => self.push(
                    TextRange::empty(pos),
                    format!("expected '{kind}'"),
                    Origin::Specific,
                ),
            }
            return;
        }
        if kind == "string_end" {
            // Handled by `check_string` on the parent string node.
            return;
        }
        let message = if node.is_named() || kind.starts_with('_') || kind.is_empty() {
            "invalid syntax".to_string()
        } else {
            format!("expected '{kind}'")
        };
        self.push(TextRange::empty(pos), message, Origin::Specific);
    }

    /// Moves an insertion point back over whitespace, to just after the previous token.
    fn back_over_space(&self, mut pos: usize) -> usize {
        pos = pos.min(self.bytes.len());
        while pos > 0 && matches!(self.bytes[pos - 1], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') {
            pos -= 1;
        }
        pos
    }

    fn on_error(&mut self, node: Node<'_>, near: Near<'_>) {
        let start = node.start_byte();
        let end = node.end_byte();
        self.error_until = end;
        let mut info = ErrorInfo {
            start,
            end,
            consumed: false,
            in_brackets: !self.brackets.is_empty(),
            leaves: Vec::new(),
        };
        if let (Some(parent), Some(prev)) = (near.parent, near.prev) {
            let parent_kind = parent.kind();
            let compound = header_description(parent_kind).is_some();
            if compound
                && next_sibling_kind(parent, node) == Some(":")
                && node.start_position().row > prev.end_position().row
            {
                // `class A(Task)\n    x: int` — the header lost its colon to the next line.
                let at = prev.end_byte();
                self.push(TextRange::empty(at), "expected ':'", Origin::Specific);
                info.consumed = true;
            } else if matches!(
                parent_kind,
                "if_statement" | "elif_clause" | "while_statement"
            ) && node.child(0).map(|c| c.kind()) == Some("=")
            {
                self.push(
                    TextRange::new(prev.start_byte(), end),
                    "invalid syntax. Maybe you meant '==' or ':=' instead of '='?",
                    Origin::Error,
                );
                info.consumed = true;
            } else if matches!(
                parent_kind,
                "argument_list" | "list" | "tuple" | "set" | "parenthesized_expression"
            ) && prev.is_named()
                && prev.kind() != "comment"
                && node.child(0).is_some_and(|c| c.is_named())
                && prev.end_position().row == node.start_position().row
            {
                self.push(
                    TextRange::new(prev.start_byte(), end),
                    "invalid syntax. Perhaps you forgot a comma?",
                    Origin::Error,
                );
                info.consumed = true;
            }
        }
        self.errors.push(info);
    }

    /// A `string` node: reports it if tree-sitter could not find its closing delimiter.
    fn check_string(&mut self, node: Node<'_>) {
        let count = node.child_count();
        let terminated = count > 0
            && node
                .child((count - 1) as u32)
                .is_some_and(|c| c.kind() == "string_end" && !c.is_missing());
        if !terminated {
            if let Some(first) = node.child(0) {
                if first.kind() == "string_start" {
                    self.loose_string_start(first);
                }
            }
        }
    }

    /// Checks the string starting at `node` (a `string_start` token) textually, the way
    /// CPython's tokenizer would, and reports it if it is unterminated.
    fn loose_string_start(&mut self, node: Node<'_>) {
        let start = node.start_byte();
        let delim = &self.bytes[start..node.end_byte().min(self.bytes.len())];
        let Some(&quote) = delim.last() else { return };
        if quote != b'"' && quote != b'\'' {
            return;
        }
        let triple = delim.len() >= 3 && delim[delim.len() - 3..].iter().all(|&b| b == quote);
        let mut i = node.end_byte();
        let mut row = node.start_position().row;
        let b = self.bytes;
        loop {
            if i >= b.len() {
                break;
            }
            match b[i] {
                b'\\' => {
                    // An escaped line break counts only when a line follows it: CPython's
                    // line number moves when the next line is read.
                    if i + 2 < b.len() && b[i + 1] == b'\n' {
                        row += 1;
                    }
                    if i + 2 < b.len() && b[i + 1] == b'\r' && b[i + 2] == b'\n' {
                        row += usize::from(i + 3 < b.len());
                        i += 1;
                    }
                    i += 2;
                }
                c if c == quote => {
                    if !triple || (i + 2 < b.len() && b[i + 1] == quote && b[i + 2] == quote) {
                        return; // terminated after all
                    }
                    i += 1;
                }
                b'\n' | b'\r' if !triple => break,
                b'\n' => {
                    row += 1;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        let i = i.min(b.len());
        let (range, region_end, message) = if triple {
            let lines = self.total_lines();
            (
                TextRange::new(start, node.end_byte()),
                b.len(),
                format!("unterminated triple-quoted string literal (detected at line {lines})"),
            )
        } else {
            (
                TextRange::new(start, i),
                i,
                format!("unterminated string literal (detected at line {})", row + 1),
            )
        };
        self.push(range, message, Origin::Specific);
        self.mentioned_line = true;
        self.string_regions.push((start, region_end));
        self.skip_until = self.skip_until.max(region_end);
    }

    fn total_lines(&mut self) -> usize {
        if let Some(n) = self.total_lines {
            return n;
        }
        let b = self.bytes;
        let newlines = b.iter().filter(|&&c| c == b'\n').count();
        let n = if b.last().is_some_and(|&c| c != b'\n') {
            newlines + 1
        } else {
            newlines
        };
        let n = n.max(1);
        self.total_lines = Some(n);
        n
    }

    /// A `:` token: if it ends a compound statement header (nothing but a comment after it on
    /// its line) the next logical line must be indented.
    fn colon(&mut self, node: Node<'_>, near: Near<'_>, in_error: bool) {
        if !self.brackets.is_empty() || !self.rest_of_line_is_blank(node.end_byte()) {
            return;
        }
        let parent = near.parent;
        let what = parent.and_then(|p| header_description(p.kind()));
        self.pending = match (what, parent) {
            (Some(what), Some(p)) if !in_error => Some(Pending::Block {
                what,
                line: p.start_position().row + 1,
                colon: TextRange::new(node.start_byte(), node.end_byte()),
            }),
            _ => Some(Pending::Lenient),
        };
    }

    /// A compound statement's body: if it does not share the header's line, the next logical
    /// line (its first statement) must be indented. An empty body means tree-sitter found no
    /// indented block at all.
    fn block(&mut self, node: Node<'_>, near: Near<'_>, in_error: bool) {
        if self.pending.is_some() || !self.brackets.is_empty() {
            return;
        }
        let Some(parent) = near.parent else { return };
        let start = node.start_byte();
        if node.end_byte() > start && !self.first_on_line(start) {
            return; // `if x: pass`
        }
        let what = header_description(parent.kind());
        self.pending = match what {
            Some(what) if !in_error => {
                let colon = if start > 0 && self.bytes.get(start - 1) == Some(&b':') {
                    TextRange::new(start - 1, start)
                } else {
                    TextRange::empty(start)
                };
                Some(Pending::Block {
                    what,
                    line: parent.start_position().row + 1,
                    colon,
                })
            }
            _ => Some(Pending::Lenient),
        };
    }

    /// Whether only whitespace precedes `start` on its physical line and that line is not a
    /// backslash continuation of the previous one.
    fn first_on_line(&self, start: usize) -> bool {
        self.line_begin(start).is_some()
    }

    /// The start of `start`'s physical line if `start` begins a logical line there.
    fn line_begin(&self, start: usize) -> Option<usize> {
        let b = self.bytes;
        let mut ls = start.min(b.len());
        while ls > 0 {
            match b[ls - 1] {
                b' ' | b'\t' | b'\x0c' => ls -= 1,
                b'\n' | b'\r' => break,
                _ => {
                    if ls == 3 && b.starts_with(b"\xEF\xBB\xBF") {
                        ls = 0;
                        break;
                    }
                    return None;
                }
            }
        }
        (!self.continues_previous_line(ls)).then_some(ls)
    }

    /// Whether the physical line starting at `line_start` continues the previous one (which
    /// ends with a backslash outside a comment).
    fn continues_previous_line(&self, line_start: usize) -> bool {
        let b = self.bytes;
        if line_start == 0 {
            return false;
        }
        let mut j = line_start - 1; // the line break
        if b[j] == b'\n' && j > 0 && b[j - 1] == b'\r' {
            j -= 1;
        }
        j > 0 && b[j - 1] == b'\\' && !ends_in_comment(b, j - 1)
    }

    fn rest_of_line_is_blank(&self, mut i: usize) -> bool {
        let b = self.bytes;
        while i < b.len() {
            match b[i] {
                b' ' | b'\t' | b'\x0c' => i += 1,
                b'#' | b'\n' | b'\r' => return true,
                _ => return false,
            }
        }
        true
    }

    /// If `node` is the first token of a logical line, runs the indentation checks for it.
    fn line_start(&mut self, node: Node<'_>, in_error: bool) {
        let start = node.start_byte();
        if !self.brackets.is_empty() || self.last_line_start == Some(start) {
            return;
        }
        let Some(ls) = self.line_begin(start) else {
            return;
        };
        let b = self.bytes;
        let mut indent = Indent::ZERO;
        for &c in &b[ls..start] {
            indent.advance(c);
        }
        let previous = self.last_line_start.replace(start);
        let lenient = in_error
            || match (previous, self.last_error_touch) {
                (Some(p), Some(t)) => t >= p,
                (None, Some(_)) => true,
                _ => false,
            };
        self.indentation(node, indent, lenient);
    }

    fn indentation(&mut self, node: Node<'_>, indent: Indent, lenient: bool) {
        let top = *self.indents.last().unwrap_or(&Indent::ZERO);
        let pending = self.pending.take();
        if indent.col > top.col {
            match pending {
                Some(_) => {}
                None if lenient => {}
                None => self.push(self.first_token(node), "unexpected indent", Origin::Indent),
            }
            if indent.alt <= top.alt {
                self.tab_error(node);
            }
            if self.indents.len() == MAX_INDENT {
                self.push(
                    self.first_token(node),
                    "too many levels of indentation",
                    Origin::Indent,
                );
            }
            self.indents.push(indent);
            return;
        }
        if let Some(Pending::Block { what, line, .. }) = pending {
            if !lenient {
                self.push(
                    self.first_token(node),
                    format!("expected an indented block after {what} on line {line}"),
                    Origin::Indent,
                );
                self.mentioned_line = true;
            }
        }
        if indent.col == top.col {
            if indent.alt != top.alt {
                self.tab_error(node);
            }
            return;
        }
        while self.indents.len() > 1 && self.indents.last().is_some_and(|t| indent.col < t.col) {
            self.indents.pop();
        }
        let top = *self.indents.last().unwrap_or(&Indent::ZERO);
        if indent.col != top.col {
            self.push(
                self.first_token(node),
                "unindent does not match any outer indentation level",
                Origin::Indent,
            );
            self.indents.push(indent);
        } else if indent.alt != top.alt {
            self.tab_error(node);
        }
    }

    fn tab_error(&mut self, node: Node<'_>) {
        self.push(
            self.first_token(node),
            "inconsistent use of tabs and spaces in indentation",
            Origin::Indent,
        );
    }

    /// The range of the first token of `node`, limited to its line.
    fn first_token(&self, node: Node<'_>) -> TextRange {
        let mut n = node;
        while let Some(c) = n.child(0) {
            if c.start_byte() != node.start_byte() || c.end_byte() == c.start_byte() {
                break;
            }
            n = c;
        }
        let start = n.start_byte();
        let mut end = n.end_byte().max(start);
        if let Some(nl) = self.bytes[start..end.min(self.bytes.len())]
            .iter()
            .position(|&c| c == b'\n' || c == b'\r')
        {
            end = start + nl;
        }
        TextRange::new(start, end)
    }

    fn finish_walk(&mut self) {
        if let Some(Pending::Block { what, line, colon }) = self.pending.take() {
            let lenient = match (self.last_line_start, self.last_error_touch) {
                (Some(p), Some(t)) => t >= p,
                _ => false,
            };
            if !lenient {
                // CPython reports it at the end of the file's last line.
                let end = first_error::end_of_last_line(self.bytes).max(colon.end());
                self.push(
                    TextRange::empty(end),
                    format!("expected an indented block after {what} on line {line}"),
                    Origin::Indent,
                );
            }
        }
        self.continuation_at_end();
        // CPython names one bracket left open at the end: the innermost.
        let open = std::mem::take(&mut self.brackets);
        if let Some(o) = open.last() {
            self.push(
                TextRange::new(o.pos, o.pos + 1),
                format!("'{}' was never closed", o.ch as char),
                Origin::Specific,
            );
        }
    }

    /// A file that ends right after a line continuation (a `\` and at most one line break):
    /// CPython's tokenizer fails there, tree-sitter accepts it.
    fn continuation_at_end(&mut self) {
        let b = self.bytes;
        let end = b.len()
            - if b.ends_with(b"\r\n") {
                2
            } else {
                usize::from(b.ends_with(b"\n") || b.ends_with(b"\r"))
            };
        if end == 0 || b[end - 1] != b'\\' || ends_in_comment(b, end - 1) {
            return;
        }
        // Inside a string left open, the string is the error.
        if self
            .string_regions
            .iter()
            .any(|&(_, region_end)| region_end >= end)
        {
            return;
        }
        self.push(
            TextRange::empty(end),
            "unexpected EOF while parsing",
            Origin::Specific,
        );
    }

    /// Turns the ERROR nodes nothing else explained into diagnostics.
    fn classify_errors(&mut self) {
        let errors = std::mem::take(&mut self.errors);
        let mut explained: Vec<usize> = self
            .found
            .iter()
            .filter(|f| f.origin != Origin::Error)
            .map(|f| f.range.start())
            .collect();
        explained.sort_unstable();
        for info in errors {
            if info.consumed {
                continue;
            }
            let lo = explained.partition_point(|&p| p < info.start);
            if explained.get(lo).is_some_and(|&p| p <= info.end) {
                continue;
            }
            if let Some((range, message)) = self.classify(&info) {
                self.push(range, message, Origin::Error);
            }
        }
    }

    fn classify(&self, info: &ErrorInfo) -> Option<(TextRange, String)> {
        let leaves = &info.leaves;
        let first = *leaves.first()?;
        let range_of = |l: &Leaf| TextRange::new(l.start, l.end);
        // A compound statement header without its colon.
        let kw_index = if first.kind == "async" { 1 } else { 0 };
        if let Some(kw) = leaves.get(kw_index) {
            if COMPOUND_KEYWORDS.contains(&kw.kind) {
                let header = self.header_leaves(&leaves[kw_index..]);
                let has_colon = header.iter().any(|l| l.kind == ":");
                let last = header.last().copied().unwrap_or(*kw);
                let second = header.get(1);
                let plausible = match kw.kind {
                    "else" | "try" | "finally" => header.len() == 1,
                    "def" | "class" => second.is_some_and(|s| s.kind == "identifier"),
                    _ => second.is_some_and(|s| {
                        !matches!(s.kind, "=" | "." | ")" | "]" | "}" | "," | ":")
                            && !s.kind.ends_with('=')
                    }),
                };
                if !has_colon && plausible {
                    return Some((TextRange::empty(last.end), "expected ':'".to_string()));
                }
            }
        }
        // `[1 2]`, `{"a": 1 "b": 2}`: two operands in a row inside brackets.
        if info.in_brackets {
            let atom = |l: &Leaf| {
                l.named
                    && !matches!(
                        l.kind,
                        "comment" | "keyword_argument" | "pair" | "expression_statement"
                    )
            };
            if let Some(pair) = leaves
                .windows(2)
                .find(|w| atom(&w[0]) && atom(&w[1]) && w[0].end_row == w[1].row)
            {
                return Some((
                    TextRange::new(pair[0].start, pair[1].end),
                    "invalid syntax. Perhaps you forgot a comma?".to_string(),
                ));
            }
        }
        // `True = 1`
        if matches!(first.kind, "true" | "false" | "none") {
            if let Some(next) = leaves.get(1) {
                if next.kind == "=" {
                    let name = &self.text[first.start..first.end];
                    return Some((range_of(&first), format!("cannot assign to {name}")));
                }
            }
        }
        // A dangling operator at the end of a line: `x = 1 +`.
        let last = *leaves.last()?;
        if leaves.len() > 1 && !last.named && self.rest_of_line_is_blank(last.end) {
            let dangling = matches!(
                last.kind,
                "+" | "-"
                    | "*"
                    | "/"
                    | "//"
                    | "%"
                    | "**"
                    | "@"
                    | "|"
                    | "&"
                    | "^"
                    | "<<"
                    | ">>"
                    | "="
                    | "."
                    | "<"
                    | ">"
                    | "<="
                    | ">="
                    | "=="
                    | "!="
                    | "and"
                    | "or"
                    | "not"
                    | "in"
                    | "is"
                    | "lambda"
                    | ":"
                    | "->"
            ) || (last.kind.ends_with('=') && last.kind.len() <= 3);
            if dangling {
                return Some((range_of(&last), "invalid syntax".to_string()));
            }
        }
        Some((range_of(&first), "invalid syntax".to_string()))
    }

    /// The leaves of the logical line that starts with `leaves[0]`.
    fn header_leaves<'l>(&self, leaves: &'l [Leaf]) -> &'l [Leaf] {
        let mut depth = 0i32;
        for (i, pair) in leaves.windows(2).enumerate() {
            let (prev, cur) = (pair[0], pair[1]);
            match prev.kind {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth -= 1,
                _ => {}
            }
            if depth <= 0 && cur.row > prev.end_row && !self.continued(prev.end, cur.start) {
                return &leaves[..=i];
            }
        }
        leaves
    }

    /// Whether the gap between two tokens is joined by a backslash continuation.
    fn continued(&self, from: usize, to: usize) -> bool {
        let gap = &self.bytes[from.min(to)..to];
        gap.windows(2).any(|w| w == b"\\\n" || w == b"\\\r")
    }

    fn into_diagnostics(self) -> Vec<Diagnostic> {
        let Walker {
            text,
            bytes,
            mut found,
            string_regions,
            tree_has_error,
            clean_until,
            ..
        } = self;
        // Inside an unterminated string CPython sees nothing else.
        found.retain(|f| {
            !string_regions
                .iter()
                .any(|&(s, e)| f.range.start() > s && f.range.start() < e)
        });
        found.sort_by(|a, b| {
            (a.range.start(), a.range.end(), &a.message).cmp(&(
                b.range.start(),
                b.range.end(),
                &b.message,
            ))
        });
        found.dedup_by(|b, a| a.range.start() == b.range.start() && a.message == b.message);
        keep_innermost_unclosed(&mut found, bytes);
        // On the error path: CPython's first error replaces the guesses before it.
        if (tree_has_error || !found.is_empty()) && !contains_nul(bytes) {
            let walked: Vec<(TextRange, &str)> = found
                .iter()
                .map(|f| (f.range, f.message.as_str()))
                .collect();
            match first_error::cpython_first(text, &walked, clean_until) {
                Some((range, message)) => {
                    // A colon expected later on the same line is this error seen through
                    // tree-sitter's recovery (`def f() x ...`, `if x pass`: it inserts the
                    // colon at the line's end), not another one.
                    let same_line = |at: usize| !bytes[range.start()..at].contains(&b'\n');
                    found.retain(|f| {
                        let echo = f.message == message || f.message == "expected ':'";
                        f.range.start() > range.start() && !(echo && same_line(f.range.start()))
                    });
                    found.insert(
                        0,
                        Found {
                            range,
                            message,
                            origin: Origin::Specific,
                        },
                    );
                }
                // Nothing for CPython to report: the guesses made at tree-sitter's errors go
                // when CPython's grammar accepts the whole text (never an error on valid code).
                None if found.iter().any(|f| !matches!(f.origin, Origin::Specific))
                    && first_error::grammar_accepts(text) =>
                {
                    found.retain(|f| matches!(f.origin, Origin::Specific));
                }
                None => {}
            }
        }
        found.truncate(MAX_SYNTAX_DIAGNOSTICS);
        found
            .into_iter()
            .map(|f| {
                let start = floor_boundary(text, f.range.start());
                let end = ceil_boundary(text, f.range.end().max(start));
                Diagnostic::new(
                    DiagnosticSource::Syntax,
                    Severity::Error,
                    Code::Syntax,
                    TextRange::new(start, end),
                    f.message,
                )
            })
            .collect()
    }
}

/// CPython reports one bracket left open, the innermost. tree-sitter closes each bracket of
/// `x = (((1` with a MISSING token of its own; of the unclosed brackets the walk found on one
/// line, only the last (innermost) is kept. `found` is in position order.
fn keep_innermost_unclosed(found: &mut Vec<Found>, bytes: &[u8]) {
    let unclosed = |f: &Found| f.message.ends_with("' was never closed");
    let mut keep = vec![true; found.len()];
    // The start of the next unclosed bracket reported after the one at hand.
    let mut next: Option<usize> = None;
    for (i, f) in found.iter().enumerate().rev() {
        if !unclosed(f) {
            continue;
        }
        let start = f.range.start();
        if let Some(next) = next {
            let between = bytes.get(start..next).unwrap_or_default();
            keep[i] = between.iter().any(|&c| c == b'\n' || c == b'\r');
        }
        next = Some(start);
    }
    let mut keep = keep.into_iter();
    found.retain(|_| keep.next().unwrap_or(true));
}

/// The kind of the sibling after `node`, looked up through `parent` (a compound statement with
/// a handful of children).
fn next_sibling_kind(parent: Node<'_>, node: Node<'_>) -> Option<&'static str> {
    let mut cursor = parent.walk();
    let mut children = parent.children(&mut cursor);
    children.find(|c| c.id() == node.id())?;
    children.next().map(|c| c.kind())
}

/// `bytes.contains(&0)`, several times faster: branch-free blocks the compiler vectorizes.
/// It runs over the whole text on every pass, also when everything else is reused.
fn contains_nul(bytes: &[u8]) -> bool {
    bytes
        .chunks(256)
        .any(|block| block.iter().fold(false, |nul, &b| nul | (b == 0)))
}

/// Whether the byte at `at` (a backslash ending a physical line) is inside a `#` comment,
/// judged from its line alone: a `#` outside single-line string quotes starts a comment.
fn ends_in_comment(b: &[u8], at: usize) -> bool {
    let line_start = b[..at]
        .iter()
        .rposition(|&c| c == b'\n' || c == b'\r')
        .map_or(0, |i| i + 1);
    let mut quote = None;
    let mut i = line_start;
    while i < at {
        match (b[i], quote) {
            (b'\\', Some(_)) => i += 1,
            (c @ (b'"' | b'\''), None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            (b'#', None) => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The first child of `node` (named or not) of kind `kind`.
fn child_of_kind<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    let mut cursor = node.walk();
    let found = node.children(&mut cursor).find(|c| c.kind() == kind);
    found
}

/// Errors of CPython 3.11's tokenizer that Python 3.12 no longer raises (PEP 701 f-strings:
/// quotes reused inside replacement fields, backslashes, line breaks, deeper nesting).
fn relaxed_after_3_11(message: &str) -> bool {
    (message.starts_with("f-string") && !message.starts_with("f-string: invalid conversion"))
        || message.starts_with("unterminated string literal")
}

/// What a child of a `def`'s `parameters` is, for CPython's checks of their order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ParameterRole {
    /// `a`, `a: int`.
    Plain,
    /// `a=1`, `a: int = 1`.
    Default,
    /// `*args`, `*args: int`.
    Star,
    /// A bare `*`.
    BareStar,
    /// `**kwargs`, `/`, a comment.
    Other,
}

/// The role of a parameter node and its name.
fn parameter_role(parameter: Node<'_>) -> (ParameterRole, Option<Node<'_>>) {
    let splat_name = |splat| child_of_kind(splat, "identifier");
    match parameter.kind() {
        "identifier" => (ParameterRole::Plain, Some(parameter)),
        "default_parameter" | "typed_default_parameter" => {
            (ParameterRole::Default, parameter.field(Field::Name))
        }
        "list_splat_pattern" => (ParameterRole::Star, splat_name(parameter)),
        "dictionary_splat_pattern" => (ParameterRole::Other, splat_name(parameter)),
        "keyword_separator" => (ParameterRole::BareStar, None),
        // `a: int`, or `*args: int` / `**kw: str` (the splat is its first child).
        "typed_parameter" => match parameter.named_child(0) {
            Some(first) if first.kind() == "identifier" => (ParameterRole::Plain, Some(first)),
            Some(first) if first.kind() == "list_splat_pattern" => {
                (ParameterRole::Star, splat_name(first))
            }
            Some(first) if first.kind() == "dictionary_splat_pattern" => {
                (ParameterRole::Other, splat_name(first))
            }
            _ => (ParameterRole::Other, None),
        },
        _ => (ParameterRole::Other, None),
    }
}
