//! One open document: its text, version and (incrementally maintained) syntax tree.

use std::sync::Arc;

use super::{offset_to_point, position_to_offset, Edit, LspPosition, PositionEncoding, SourceText};

/// One content change from `textDocument/didChange`: a range replacement, or the whole text
/// when `range` is `None` (full sync).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub range: Option<(LspPosition, LspPosition)>,
    pub text: String,
}

/// Documents above this size are kept and synced but only get syntax diagnostics; PlanAI
/// analysis is skipped with a log line (tree-sitter needs ~0.3 s for a 2 MB file).
pub const SEMANTIC_ANALYSIS_SIZE_LIMIT: usize = 2 * 1024 * 1024;

/// How many byte edits a document remembers (a check composes those made since the last one).
const EDIT_LOG_LEN: usize = 32;

/// A number never handed out before in this process: revisions of different documents (and
/// of a document opened again) never compare equal.
fn fresh_revision() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[derive(Clone)]
pub struct Document {
    /// Shared with the analysis (see [`Document::shared_analysis_text`]).
    text: SourceText,
    version: i32,
    /// Changes with every applied change, whatever version the client sends.
    revision: u64,
    /// (revision the edit was applied to, the byte edit), oldest first.
    edits: std::collections::VecDeque<(u64, Edit)>,
    language_id: String,
    /// The last parsed tree, with every later edit applied through `Tree::edit`, so it is
    /// always a valid `old_tree` for an incremental reparse of the current text.
    tree: Option<tree_sitter::Tree>,
    /// The version `tree` was parsed from (before the edits applied to it since).
    tree_version: Option<i32>,
}

impl Document {
    pub fn new(text: &str, version: i32, language_id: impl Into<String>) -> Self {
        Self {
            text: SourceText::new(text),
            version,
            revision: fresh_revision(),
            edits: Default::default(),
            language_id: language_id.into(),
            tree: None,
            tree_version: None,
        }
    }

    /// The text, with its line starts for position conversions.
    pub fn source(&self) -> &SourceText {
        &self.text
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    /// The revision of the text: it changes with every applied change.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The byte edit (all changes since, as one replacement) that turned the text of
    /// `revision` into this one; `None` when that revision is not remembered.
    pub fn edit_since(&self, revision: u64) -> Option<Edit> {
        let first = self.edits.iter().position(|(r, _)| *r == revision)?;
        self.edits
            .iter()
            .skip(first)
            .map(|(_, edit)| *edit)
            .reduce(Edit::then)
    }

    fn record(&mut self, edit: Edit) {
        self.edits.push_back((self.revision, edit));
        if self.edits.len() > EDIT_LOG_LEN {
            self.edits.pop_front();
        }
        self.revision = fresh_revision();
    }

    pub fn language_id(&self) -> &str {
        &self.language_id
    }

    pub fn text(&self) -> String {
        self.text.as_str().to_string()
    }

    /// The text the analysis reads: [`Document::text`] with lone `\r` line breaks made `\n`
    /// (see [`super::normalize_lone_cr`]; every offset is kept).
    pub fn analysis_text(&self) -> String {
        super::normalize_lone_cr(self.text())
    }

    /// [`Document::analysis_text`] as the shared text the analysis keeps: the document's own
    /// string, unless a lone `\r` has to be normalised in a copy.
    pub fn shared_analysis_text(&self) -> Arc<str> {
        if self.text.has_lone_cr() {
            self.analysis_text().into()
        } else {
            Arc::clone(self.text.shared())
        }
    }

    /// Applies content changes in order and moves to `version`. Edits with out-of-range
    /// positions are clamped, never rejected, so the buffer stays in step with the client.
    pub fn apply_changes(
        &mut self,
        changes: &[TextEdit],
        version: i32,
        encoding: PositionEncoding,
    ) {
        for change in changes {
            self.apply_change(change, encoding);
        }
        self.version = version;
    }

    fn apply_change(&mut self, change: &TextEdit, encoding: PositionEncoding) {
        let Some((start, end)) = change.range else {
            self.record(Edit::replace_all(self.text.len_bytes(), change.text.len()));
            self.text = SourceText::new(change.text.as_str());
            self.tree = None;
            self.tree_version = None;
            return;
        };
        let mut start_byte = position_to_offset(&self.text, start, encoding);
        let mut end_byte = position_to_offset(&self.text, end, encoding);
        if end_byte < start_byte {
            std::mem::swap(&mut start_byte, &mut end_byte);
        }
        let start_point = offset_to_point(&self.text, start_byte);
        let old_end_point = offset_to_point(&self.text, end_byte);
        self.text.replace(start_byte..end_byte, &change.text);
        let new_end_byte = start_byte + change.text.len();
        self.record(Edit {
            start: start_byte,
            old_end: end_byte,
            new_end: new_end_byte,
        });
        if let Some(tree) = self.tree.as_mut() {
            tree.edit(&tree_sitter::InputEdit {
                start_byte,
                old_end_byte: end_byte,
                new_end_byte,
                start_position: start_point,
                old_end_position: old_end_point,
                new_end_position: offset_to_point(&self.text, new_end_byte),
            });
        }
    }

    /// The tree for the current version, reparsing `text` (this version's text as the analysis
    /// reads it) incrementally from the previous tree.
    pub fn parse_text(
        &self,
        parser: &mut tree_sitter::Parser,
        text: &str,
    ) -> Option<tree_sitter::Tree> {
        if self.tree_version == Some(self.version) {
            return self.tree.clone();
        }
        parser.parse(text.as_bytes(), self.tree.as_ref())
    }

    /// The tree to parse this version from: the tree of this very version (`true`), or an older
    /// one with every later edit applied (`false`, an incremental base), if the document keeps
    /// one.
    pub fn incremental_base(&self) -> (Option<&tree_sitter::Tree>, bool) {
        (
            self.tree.as_ref(),
            self.tree.is_some() && self.tree_version == Some(self.version),
        )
    }

    /// Whether the document keeps a syntax tree for incremental reparsing.
    pub fn has_tree(&self) -> bool {
        self.tree.is_some()
    }

    /// Forgets the syntax tree to save memory (a 600-line module's tree takes ~0.6 MB); the
    /// next analysis parses from scratch.
    pub fn drop_tree(&mut self) {
        self.tree = None;
        self.tree_version = None;
    }

    /// Stores a tree parsed from `version`, unless the document has moved on since (then the
    /// stale tree would lack the newer edits and must not become the incremental base).
    pub fn store_tree(&mut self, version: i32, tree: tree_sitter::Tree) {
        if version == self.version {
            self.tree = Some(tree);
            self.tree_version = Some(version);
        }
    }

    /// A cheap immutable copy for background work (the text and trees are shared).
    pub fn snapshot(&self) -> DocumentSnapshot {
        DocumentSnapshot {
            document: Arc::new(self.clone()),
        }
    }
}

/// An immutable view of a document at one version.
#[derive(Clone)]
pub struct DocumentSnapshot {
    document: Arc<Document>,
}

impl std::ops::Deref for DocumentSnapshot {
    type Target = Document;
    fn deref(&self) -> &Document {
        &self.document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(l1: u32, c1: u32, l2: u32, c2: u32, text: &str) -> TextEdit {
        TextEdit {
            range: Some((
                LspPosition {
                    line: l1,
                    character: c1,
                },
                LspPosition {
                    line: l2,
                    character: c2,
                },
            )),
            text: text.to_string(),
        }
    }

    #[test]
    fn incremental_edits_update_text_and_version() {
        let mut doc = Document::new("class A:\n    pass\n", 1, "python");
        doc.apply_changes(&[edit(0, 6, 0, 7, "Bee")], 2, PositionEncoding::Utf16);
        assert_eq!(doc.text(), "class Bee:\n    pass\n");
        assert_eq!(doc.version(), 2);
    }

    /// The shared text equals `analysis_text`, with lone `\r`, `\r\n` pairs and multi-byte
    /// characters, and is the document's own string when there is no lone `\r`.
    #[test]
    fn the_shared_analysis_text_is_the_analysis_text() {
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(match i % 5 {
                0 => "x = 1\r",
                1 => "y = 'é😀'\r\n",
                2 => "\r",
                3 => "z\n",
                _ => "ß",
            });
        }
        for text in [text.as_str(), "", "\r", "a\r\n\rb"] {
            let mut doc = Document::new(text, 1, "python");
            assert_eq!(&*doc.shared_analysis_text(), doc.analysis_text());
            doc.apply_changes(&[edit(0, 0, 0, 0, "\r")], 2, PositionEncoding::Utf16);
            assert_eq!(&*doc.shared_analysis_text(), doc.analysis_text());
        }
        // "\r" typed before "\n" makes a "\r\n", not a lone "\r": no copy.
        let mut doc = Document::new("a\r\nb\n", 1, "python");
        doc.apply_changes(&[edit(1, 1, 1, 1, "\r")], 2, PositionEncoding::Utf16);
        assert_eq!(doc.text(), "a\r\nb\r\n");
        assert!(Arc::ptr_eq(
            &doc.shared_analysis_text(),
            &doc.shared_analysis_text()
        ));
    }

