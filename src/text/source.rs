//! A document's text as one shared string plus the start of every line.
//!
//! This replaced a rope: the analysis needs the text as one contiguous `str`, so an open
//! document kept it twice (the rope, and the `Arc<str>` the analysis host holds). Now the
//! analysis shares this very string unless the text has a lone `\r` (see
//! [`super::normalize_lone_cr`]). An edit copies the text once, as collecting the rope into a
//! string for the next check did, and updates the line starts only around the edit.

use std::ops::Range;
use std::sync::Arc;

/// Text and line starts. Cheap to clone (both parts are shared).
///
/// Lines end at `\n`, `\r\n` or a lone `\r`, as CPython and editors count them. Offsets are
/// stored as `u32`: the framing layer takes no frame over 64 MB.
#[derive(Clone, Default)]
pub struct SourceText {
    text: Arc<str>,
    /// Byte offset of every line's first byte; the first is 0, so there is always one.
    line_starts: Arc<Vec<u32>>,
    /// How many lines end at a lone `\r` (the analysis then gets a normalised copy).
    lone_cr_lines: usize,
}

impl SourceText {
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        let lone_cr_lines = push_line_starts(text.as_bytes(), 0..text.len(), &mut line_starts);
        // Kept for as long as the document is open: without the slack growth left (up to
        // half), 100 open 600-line documents hold ~0.15 MB less.
        line_starts.shrink_to_fit();
        SourceText {
            text,
            line_starts: Arc::new(line_starts),
            lone_cr_lines,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The shared string itself.
    pub fn shared(&self) -> &Arc<str> {
        &self.text
    }

    /// Whether some line ends at a `\r` not followed by `\n`.
    pub fn has_lone_cr(&self) -> bool {
        self.lone_cr_lines > 0
    }

    pub fn len_bytes(&self) -> usize {
        self.text.len()
    }

    /// The number of lines: one more than the number of line breaks.
    pub fn len_lines(&self) -> usize {
        self.line_starts.len()
    }

    /// The byte offset where `line` starts (the end of the text past the last line).
    pub fn line_to_byte(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .map_or(self.text.len(), |&start| start as usize)
    }

    /// The line that byte `offset` (clamped to the text) is on.
    pub fn byte_to_line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        // The last line starting at or before `offset`.
        self.line_starts
            .partition_point(|&start| start as usize <= offset)
            - 1
    }

    /// `line`'s text with its line break; empty past the last line.
    pub fn line(&self, line: usize) -> &str {
        let start = self.line_to_byte(line);
        let end = self.line_to_byte(line + 1);
        &self.text[start..end]
    }

    /// Replaces the bytes of `range` (clamped, on character boundaries) with `insert`.
    pub fn replace(&mut self, range: Range<usize>, insert: &str) {
        let len = self.text.len();
        let start = range.start.min(len);
        let old_end = range.end.clamp(start, len);
        let mut text = String::with_capacity(len - (old_end - start) + insert.len());
        text.push_str(&self.text[..start]);
        text.push_str(insert);
        text.push_str(&self.text[old_end..]);
        let new_end = start + insert.len();

        // Whether byte `i` ends a line depends on bytes `i` and `i + 1` only, so the breaks at
        // `start - 1` (a `\r` that an inserted `\n` now follows) up to the first unchanged
        // byte after the edit (a `\n` that may now follow an inserted `\r`) are found again;
        // the others only move.
        let old_text = std::mem::take(&mut self.text);
        let old = old_text.as_bytes();
        let first = start.saturating_sub(1);
        let old_last = (old_end + 1).min(old.len());
        let new_last = (new_end + 1).min(text.len());
        let starts = Arc::make_mut(&mut self.line_starts);
        // Line starts are the byte after each break: those of breaks at `first..old_last`.
        let keep_before = starts.partition_point(|&s| (s as usize) <= first);
        let keep_after = starts.partition_point(|&s| (s as usize) <= old_last);
        self.lone_cr_lines -= starts[keep_before..keep_after]
            .iter()
            .filter(|&&s| old[s as usize - 1] == b'\r')
            .count();
        let mut found = Vec::new();
        self.lone_cr_lines += push_line_starts(text.as_bytes(), first..new_last, &mut found);
        let shift = |s: &u32| (*s as usize + new_end - old_end) as u32;
        let moved: Vec<u32> = starts[keep_after..].iter().map(shift).collect();
        starts.truncate(keep_before);
        starts.extend(found);
        starts.extend(moved);
        self.text = text.into();
    }
}

impl std::fmt::Display for SourceText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::fmt::Debug for SourceText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.text, f)
    }
}

/// Appends the start of the line after every line break at a byte of `within` (looking one
/// byte past it to tell `\r\n` from a lone `\r`); returns how many of them are lone `\r`.
fn push_line_starts(bytes: &[u8], within: Range<usize>, starts: &mut Vec<u32>) -> usize {
    let mut lone_cr = 0;
    for i in within {
        match bytes[i] {
            b'\n' => starts.push(i as u32 + 1),
            b'\r' if bytes.get(i + 1) != Some(&b'\n') => {
                starts.push(i as u32 + 1);
                lone_cr += 1;
            }
            _ => {}
        }
    }
    lone_cr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(text: &SourceText) -> Vec<usize> {
        (0..text.len_lines())
            .map(|i| text.line_to_byte(i))
            .collect()
    }

    #[test]
    fn lines_end_at_newlines_crlf_and_lone_cr() {
        let text = SourceText::new("a\nb\r\nc\rd");
        assert_eq!(starts(&text), vec![0, 2, 5, 7]);
        assert_eq!(text.line(1), "b\r\n");
        assert_eq!(text.line(3), "d");
        assert_eq!(text.line(4), "");
        assert_eq!(text.byte_to_line(3), 1);
        assert_eq!(text.byte_to_line(99), 3);
        assert!(text.has_lone_cr());
        assert_eq!(SourceText::new("").len_lines(), 1);
    }

    /// Edits that join or split `\r\n` at either end of the replaced range.
    #[test]
    fn edits_find_line_breaks_again_around_the_edit() {
        let cases: [(&str, Range<usize>, &str); 7] = [
            ("a\rb", 2..2, "\n"),
            ("a\r\nb", 2..2, "x"),
            ("a\nb", 1..1, "\r"),
            ("a\r\nb", 1..2, ""),
            ("ab\r\r", 3..4, "\n"),
            ("\r", 0..1, "\r\n\r"),
            ("x\ny", 0..3, ""),
        ];
        for (before, range, insert) in cases {
            let mut text = SourceText::new(before);
            text.replace(range.clone(), insert);
            let mut expected = before.to_string();
            expected.replace_range(range, insert);
            let fresh = SourceText::new(expected.as_str());
            assert_eq!(text.as_str(), expected);
            assert_eq!(starts(&text), starts(&fresh), "{before:?} -> {expected:?}");
            assert_eq!(text.has_lone_cr(), fresh.has_lone_cr(), "{expected:?}");
        }
    }
}
