//! Text documents: shared text with line starts, incremental edits and every position-encoding conversion.
//!
//! Architecture Invariant: this is the only module that knows how LSP positions (utf-8 or
//! utf-16 code units) map to byte offsets. Every conversion clamps: an out-of-range line or
//! column never panics, it lands on the nearest valid position, as the LSP specification asks
//! ("if the character value is greater than the line length it defaults back to the line
//! length").

pub mod document;
pub mod edit;
pub mod source;

pub use document::{Document, TextEdit};
pub use edit::Edit;
pub use source::SourceText;

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

/// `line` without its terminator (`\n`, `\r\n` or `\r`).
fn line_without_terminator(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// Converts an LSP position to a byte offset into `text`, clamping out-of-range values.
pub fn position_to_offset(
    text: &SourceText,
    position: LspPosition,
    encoding: PositionEncoding,
) -> usize {
    let line_index = position.line as usize;
    if line_index >= text.len_lines() {
        return text.len_bytes();
    }
    let line_start_byte = text.line_to_byte(line_index);
    let content = line_without_terminator(text.line(line_index));
    let column = position.character as usize;
    let byte_in_line = match encoding {
        PositionEncoding::Utf8 => {
            // Snap a column that falls inside a multi-byte character back to its start.
            let mut clamped = column.min(content.len());
            while !content.is_char_boundary(clamped) {
                clamped -= 1;
            }
            clamped
        }
        PositionEncoding::Utf16 => {
            // The character the column falls in (the start of a surrogate pair's character
            // for a column between its halves), or the end of the line.
            let mut units = 0;
            content
                .char_indices()
                .find(|(_, c)| {
                    units += c.len_utf16();
                    units > column
                })
                .map_or(content.len(), |(at, _)| at)
        }
    };
    line_start_byte + byte_in_line
}

/// Converts a byte offset into `text` to an LSP position; offsets past the end clamp to the end
/// and offsets inside a character snap to its start.
pub fn offset_to_position(
    text: &SourceText,
    offset: usize,
    encoding: PositionEncoding,
) -> LspPosition {
    let mut offset = offset.min(text.len_bytes());
    let all = text.as_str();
    while !all.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_index = text.byte_to_line(offset);
    let before = &all[text.line_to_byte(line_index)..offset];
    let character = match encoding {
        PositionEncoding::Utf8 => before.len(),
        PositionEncoding::Utf16 => before.chars().map(char::len_utf16).sum(),
    };
    LspPosition {
        line: line_index as u32,
        character: character as u32,
    }
}

/// `text` with every lone `\r` (one not followed by `\n`) turned into `\n`: the text the
/// analysis sees.
///
/// CPython, editors and [`SourceText`] all take a lone `\r` as a line break, but
/// tree-sitter-python does not, and reported `x = 1\ry = 2` as invalid syntax. The
/// replacement keeps every byte offset, and the rows tree-sitter counts then match the
/// document's lines, so positions and tree edits computed from its text stay valid.
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

/// A tree-sitter point (row, byte column) for a byte offset of `text`.
pub fn offset_to_point(text: &SourceText, offset: usize) -> tree_sitter::Point {
    let offset = offset.min(text.len_bytes());
    let line = text.byte_to_line(offset);
    tree_sitter::Point {
        row: line,
        column: offset - text.line_to_byte(line),
    }
}

/// The tree-sitter point (row, byte column) of byte `offset` in `text` (clamped), for callers
/// that hold a `str` rather than a [`SourceText`].
pub fn str_offset_to_point(text: &str, offset: usize) -> tree_sitter::Point {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let row = memchr::memchr_iter(b'\n', before).count();
    let column = before.len() - memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    tree_sitter::Point::new(row, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> LspPosition {
        LspPosition { line, character }
    }

    #[test]
    fn points_count_rows_and_byte_columns_before_an_offset() {
        let text = "ab\n\nc\u{e9}d\n";
        let naive = |offset: usize| {
            let before = &text.as_bytes()[..offset.min(text.len())];
            let row = before.iter().filter(|b| **b == b'\n').count();
            let line_start = before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            tree_sitter::Point::new(row, before.len() - line_start)
        };
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                str_offset_to_point(text, offset),
                naive(offset),
                "offset {offset}"
            );
        }
        assert_eq!(str_offset_to_point(text, 6), tree_sitter::Point::new(2, 2));
    }

    #[test]
    fn utf16_counts_astral_characters_as_two_units() {
        let source = SourceText::new("x = \"😀\"; y = 1\n");
        // '😀' is 4 bytes in utf-8 and 2 units in utf-16.
        let y = "x = \"😀\"; ".len();
        assert_eq!(
            offset_to_position(&source, y, PositionEncoding::Utf8),
            pos(0, y as u32)
        );
        assert_eq!(
            offset_to_position(&source, y, PositionEncoding::Utf16),
            pos(0, 10)
        );
        assert_eq!(
            position_to_offset(&source, pos(0, 10), PositionEncoding::Utf16),
            y
        );
    }

    #[test]
    fn out_of_range_positions_clamp_instead_of_panicking() {
        let source = SourceText::new("ab\r\ncd");
        assert_eq!(
            position_to_offset(&source, pos(0, 99), PositionEncoding::Utf16),
            2
        );
        assert_eq!(
            position_to_offset(&source, pos(0, 99), PositionEncoding::Utf8),
            2
        );
        assert_eq!(
            position_to_offset(&source, pos(7, 3), PositionEncoding::Utf8),
            6
        );
        assert_eq!(
            offset_to_position(&source, 999, PositionEncoding::Utf8),
            pos(1, 2)
        );
    }

    #[test]
    fn a_column_inside_a_character_snaps_to_its_start() {
        let source = SourceText::new("é\n");
        assert_eq!(
            position_to_offset(&source, pos(0, 1), PositionEncoding::Utf8),
            0
        );
        assert_eq!(
            offset_to_position(&source, 1, PositionEncoding::Utf16),
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
        let source = SourceText::new("x = 1\ry = 2\r");
        let normalized = normalize_lone_cr(source.to_string());
        for offset in 0..=normalized.len() {
            assert_eq!(
                offset_to_point(&source, offset),
                str_offset_to_point(&normalized, offset),
                "line points and tree-sitter rows agree at {offset}"
            );
        }
    }
}