    #[test]
    fn incremental_reparse_matches_a_fresh_parse() {
        let mut parser = crate::syntax::new_parser();
        let mut doc = Document::new("def f(x):\n    return x\n", 1, "python");
        let tree = doc.parse_text(&mut parser, &doc.text()).unwrap();
        doc.store_tree(1, tree);
        doc.apply_changes(&[edit(0, 6, 0, 7, "y, z")], 2, PositionEncoding::Utf8);
        let incremental = doc.parse_text(&mut parser, &doc.text()).unwrap();
        let fresh = crate::syntax::parse(&doc.text()).unwrap();
        assert_eq!(
            incremental.root_node().to_sexp(),
            fresh.root_node().to_sexp()
        );
    }

    #[test]
    fn edits_are_recorded_as_they_are_applied() {
        let mut doc = Document::new("class A:\n    pass\n", 1, "python");
        let opened = doc.revision();
        let before = doc.text();
        doc.apply_changes(
            &[edit(0, 6, 0, 7, "Bee"), edit(1, 4, 1, 8, "x = 1")],
            2,
            PositionEncoding::Utf16,
        );
        assert_ne!(doc.revision(), opened);
        let composed = doc.edit_since(opened).unwrap();
        assert!(composed.turns(&before, &doc.text()), "{composed:?}");
        assert_eq!(doc.edit_since(doc.revision()), None);
        let middle = doc.revision();
        doc.apply_changes(
            &[TextEdit {
                range: None,
                text: "y = 2\n".into(),
            }],
            3,
            PositionEncoding::Utf16,
        );
        assert_eq!(doc.edit_since(middle), Some(Edit::replace_all(21, 6)));
    }

    #[test]
    fn reversed_and_out_of_range_edits_are_clamped() {
        let mut doc = Document::new("abc", 1, "python");
        doc.apply_changes(&[edit(5, 0, 0, 1, "X")], 2, PositionEncoding::Utf16);
        assert_eq!(doc.text(), "aX");
    }
}
