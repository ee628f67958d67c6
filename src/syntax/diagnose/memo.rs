//! Reuse of the walk's results for top-level statements that did not change.
//!
//! The walk is a state machine over the children of the `module` node. For a statement `S`
//! (start `s`, end `e`, starting with a token) it reads
//!
//! - `S`'s subtree, identified by its kind, its number of descendants and its bytes (hashed);
//! - the bytes `line_begin` looks at before `s`: the blanks before `S` on its line, then
//!   whether a line break (and a backslash continuation of the line before), the file's start,
//!   a BOM or some other token precedes them. Line starts inside `S` never look further back
//!   than `S`'s first line, since `S` starts with a token;
//! - after `e`, only through `rest_of_line_is_blank` (a `:` ending `S`): whether the rest of
//!   `e`'s line is blank;
//! - the walker's state on entry. A statement is only reused or remembered when that state is
//!   neutral: nothing pending from a `:`, no unterminated string or ERROR node reaching `s`,
//!   the last logical line start and error position before `s`. What is left that can change
//!   the outcome is the indentation stack (hashed into the key), how many brackets earlier
//!   statements left open (in the key: inside brackets nothing starts a logical line) and
//!   whether `S`'s first logical line is lenient (an error was touched since the previous line
//!   start). A bracket left open thus no longer makes every statement after it walked again on
//!   every keystroke; ruff's per-statement parse runs only outside brackets.
//!
//! Only statements without ERROR or MISSING nodes are remembered, and only when walking them
//! left the state neutral again (the same brackets open), pushed no message naming a line number (it would be wrong once
//! the statement moves to another line) and added no error, string region or skip. Their
//! outcome is the pushed diagnostics with ranges relative to `s`, the indentation stack after
//! them and the last logical line start relative to `s`: replaying it leaves the walker exactly
//! as walking `S` again would, so everything after the walk (classifying ERROR nodes, dropping
//! diagnostics inside unterminated strings, sorting, capping) sees the same input either way.
//! Statements with errors, and statements after an unclosed bracket or string, are walked.
//!
//! The one assumption: a statement without errors whose bytes, kind and size are unchanged has
//! the same subtree, whether the tree comes from an incremental or a fresh parse.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use tree_sitter::{Node, TreeCursor};

use super::{Indent, Near, Origin, Walker, INTERNAL_CAP};
use crate::diagnostics::TextRange;

/// How far ahead of the expected statement a pass looks for a match before falling back to an
/// index: statements are met in the same order as last time, except around an edit.
const WINDOW: usize = 16;
/// Consecutive misses after which a pass indexes the previous pass's statements (a long stretch
/// was deleted or moved); a single edited statement is just one miss.
const MISSES_BEFORE_INDEX: usize = 4;

/// What the walk of earlier versions learnt about their top-level statements.
#[derive(Default)]
pub(in crate::syntax) struct StatementMemo {
    /// The previous pass's statements in document order; `None` once reused by this pass.
    previous: Vec<(StatementKey, Option<Outcome>)>,
    /// This pass's statements so far (the next pass's `previous`).
    current: Vec<(StatementKey, Option<Outcome>)>,
    /// The `previous` entry expected to match the next statement.
    expected: usize,
    consecutive_misses: usize,
    /// `previous` by key, built on demand.
    index: Option<StatementIndexMap>,
    /// Statements of earlier passes that the passes since did not reuse, newest first, at
    /// most as many as the document has. A bracket typed into a statement gives the
    /// statements after it other keys (walked inside the bracket), and closing it, after any
    /// number of keystrokes in between, brings back their keys from before it, which would
    /// otherwise all be walked again (~400 top-level statements after a body edit in the
    /// middle of the 6,636-line wired module).
    older: Vec<(StatementKey, Option<Outcome>)>,
    /// `older` by key, built on demand.
    older_index: Option<StatementIndexMap>,
    recomputed: usize,
    reused: usize,
    /// ruff's verdict on statements tree-sitter found valid (see
    /// `Walker::parser_errors_in_valid_statement`), by statement text, kept across passes: a
    /// statement whose key changed but not its text (its indentation context, the line before
    /// it) is walked again but not parsed again.
    pub(super) parsed: ParsedStatements,
}

