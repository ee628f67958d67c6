//! Indentation as CPython's tokenizer measures it, shared by the statement walk (`diagnose`)
//! and the tokenizer scan, which must agree on when two lines are indented alike.

/// A line's indentation two ways: `col` with tabs to the next multiple of 8, `alt` with every
/// tab as one column. Lines compare equal only when both agree (CPython's "inconsistent use
/// of tabs and spaces" check).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Indent {
    pub(super) col: usize,
    pub(super) alt: usize,
}

impl Indent {
    pub(super) const ZERO: Indent = Indent { col: 0, alt: 0 };

    /// Takes in one more byte of leading whitespace; false when `c` is not indentation.
    /// A form feed resets the count, as in CPython.
    pub(super) fn advance(&mut self, c: u8) -> bool {
        match c {
            b' ' => {
                self.col += 1;
                self.alt += 1;
            }
            b'\t' => {
                self.col = (self.col / 8 + 1) * 8;
                self.alt += 1;
            }
            b'\x0c' => *self = Indent::ZERO,
            _ => return false,
        }
        true
    }
}
