//! Byte-range edits: what `Document::apply_change` records as it applies a change, and what
//! the analysis moves cached ranges and reparses statements with.

/// One byte-range replacement that turned one revision of a file into the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl Edit {
    /// The single replacement turning `old` into `new` (common prefix and suffix kept).
    pub fn between(old: &str, new: &str) -> Edit {
        let (a, b) = (old.as_bytes(), new.as_bytes());
        let prefix = common_prefix(a, b);
        let max_suffix = a.len().min(b.len()) - prefix;
        let suffix = common_suffix(&a[a.len() - max_suffix..], &b[b.len() - max_suffix..]);
        Edit {
            start: prefix,
            old_end: a.len() - suffix,
            new_end: b.len() - suffix,
        }
    }

    /// Whether this edit turns `old` into `new` (the text outside the edit is equal).
    pub fn turns(self, old: &str, new: &str) -> bool {
        let (a, b) = (old.as_bytes(), new.as_bytes());
        self.start <= self.old_end
            && self.start <= self.new_end
            && self.old_end <= a.len()
            && self.new_end <= b.len()
            && a.len() - self.old_end == b.len() - self.new_end
            && a[..self.start] == b[..self.start]
            && a[self.old_end..] == b[self.new_end..]
    }

    /// Like `map`, for the end of a range: an end at an insertion point takes the insertion in.
    pub fn map_end(self, offset: usize) -> usize {
        if offset >= self.old_end {
            offset - self.old_end + self.new_end
        } else {
            self.map(offset)
        }
    }

    /// Where `offset` of the old text is in the new text; offsets inside the replaced span
    /// are clamped into the replacement.
    pub fn map(self, offset: usize) -> usize {
        if offset <= self.start {
            offset
        } else if offset >= self.old_end {
            offset - self.old_end + self.new_end
        } else {
            offset.min(self.new_end)
        }
    }
}

impl Edit {
    /// The whole of `old_len` bytes replaced by `new_len` bytes.
    pub fn replace_all(old_len: usize, new_len: usize) -> Edit {
        Edit {
            start: 0,
            old_end: old_len,
            new_end: new_len,
        }
    }

    /// One edit doing `self`, then `next` (whose offsets are in the text `self` produced):
    /// the smallest single replacement covering both.
    pub fn then(self, next: Edit) -> Edit {
        let start = self.start.min(next.start);
        // The changed span in the intermediate text.
        let middle_end = self.new_end.max(next.old_end);
        Edit {
            start,
            old_end: middle_end - self.new_end + self.old_end,
            new_end: middle_end - next.old_end + next.new_end,
        }
    }
}

/// Compared a block at a time (a slice comparison is a `memcmp`), then byte by byte: a file
/// of 200 KB is compared in microseconds.
const BLOCK: usize = 64;

/// The length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= n && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    at + a[at..n]
        .iter()
        .zip(&b[at..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// The length of the longest common suffix of `a` and `b`.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut end = n;
    while end >= BLOCK && a[end - BLOCK..end] == b[end - BLOCK..end] {
        end -= BLOCK;
    }
    (n - end)
        + a[..end]
            .iter()
            .rev()
            .zip(b[..end].iter().rev())
            .take_while(|(x, y)| x == y)
            .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, edit: Edit, replacement: &str) -> String {
        format!(
            "{}{}{}",
            &text[..edit.start],
            replacement,
            &text[edit.old_end..]
        )
    }

    #[test]
    fn composed_edits_turn_the_first_text_into_the_last() {
        let mut random = crate::testing::Random(11);
        for _ in 0..2_000 {
            let mut text: String = (0..random.below(40))
                .map(|i| (b'a' + (i % 26) as u8) as char)
                .collect();
            let first = text.clone();
            let mut composed: Option<Edit> = None;
            for _ in 0..1 + random.below(4) {
                let a = random.below(text.len() + 1);
                let b = random.below(text.len() + 1);
                let (start, old_end) = (a.min(b), a.max(b));
                let insert = "xyz"[..random.below(4)].to_string();
                let edit = Edit {
                    start,
                    old_end,
                    new_end: start + insert.len(),
                };
                text = apply(&text, edit, &insert);
                composed = Some(match composed {
                    Some(before) => before.then(edit),
                    None => edit,
                });
            }
            let composed = composed.unwrap();
            assert!(
                composed.turns(&first, &text),
                "{first:?} -> {text:?}: {composed:?}"
            );
        }
    }

    /// The block-wise comparison finds the same span as a byte-by-byte one, wherever the
    /// change is relative to the blocks.
    #[test]
    fn between_matches_a_byte_by_byte_diff() {
        fn naive(a: &[u8], b: &[u8]) -> (usize, usize) {
            let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            let max = a.len().min(b.len()) - prefix;
            let suffix = a
                .iter()
                .rev()
                .zip(b.iter().rev())
                .take(max)
                .take_while(|(x, y)| x == y)
                .count();
            (prefix, suffix)
        }
        let base: String = (0..300).map(|i| char::from(b'a' + (i % 7) as u8)).collect();
        let mut random = crate::testing::Random(42);
        for _ in 0..2000 {
            let mut new = base.clone();
            let at = random.below(base.len() + 1);
            let end = (at + random.below(130)).min(base.len());
            let insert = "xyz".repeat(random.below(50));
            new.replace_range(at..end, &insert);
            let edit = Edit::between(&base, &new);
            let (prefix, suffix) = naive(base.as_bytes(), new.as_bytes());
            assert_eq!(
                edit,
                Edit {
                    start: prefix,
                    old_end: base.len() - suffix,
                    new_end: new.len() - suffix
                }
            );
            assert!(edit.turns(&base, &new));
        }
    }
}
