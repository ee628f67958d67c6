//! Which open documents keep their tree-sitter tree between checks.
//!
//! A tree makes the next module-level edit an incremental reparse, but costs ~0.5 MB per 600
//! lines, and most open documents are never edited. So trees are kept by the
//! [`RETAINED_TREES`] most recently edited documents and, until the next open, by the document
//! opened last if it is large (the one the user is likely to type in next; small files parse
//! from scratch in a few milliseconds). Keystrokes inside a definition need no tree
//! (`syntax::statements`).

use std::collections::VecDeque;

/// How many edited documents keep their tree.
pub const RETAINED_TREES: usize = 4;

/// Size from which the document opened last keeps its tree before its first edit: below it, a
/// parse from scratch takes under ~10 ms.
pub const OPENED_TREE_MIN_BYTES: usize = 32 * 1024;

/// The documents holding a tree. The caller drops the trees of the documents it is told to.
#[derive(Debug)]
pub struct TreeRetention<K> {
    /// Edited documents holding a tree, least recently checked first.
    edited: VecDeque<K>,
    /// The document opened last, holding its tree before any edit.
    opened: Option<K>,
}

impl<K> Default for TreeRetention<K> {
    fn default() -> Self {
        TreeRetention {
            edited: VecDeque::new(),
            opened: None,
        }
    }
}

/// Whether a document of `len_bytes` should keep the tree of a check: always after an edit,
/// after its opening only if it is large.
pub fn wants_tree(just_opened: bool, len_bytes: usize) -> bool {
    !just_opened || len_bytes >= OPENED_TREE_MIN_BYTES
}

impl<K: Clone + PartialEq> TreeRetention<K> {
    /// Records that `document` now holds a tree (from its opening check if `just_opened`) and
    /// returns the documents whose trees must go: the least recently edited beyond
    /// [`RETAINED_TREES`], or the document opened before, unless it has been edited since.
    pub fn hold(&mut self, document: &K, just_opened: bool) -> Vec<K> {
        if just_opened {
            return match self.opened.replace(document.clone()) {
                Some(previous) if previous != *document && !self.edited.contains(&previous) => {
                    vec![previous]
                }
                _ => Vec::new(),
            };
        }
        self.edited.retain(|d| d != document);
        self.edited.push_back(document.clone());
        let excess = self.edited.len().saturating_sub(RETAINED_TREES);
        self.edited.drain(..excess).collect()
    }

    /// Whether `document` may hold a tree now: it is the document opened last or one of the
    /// recently edited (a tree parsed in the background for a document that lost its place
    /// meanwhile is not kept).
    pub fn holds(&self, document: &K) -> bool {
        self.opened.as_ref() == Some(document) || self.edited.contains(document)
    }

    /// Forgets a closed document.
    pub fn forget(&mut self, document: &K) {
        self.edited.retain(|d| d != document);
        if self.opened.as_ref() == Some(document) {
            self.opened = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_large_documents_keep_the_tree_of_their_opening() {
        assert!(!wants_tree(true, 15 * 1024));
        assert!(wants_tree(true, OPENED_TREE_MIN_BYTES));
        assert!(wants_tree(false, 10));
    }

    #[test]
    fn the_least_recently_edited_documents_lose_their_trees() {
        let mut trees = TreeRetention::default();
        for document in 0..RETAINED_TREES as u32 {
            assert!(trees.hold(&document, false).is_empty());
        }
        // Editing 0 again makes 1 the least recent.
        assert!(trees.hold(&0, false).is_empty());
        assert_eq!(trees.hold(&99, false), vec![1]);
    }

    #[test]
    fn the_last_opened_document_keeps_its_tree_until_the_next_open() {
        let mut trees = TreeRetention::default();
        assert!(trees.hold(&1, true).is_empty());
        assert_eq!(trees.hold(&2, true), vec![1]);
        // 2 is edited: opening 3 leaves its tree to the edited ones.
        assert!(trees.hold(&2, false).is_empty());
        assert!(trees.hold(&3, true).is_empty());
        trees.forget(&3);
        assert!(trees.hold(&4, true).is_empty(), "3 was closed");
    }

    #[test]
    fn a_document_opened_before_the_last_one_no_longer_holds_a_place() {
        let mut trees = TreeRetention::default();
        trees.hold(&1, true);
        assert!(trees.holds(&1));
        trees.hold(&2, true);
        assert!(!trees.holds(&1), "a tree parsed for 1 now is not kept");
        assert!(trees.holds(&2));
        trees.hold(&1, false);
        assert!(trees.holds(&1), "1 was edited");
    }
}