type StatementIndexMap = HashMap<StatementKey, usize, BuildHasherDefault<WordHasher>>;

/// Where each key first appears in `entries`.
fn index_of(entries: &[(StatementKey, Option<Outcome>)]) -> StatementIndexMap {
    let mut index = HashMap::default();
    for (i, (key, _)) in entries.iter().enumerate().rev() {
        index.insert(*key, i);
    }
    index
}

/// CPython's parser error in a statement, by [`StatementKey::text_key`]: (start, end relative
/// to the statement, message), `None` for a statement without one.
pub(super) type ParsedStatements =
    HashMap<u64, Option<(usize, usize, Box<str>)>, BuildHasherDefault<WordHasher>>;

impl std::fmt::Debug for StatementMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatementMemo")
            .field("statements", &self.previous.len())
            .field("recomputed", &self.recomputed)
            .field("reused", &self.reused)
            .finish()
    }
}

impl StatementMemo {
    /// Top-level statements walked (not replayed) by the latest pass.
    pub(in crate::syntax) fn recomputed(&self) -> usize {
        self.recomputed
    }

    /// Top-level statements replayed from earlier passes by the latest pass.
    pub(in crate::syntax) fn reused(&self) -> usize {
        self.reused
    }

    /// Counts a statement walked without consulting the memo.
    pub(super) fn count_walked(&mut self) {
        self.recomputed += 1;
    }

    pub(super) fn start_pass(&mut self) {
        self.current.clear();
        self.expected = 0;
        self.consecutive_misses = 0;
        self.index = None;
        self.recomputed = 0;
        self.reused = 0;
    }

    /// Keeps this pass's statements and, in `older`, what this pass did not reuse of earlier
    /// ones, so the memo stays at most about twice as large as the document whatever the
    /// history of edits.
    pub(super) fn end_pass(&mut self) {
        let mut unused = std::mem::take(&mut self.previous);
        unused.extend(std::mem::take(&mut self.older));
        unused.retain(|(_, outcome)| outcome.is_some());
        unused.truncate(self.current.len() + WINDOW);
        self.older = unused;
        self.older_index = None;
        std::mem::swap(&mut self.previous, &mut self.current);
        self.current.clear();
        self.index = None;
        // Bounded by the document's size, whatever the history of edits.
        if self.parsed.len() > 4 * (self.previous.len() + 64) {
            self.parsed.clear();
        }
    }

    /// Moves the previous pass's outcome for `key` to this pass, if there is one.
    fn reuse(&mut self, key: &StatementKey) -> Option<&Outcome> {
        let available =
            |entry: &(StatementKey, Option<Outcome>)| entry.0 == *key && entry.1.is_some();
        let end = self.previous.len().min(self.expected + WINDOW);
        let mut found = (self.expected..end).find(|&i| available(&self.previous[i]));
        if found.is_none() && self.consecutive_misses >= MISSES_BEFORE_INDEX {
            let previous = &self.previous;
            let index = self.index.get_or_insert_with(|| index_of(previous));
            found = index
                .get(key)
                .copied()
                .filter(|&i| available(&self.previous[i]));
        }
        let Some(i) = found else {
            self.consecutive_misses += 1;
            return self.reuse_older(key);
        };
        self.consecutive_misses = 0;
        self.expected = i + 1;
        let outcome = self.previous[i].1.take();
        self.current.push((*key, outcome));
        self.current
            .last()
            .and_then(|(_, outcome)| outcome.as_ref())
    }

