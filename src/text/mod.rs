//! Text documents: rope buffers, incremental edits and every position-encoding conversion.
//!
//! Architecture Invariant: this is the only module that knows how LSP positions (utf-8 or
//! utf-16 code units) map to byte offsets. Every conversion clamps: an out-of-range line or
//! column never panics, it lands on the nearest valid position, as the LSP specification asks
//! ("if the character value is greater than the line length it defaults back to the line
//! length").

pub mod document;
pub mod edit;

pub use document::{Document, TextEdit};
pub use edit::Edit;

use ropey::{Rope, RopeSlice};

/// How LSP `Position.character` counts: negotiated once per session from
/// `general.positionEncodings` (utf-8 when offered, as Neovim and Helix do; utf-16 otherwise,
/// which is what VS Code requires).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PositionEncoding {
    Utf8,
    #[default]
    Utf16,
}

impl PositionEncoding {
    /// Picks utf-8 when the client offers it, else utf-16 (the protocol's mandatory default).
    pub fn negotiate(offered: Option<&[String]>) -> Self {
        match offered {
            Some(kinds) if kinds.iter().any(|k| k == "utf-8") => PositionEncoding::Utf8,
            _ => PositionEncoding::Utf16,
        }
    }

    pub fn as_lsp_str(self) -> &'static str {
        match self {
            PositionEncoding::Utf8 => "utf-8",
            PositionEncoding::Utf16 => "utf-16",
        }
    }
}

/// A zero-based line and a column counted in the negotiated encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct LspPosition {
    pub line: u32,
    pub character: u32,
}

/// Length of a rope line without its terminator (`\n`, `\r\n` or `\r`).
fn line_without_terminator(line: RopeSlice<'_>) -> RopeSlice<'_> {
    let mut end = line.len_chars();
    if end > 0 && line.char(end - 1) == '\n' {
        end -= 1;
    }
    if end > 0 && line.char(end - 1) == '\r' {
        end -= 1;
    }
    line.slice(..end)
}

/// Converts an LSP position to a byte offset into `rope`, clamping out-of-range values.
pub fn position_to_offset(rope: &Rope, position: LspPosition, encoding: PositionEncoding) -> usize {
    let line_count = rope.len_lines();
    let line_index = position.line as usize;
    if line_index >= line_count {
        return rope.len_bytes();
    }
    let line_start_byte = rope.line_to_byte(line_index);
    let content = line_without_terminator(rope.line(line_index));
    let column = position.character as usize;
    let byte_in_line = match encoding {
        PositionEncoding::Utf8 => {
            let clamped = column.min(content.len_bytes());
            // Snap a column that falls inside a multi-byte character back to its start.
            let char_index = content.byte_to_char(clamped);
            content.char_to_byte(char_index)
        }
        PositionEncoding::Utf16 => {
            let clamped = column.min(content.len_utf16_cu());
            let char_index = content.utf16_cu_to_char(clamped);
            content.char_to_byte(char_index)
        }
    };
    line_start_byte + byte_in_line
}

/// Converts a byte offset into `rope` to an LSP position; offsets past the end clamp to the end
/// and offsets inside a character snap to its start.
pub fn offset_to_position(rope: &Rope, offset: usize, encoding: PositionEncoding) -> LspPosition {
    let offset = offset.min(rope.len_bytes());
    let char_index = rope.byte_to_char(offset);
    let line_index = rope.char_to_line(char_index);
    let line_start_char = rope.line_to_char(line_index);
    let character = match encoding {
        PositionEncoding::Utf8 => rope.char_to_byte(char_index) - rope.line_to_byte(line_index),
        PositionEncoding::Utf16 => {
            rope.char_to_utf16_cu(char_index) - rope.char_to_utf16_cu(line_start_char)
        }
    };
    LspPosition {
        line: line_index as u32,
        character: character as u32,
    }
}

/// `text` with every lone `\r` (one not followed by `\n`) turned into `\n`: the text the
/// analysis sees.
///
/// CPython, editors and ropey (with `cr_lines`) all take a lone `\r` as a line break, but
/// tree-sitter-python does not, and reported `x = 1\ry = 2` as invalid syntax. The
/// replacement keeps every byte offset, and the rows tree-sitter counts then match the
/// rope's lines, so positions and tree edits computed from the rope stay valid.
pub fn normalize_lone_cr(text: String) -> String {
    if !text.as_bytes().contains(&b'\r') {
        return text;
    }
    let mut bytes = text.into_bytes();
    normalize_lone_cr_bytes(&mut bytes);
    // Only ASCII bytes were replaced by ASCII bytes.
    String::from_utf8(bytes).unwrap_or_default()
}

/// [`normalize_lone_cr`] in place: replaces ASCII bytes only, so UTF-8 stays UTF-8.
pub(crate) fn normalize_lone_cr_bytes(bytes: &mut [u8]) {
    for i in 0..bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
            bytes[i] = b'\n';
        }
    }
}

