//! The identifiers of a Python text, outside strings and comments: what navigation, rename
//! and highlights look at. A linear byte scan rather than a parse, so a request on a large
//! module costs microseconds; the summaries then decide what each identifier refers to.

use crate::diagnostics::TextRange;

/// One identifier of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident {
    pub range: TextRange,
    /// Preceded by `.`: an attribute (`module.Name`, `task.field`), not a plain name.
    pub attribute: bool,
    /// Followed by a single `=` right after `(` or `,`: a keyword argument's name.
    pub keyword_argument: bool,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_continue(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// Every identifier of `text`, in order. Strings (any prefix, triple-quoted too) and comments
/// are skipped; so are identifiers inside f-string replacement fields, a known gap.
pub fn identifiers(text: &str) -> Vec<Ident> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // The last significant byte before the current position (not whitespace or comment).
    let mut previous: u8 = b'\n';
    while i < b.len() {
        let c = b[i];
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'"' || c == b'\'' {
            i = skip_string(b, i);
            previous = b'"';
            continue;
        }
        if c.is_ascii_digit() {
            while i < b.len() && (is_ident_continue(b[i]) || b[i] == b'.') {
                i += 1;
            }
            previous = b'0';
            continue;
        }
        if is_ident_start(c) {
            let start = i;
            while i < b.len() && is_ident_continue(b[i]) {
                i += 1;
            }
            // A string prefix (`f"`, `rb'`) belongs to the string.
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') && i - start <= 2 {
                let prefix = &text[start..i];
                if prefix
                    .bytes()
                    .all(|p| matches!(p.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f'))
                {
                    i = skip_string(b, i);
                    previous = b'"';
                    continue;
                }
            }
            let mut next = i;
            while next < b.len() && (b[next] == b' ' || b[next] == b'\t') {
                next += 1;
            }
            let single_equals =
                next < b.len() && b[next] == b'=' && b.get(next + 1).copied() != Some(b'=');
            out.push(Ident {
                range: TextRange::new(start, i),
                attribute: previous == b'.',
                keyword_argument: single_equals && matches!(previous, b'(' | b','),
            });
            previous = b'a';
            continue;
        }
        if !c.is_ascii_whitespace() && c != b'\\' {
            previous = c;
        }
        i += 1;
    }
    out
}

/// The end of the string literal whose opening quote is at `start`.
fn skip_string(b: &[u8], start: usize) -> usize {
    let quote = b[start];
    let triple = b.get(start + 1) == Some(&quote) && b.get(start + 2) == Some(&quote);
    let mut i = start + if triple { 3 } else { 1 };
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if !triple {
                return i + 1;
            }
            if b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote) {
                return i + 3;
            }
        } else if c == b'\n' && !triple {
            // An unterminated single-quoted string ends with its line.
            return i;
        }
        i += 1;
    }
    b.len()
}

/// The identifier at (or just before) byte `offset`.
pub fn identifier_at(idents: &[Ident], offset: usize) -> Option<Ident> {
    let i = idents.partition_point(|id| id.range.end() < offset);
    idents
        .get(i)
        .filter(|id| id.range.start() <= offset && offset <= id.range.end())
        .copied()
}

/// The dotted name ending with `idents[i]` (`a.b.C` for `C`), read back through the
/// identifiers directly joined by dots.
pub fn dotted_name_ending_at<'t>(text: &'t str, idents: &[Ident], i: usize) -> Vec<&'t str> {
    let mut parts = vec![&text[idents[i].range.start()..idents[i].range.end()]];
    let mut j = i;
    while idents[j].attribute && j > 0 {
        let between = &text[idents[j - 1].range.end()..idents[j].range.start()];
        if between.trim() != "." {
            break;
        }
        j -= 1;
        parts.push(&text[idents[j].range.start()..idents[j].range.end()]);
    }
    parts.reverse();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<&str> {
        identifiers(text)
            .iter()
            .map(|id| &text[id.range.start()..id.range.end()])
            .collect()
    }

    #[test]
    fn strings_comments_and_numbers_are_not_identifiers() {
        let text = "a = f'{b}' + \"c\" # d\ne = '''f\n g''' + rb\"h\" + 1e5 + x1\n";
        assert_eq!(names(text), vec!["a", "e", "x1"]);
    }

    #[test]
    fn attributes_and_keyword_arguments_are_marked() {
        let text = "W(llm=llm, x == y)\nm.A\n";
        let ids = identifiers(text);
        let flags: Vec<(bool, bool)> = ids
            .iter()
            .map(|id| (id.attribute, id.keyword_argument))
            .collect();
        assert_eq!(
            flags,
            vec![
                (false, false),
                (false, true),
                (false, false),
                (false, false),
                (false, false),
                (false, false),
                (true, false)
            ]
        );
        assert_eq!(dotted_name_ending_at(text, &ids, 6), vec!["m", "A"]);
    }

    #[test]
    fn the_identifier_at_a_cursor_includes_its_end() {
        let text = "abc = de";
        let ids = identifiers(text);
        assert_eq!(identifier_at(&ids, 3).unwrap().range, TextRange::new(0, 3));
        assert_eq!(identifier_at(&ids, 5), None);
        assert_eq!(identifier_at(&ids, 6).unwrap().range, TextRange::new(6, 8));
    }
}