    /// Moves the outcome for `key` from the pass before the previous one to this pass.
    fn reuse_older(&mut self, key: &StatementKey) -> Option<&Outcome> {
        if self.older.is_empty() {
            return None;
        }
        let older = &self.older;
        let index = self.older_index.get_or_insert_with(|| index_of(older));
        let i = *index.get(key)?;
        let outcome = self.older[i].1.take()?;
        self.current.push((*key, Some(outcome)));
        self.current
            .last()
            .and_then(|(_, outcome)| outcome.as_ref())
    }
}

/// Everything, besides the neutral entry state checked by [`Walker::statement_key`], that the
/// walk of one top-level statement depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct StatementKey {
    /// Hash of the statement's bytes, preceded by the blanks before it on its line.
    text_hash: u64,
    /// Length of those bytes.
    len: usize,
    /// How many of them are blanks (spaces, tabs, form feeds).
    blanks: usize,
    before: Before,
    kind_id: u16,
    descendants: usize,
    rest_of_last_line_blank: bool,
    lenient_first_line: bool,
    indents_hash: u64,
    /// How many brackets are open before the statement (left open by an earlier one): inside
    /// brackets no line is a logical line start, a `:` opens no block, and the nesting limit
    /// counts them. A statement without errors opens and closes its own brackets in pairs, so
    /// the count is all its walk reads of them (the outcome is kept only when the brackets
    /// after it are the ones before it).
    open_brackets: usize,
}

