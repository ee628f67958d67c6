//! Helpers shared by tests and benchmarks (kept small; no test-only dependencies).

mod gen;

pub use gen::{generate_planai_module, generate_wired_module, wired_worker_edit};

/// Deterministic pseudo-random numbers (SplitMix64) for randomized tests, so failures
/// reproduce from the seed.
pub struct Random(pub u64);

impl Random {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Replaces `text[start..old_end]` with `insert`, then edits and reparses `tree`
/// incrementally, as the server does after a `didChange`.
pub fn edit_and_reparse(
    parser: &mut tree_sitter::Parser,
    tree: &mut tree_sitter::Tree,
    text: &mut String,
    start: usize,
    old_end: usize,
    insert: &str,
) {
    use crate::text::str_offset_to_point;
    let start_position = str_offset_to_point(text, start);
    let old_end_position = str_offset_to_point(text, old_end);
    text.replace_range(start..old_end, insert);
    let new_end = start + insert.len();
    tree.edit(&tree_sitter::InputEdit {
        start_byte: start,
        old_end_byte: old_end,
        new_end_byte: new_end,
        start_position,
        old_end_position,
        new_end_position: str_offset_to_point(text, new_end),
    });
    *tree = parser.parse(text.as_str(), Some(tree)).expect("reparse");
}