/// A tree-sitter point (row, byte column) for a byte offset of `rope`.
pub fn offset_to_point(rope: &Rope, offset: usize) -> tree_sitter::Point {
    let offset = offset.min(rope.len_bytes());
    let line = rope.byte_to_line(offset);
    tree_sitter::Point {
        row: line,
        column: offset - rope.line_to_byte(line),
    }
}

/// The tree-sitter point (row, byte column) of byte `offset` in `text` (clamped), for callers
/// that hold a `str` rather than a rope.
pub fn str_offset_to_point(text: &str, offset: usize) -> tree_sitter::Point {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let row = before.iter().filter(|b| **b == b'\n').count();
    let column = before.len()
        - before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
    tree_sitter::Point::new(row, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> LspPosition {
        LspPosition { line, character }
    }

    #[test]
    fn utf16_counts_astral_characters_as_two_units() {
        let rope = Rope::from_str("x = \"😀\"; y = 1\n");
        // '😀' is 4 bytes in utf-8 and 2 units in utf-16.
        let y = "x = \"😀\"; ".len();
        assert_eq!(
            offset_to_position(&rope, y, PositionEncoding::Utf8),
            pos(0, y as u32)
        );
        assert_eq!(
            offset_to_position(&rope, y, PositionEncoding::Utf16),
            pos(0, 10)
        );
        assert_eq!(
            position_to_offset(&rope, pos(0, 10), PositionEncoding::Utf16),
            y
        );
    }

    #[test]
    fn out_of_range_positions_clamp_instead_of_panicking() {
        let rope = Rope::from_str("ab\r\ncd");
        assert_eq!(
            position_to_offset(&rope, pos(0, 99), PositionEncoding::Utf16),
            2
        );
        assert_eq!(
            position_to_offset(&rope, pos(0, 99), PositionEncoding::Utf8),
            2
        );
        assert_eq!(
            position_to_offset(&rope, pos(7, 3), PositionEncoding::Utf8),
            6
        );
        assert_eq!(
            offset_to_position(&rope, 999, PositionEncoding::Utf8),
            pos(1, 2)
        );
    }

    #[test]
    fn a_column_inside_a_character_snaps_to_its_start() {
        let rope = Rope::from_str("é\n");
        assert_eq!(
            position_to_offset(&rope, pos(0, 1), PositionEncoding::Utf8),
            0
        );
        assert_eq!(
            offset_to_position(&rope, 1, PositionEncoding::Utf16),
            pos(0, 0)
        );
    }

    #[test]
    fn negotiation_prefers_utf8_and_falls_back_to_utf16() {
        let offered = vec!["utf-16".to_string(), "utf-8".to_string()];
        assert_eq!(
            PositionEncoding::negotiate(Some(&offered)),
            PositionEncoding::Utf8
        );
        assert_eq!(
            PositionEncoding::negotiate(Some(&["utf-16".to_string()])),
            PositionEncoding::Utf16
        );
        assert_eq!(PositionEncoding::negotiate(None), PositionEncoding::Utf16);
    }

    #[test]
    fn lone_carriage_returns_become_newlines_in_place() {
        assert_eq!(normalize_lone_cr("x = 1\ry = 2\r".into()), "x = 1\ny = 2\n");
        assert_eq!(normalize_lone_cr("a\r\nb\r\r\nc".into()), "a\r\nb\n\r\nc");
        assert_eq!(normalize_lone_cr("é\rü".into()), "é\nü");
        let rope = Rope::from_str("x = 1\ry = 2\r");
        let normalized = normalize_lone_cr(rope.to_string());
        for offset in 0..=normalized.len() {
            assert_eq!(
                offset_to_point(&rope, offset),
                str_offset_to_point(&normalized, offset),
                "rope points and tree-sitter rows agree at {offset}"
            );
        }
    }
}