impl StatementKey {
    /// The statement's text (with the blanks before it), for [`ParsedStatements`].
    pub(super) fn text_key(&self) -> u64 {
        self.text_hash ^ (self.len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// What precedes the blanks before a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Before {
    FileStart,
    /// The UTF-8 byte order mark at the file's start.
    ByteOrderMark,
    /// A line break; `continued` if the line before ends with a backslash continuation.
    LineBreak {
        continued: bool,
    },
    /// Any other byte: the statement does not start a logical line.
    Byte(u8),
}

#[derive(Debug)]
struct Outcome {
    /// Diagnostics pushed by the statement, ranges relative to its start.
    found: Box<[(TextRange, Box<str>, Origin)]>,
    indents: Box<[Indent]>,
    /// The last logical line start in the statement, relative to its start.
    last_line_start: Option<usize>,
}

/// The parts of the walker's state a statement must leave untouched to be remembered.
struct Checkpoint {
    found: usize,
    /// The open brackets' count and the innermost one's position.
    brackets: (usize, Option<usize>),
    errors: usize,
    string_regions: usize,
    skip_until: usize,
    last_error_touch: Option<usize>,
    last_line_start: Option<usize>,
    total_lines_known: bool,
}

impl<'a> Walker<'a> {
    /// Walks the top-level statement `node`, or replays its remembered outcome.
    pub(super) fn memoized_statement<'t>(
        &mut self,
        node: Node<'t>,
        near: Near<'t>,
        memo: &mut StatementMemo,
        cursor: &mut TreeCursor<'t>,
        parents: &mut Vec<Node<'t>>,
    ) {
        let Some(key) = self.statement_key(node) else {
            memo.recomputed += 1;
            self.walk_subtree(node, near, cursor, parents);
            return;
        };
        let start = node.start_byte();
        if let Some(outcome) = memo.reuse(&key) {
            self.replay(start, outcome);
            memo.reused += 1;
            return;
        }
        let checkpoint = self.checkpoint();
        let checked_by_ruff = self.parsed_alone(node);
        self.walk_subtree(node, near, cursor, parents);
        if checked_by_ruff {
            self.parser_errors_in_valid_statement(
                node,
                checkpoint.found,
                Some((&mut memo.parsed, key.text_key())),
            );
        }
        memo.recomputed += 1;
        if let Some(outcome) = self.outcome_since(&checkpoint, start) {
            memo.current.push((key, Some(outcome)));
        }
    }

    /// Whether the walker's state on entry to the top-level statement `node` lets its outcome
    /// be reused or remembered (see the module documentation).
    pub(super) fn rememberable(&self, node: Node<'_>) -> bool {
        let (start, end) = (node.start_byte(), node.end_byte());
        let neutral = !node.has_error()
            && self.pending.is_none()
            && self.skip_until <= start
            && self.string_until <= start
            && self.error_until <= start
            && self.last_line_start.is_none_or(|p| p < start)
            && self.last_error_touch.is_none_or(|t| t < start);
        // A statement starting with whitespace (never seen) could make a line start inside it
        // look further back than its own first line.
        let starts_with_token = self
            .bytes
            .get(start)
            .is_some_and(|c| !matches!(c, b' ' | b'\t' | b'\x0c' | b'\n' | b'\r'));
        neutral && starts_with_token && end <= self.bytes.len()
    }

    /// Whether the top-level statement `node` is also parsed alone by ruff
    /// (`Walker::parser_errors_in_valid_statement`): when it could be remembered and no bracket
    /// is open before it (inside one it is not a statement of its own to CPython). The full walk
    /// and the memoised one ask the same question, so they agree.
    pub(super) fn parsed_alone(&self, node: Node<'_>) -> bool {
        self.brackets.is_empty() && self.rememberable(node)
    }

    /// The key of the top-level statement `node` if the walker's state on entry lets it be
    /// reused or remembered (see the module documentation).
    pub(super) fn statement_key(&self, node: Node<'_>) -> Option<StatementKey> {
        if !self.rememberable(node) {
            return None;
        }
        let (start, end) = (node.start_byte(), node.end_byte());
        // What `line_begin` sees before the statement: blanks, then a line break, the file's
        // start, a BOM or another token.
        let b = self.bytes;
        let blanks_start = start
            - b[..start]
                .iter()
                .rev()
                .take_while(|&&c| matches!(c, b' ' | b'\t' | b'\x0c'))
                .count();
        let before = match blanks_start.checked_sub(1).map(|i| b[i]) {
            None => Before::FileStart,
            Some(b'\n' | b'\r') => Before::LineBreak {
                continued: self.continues_previous_line(blanks_start),
            },
            Some(_) if blanks_start == 3 && b.starts_with(b"\xEF\xBB\xBF") => Before::ByteOrderMark,
            Some(c) => Before::Byte(c),
        };
        // As in `line_start`: with the previous line start at or after the last error, the
        // first logical line of this statement is lenient.
        let lenient_first_line = match (self.last_line_start, self.last_error_touch) {
            (Some(p), Some(t)) => t >= p,
            (None, Some(_)) => true,
            _ => false,
        };
        Some(StatementKey {
            text_hash: hash_bytes(&b[blanks_start..end]),
            len: end - blanks_start,
            blanks: start - blanks_start,
            before,
            kind_id: node.kind_id(),
            descendants: node.descendant_count(),
            rest_of_last_line_blank: self.rest_of_line_is_blank(end),
            lenient_first_line,
            indents_hash: hash_indents(&self.indents),
            open_brackets: self.brackets.len(),
        })
    }

    fn bracket_state(&self) -> (usize, Option<usize>) {
        (self.brackets.len(), self.brackets.last().map(|o| o.pos))
    }

    fn checkpoint(&mut self) -> Checkpoint {
        self.mentioned_line = false;
        Checkpoint {
            found: self.found.len(),
            brackets: self.bracket_state(),
            errors: self.errors.len(),
            string_regions: self.string_regions.len(),
            skip_until: self.skip_until,
            last_error_touch: self.last_error_touch,
            last_line_start: self.last_line_start,
            total_lines_known: self.total_lines.is_some(),
        }
    }

    /// What walking the statement starting at `start` did since `checkpoint`, if it can be
    /// replayed wherever the statement moves.
    fn outcome_since(&self, checkpoint: &Checkpoint, start: usize) -> Option<Outcome> {
        let replayable = !self.mentioned_line
            && self.found.len() < INTERNAL_CAP // nothing was dropped at the cap
            && self.bracket_state() == checkpoint.brackets
            && self.pending.is_none()
            && self.errors.len() == checkpoint.errors
            && self.string_regions.len() == checkpoint.string_regions
            && self.skip_until == checkpoint.skip_until
            && self.last_error_touch == checkpoint.last_error_touch
            && self.total_lines.is_some() == checkpoint.total_lines_known;
        if !replayable {
            return None;
        }
        let relative = |at: usize| at.checked_sub(start);
        let found = self.found[checkpoint.found..]
            .iter()
            .map(|f| {
                let range = TextRange::new(relative(f.range.start())?, relative(f.range.end())?);
                Some((range, f.message.as_str().into(), f.origin))
            })
            .collect::<Option<Box<[_]>>>()?;
        let last_line_start = match self.last_line_start {
            p if p == checkpoint.last_line_start => None,
            p => Some(relative(p?)?),
        };
        Some(Outcome {
            found,
            indents: self.indents.as_slice().into(),
            last_line_start,
        })
    }

    /// Applies a remembered outcome to the statement now starting at `start`.
    fn replay(&mut self, start: usize, outcome: &Outcome) {
        for (range, message, origin) in outcome.found.iter() {
            let range = TextRange::new(start + range.start(), start + range.end());
            self.push(range, &**message, *origin);
        }
        self.indents.clear();
        self.indents.extend_from_slice(&outcome.indents);
        if let Some(p) = outcome.last_line_start {
            self.last_line_start = Some(start + p);
        }
    }
}

fn hash_indents(indents: &[Indent]) -> u64 {
    let mut h = WordHasher::default();
    indents.hash(&mut h);
    h.finish()
}

const K0: u64 = 0xa076_1d64_78bd_642f;
const K1: u64 = 0xe703_7ed1_a0b4_28db;
const K2: u64 = 0x8ebc_6af0_9c88_c6e3;
const K3: u64 = 0x5899_65cc_7537_4cc3;

/// Multiplies as 128 bits and folds the halves: every input bit affects many output bits.
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Mixes 16 bytes into `acc`. The rotated accumulator is added back so that no input can
/// cancel what came before (a zero factor would otherwise wipe it).
fn absorb(acc: u64, a: u64, b: u64, k: u64) -> u64 {
    fold(a ^ k, b ^ K1 ^ acc).wrapping_add(acc.rotate_left(23))
}

fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

/// A fast 64-bit hash of `bytes`: statement texts, the whole document on every pass, are most
/// of a pass's cost, so four independent lanes absorb 64 bytes per round. Not for adversarial
/// input: a collision between two statement texts would reuse the wrong outcome, and with 64
/// bits that only happens by construction.
fn hash_bytes(bytes: &[u8]) -> u64 {
    let len = bytes.len() as u64;
    let mut lanes = [K0 ^ len, K1, K2, K3];
    let mut blocks = bytes.chunks_exact(64);
    for block in &mut blocks {
        for (lane, (half, k)) in lanes
            .iter_mut()
            .zip(block.chunks_exact(16).zip([K0, K2, K3, K0]))
        {
            *lane = absorb(*lane, word(&half[..8]), word(&half[8..]), k);
        }
    }
    let mut acc = lanes[0] ^ fold(lanes[1] ^ K2, lanes[2] ^ K3) ^ lanes[3].rotate_left(41);
    let mut chunks = blocks.remainder().chunks_exact(16);
    for chunk in &mut chunks {
        acc = absorb(acc, word(&chunk[..8]), word(&chunk[8..]), K0);
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 16];
    last[..rest.len()].copy_from_slice(rest);
    acc = absorb(acc, word(&last[..8]), word(&last[8..]), K0);
    fold(acc ^ K1, len ^ K0)
}

/// A hasher for small keys made of integers (the memo's keys already carry a hash).
#[derive(Default)]
pub(super) struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.write_u64(hash_bytes(bytes));
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = fold(self.0 ^ word ^ K0, K1);
    }

    fn write_u8(&mut self, word: u8) {
        self.write_u64(word.into());
    }

    fn write_u16(&mut self, word: u16) {
        self.write_u64(word.into());
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}
