//! A scan of the whole text the way CPython 3.11's tokenizer sees it, for its errors only.
//!
//! CPython reports tokenizer errors (unterminated strings, unmatched or mismatched brackets,
//! inconsistent dedents, tabs mixed with spaces, ...) before any parser error: the tokenizer
//! runs ahead of the parser, and after a parser error CPython tokenizes the rest of the file
//! and lets any tokenizer error found there take precedence. Brackets still open at the end of
//! the file are the exception (see `first_error.rs`). tree-sitter's scanner pairs string
//! delimiters like CPython does, but its error recovery decides what the rest of the file is,
//! so this scan does not look at the tree at all.
//!
//! Only used once the walk found an error: it reads every byte of the text from the start of the
//! last statement before the error that the walk found clean (`scan_from`), or from the start.

use crate::diagnostics::TextRange;

/// CPython's limit on nested brackets (`MAXLEVEL`).
pub(super) const MAX_LEVEL: usize = 200;
/// CPython's limit on indentation levels (`MAXINDENT`), counting the first column.
pub(super) const MAX_INDENT: usize = 100;

/// The first tokenizer error of a text, and the bracket still open at its end.
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub error: Option<TokenError>,
    /// The innermost bracket left open at the end of the text: its position and character.
    pub unclosed: Option<(usize, u8)>,
    /// The outermost bracket left open at the end of the text: its position.
    pub outermost_unclosed: Option<usize>,
    /// The first byte of every logical line scanned, in order.
    pub logical_lines: Vec<usize>,
    /// The byte ranges of f-strings scanned, in order.
    pub fstrings: Vec<(usize, usize)>,
    /// The first f-string whose replacement fields CPython 3.11 rejects before compiling
    /// them: where it starts, and the error with the range CPython gives it.
    pub fstring_error: Option<(usize, TokenError)>,
    /// The most tokens in one logical line: a bound on how deeply its syntax tree can nest.
    pub max_line_tokens: usize,
}

#[derive(Debug)]
pub(super) struct TokenError {
    pub range: TextRange,
    pub message: String,
}

impl TokenError {
    /// Whether CPython reports this error even when it is found after a parser error. The
    /// tokenizer raises these itself; for the others (inconsistent dedent, tabs, a backslash
    /// not ending its line) it only flags its state, which the check after a parser error
    /// ignores.
    pub fn raised_anywhere(&self) -> bool {
        !(self.message.starts_with("unindent")
            || self.message.starts_with("inconsistent use of tabs")
            || self
                .message
                .starts_with("unexpected character after line continuation")
            || self.message.starts_with("unexpected EOF")
            || self.message.starts_with("too many levels of indentation"))
    }
}

use super::indent::Indent;

/// Scans `text` up to its first tokenizer error.
pub(super) fn scan(text: &str) -> Scan {
    scan_from(text, 0)
}

/// [`scan`] of `text` from `start`, which is 0 or the first byte of a logical line at column 0
/// (after a line break, outside brackets, strings and continuations), where the tokenizer's
/// state is the same as at the start of the file. Positions stay those of `text`; logical
/// lines, f-strings and errors before `start` are not seen.
pub(super) fn scan_from(text: &str, start: usize) -> Scan {
    // (most tokens in a logical line so far, tokens in the current one)
    let mut tokens = (0, 0);
    let mut scan = scan_until_error(text, start, &mut tokens);
    scan.max_line_tokens = tokens.0.max(tokens.1);
    scan
}

/// The 1-based line `at` is on, counting line breaks as the scan does (`\r\n`, `\n`, `\r`).
fn line_at(b: &[u8], at: usize) -> usize {
    let before = &b[..at.min(b.len())];
    let newlines = memchr::memchr_iter(b'\n', before).count();
    let lone_returns = memchr::memchr_iter(b'\r', before)
        .filter(|&r| b.get(r + 1) != Some(&b'\n'))
        .count();
    1 + newlines + lone_returns
}

fn scan_until_error(text: &str, start: usize, tokens: &mut (usize, usize)) -> Scan {
    let b = text.as_bytes();
    let n = b.len();
    let (mut i, mut line) = if start == 0 {
        (if b.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 }, 1usize)
    } else {
        (start.min(n), line_at(b, start))
    };
    let mut indents = vec![Indent::ZERO];
    let mut brackets: Vec<(u8, usize, usize)> = Vec::new();
    let mut at_line_start = true;
    let mut continued = false;
    let mut logical_lines = Vec::new();
    let mut fstrings = Vec::new();
    let mut fstring_error = None;
    let fail = |range: TextRange, message: String, logical_lines: Vec<usize>| Scan {
        error: Some(TokenError { range, message }),
        unclosed: None,
        outermost_unclosed: None,
        logical_lines,
        fstrings: Vec::new(),
        fstring_error: None,
        max_line_tokens: 0,
    };
    while i < n {
        if at_line_start {
            at_line_start = false;
            let mut indent = Indent::ZERO;
            let mut j = i;
            while j < n && indent.advance(b[j]) {
                j += 1;
            }
            let blank = j >= n || matches!(b[j], b'#' | b'\n' | b'\r');
            if !blank && brackets.is_empty() && !continued {
                logical_lines.push(j);
                tokens.0 = tokens.0.max(tokens.1);
                tokens.1 = 0;
                let token = token_range(b, j);
                let tab_error = |logical_lines| {
                    fail(
                        token,
                        "inconsistent use of tabs and spaces in indentation".to_string(),
                        logical_lines,
                    )
                };
                let top = *indents.last().expect("never empty");
                if indent.col == top.col {
                    if indent.alt != top.alt {
                        return tab_error(logical_lines);
                    }
                } else if indent.col > top.col {
                    if indent.alt <= top.alt {
                        return tab_error(logical_lines);
                    }
                    if indents.len() >= MAX_INDENT {
                        return fail(
                            token,
                            "too many levels of indentation".to_string(),
                            logical_lines,
                        );
                    }
                    indents.push(indent);
                } else {
                    while indents.len() > 1 && indent.col < indents[indents.len() - 1].col {
                        indents.pop();
                    }
                    let top = *indents.last().expect("never empty");
                    if indent.col != top.col {
                        return fail(
                            token,
                            "unindent does not match any outer indentation level".to_string(),
                            logical_lines,
                        );
                    }
                    if indent.alt != top.alt {
                        return tab_error(logical_lines);
                    }
                }
            }
            continued = false;
            i = j;
            continue;
        }
        let c = b[i];
        if !matches!(c, b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' | b'#' | b'\\') {
            tokens.1 += 1;
        }
        match c {
            b' ' | b'\t' | b'\x0c' => i += 1,
            b'#' => {
                while i < n && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'\n' | b'\r' => {
                i += if c == b'\r' && b.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                line += 1;
                at_line_start = true;
            }
            b'\\' => match b.get(i + 1) {
                Some(b'\n') | Some(b'\r') => {
                    let backslash = i;
                    i += if b[i + 1] == b'\r' && b.get(i + 2) == Some(&b'\n') {
                        3
                    } else {
                        2
                    };
                    // The file ends on the continued line: CPython points after the `\`.
                    if i >= n {
                        return fail(
                            TextRange::empty(backslash + 1),
                            "unexpected EOF while parsing".to_string(),
                            logical_lines,
                        );
                    }
                    line += 1;
                    at_line_start = true;
                    continued = true;
                }
                None => {
                    return fail(
                        TextRange::empty(i + 1),
                        "unexpected EOF while parsing".to_string(),
                        logical_lines,
                    )
                }
                // CPython points at the character after the `\`.
                Some(_) => {
                    return fail(
                        TextRange::new(i + 1, i + 2),
                        "unexpected character after line continuation character".to_string(),
                        logical_lines,
                    )
                }
            },
            b'"' | b'\'' => match string(b, i, i, &mut line) {
                Ok(end) => i = end,
                Err(e) => return fail(e.range, e.message, logical_lines),
            },
            b'(' | b'[' | b'{' => {
                if brackets.len() >= MAX_LEVEL {
                    return fail(
                        TextRange::new(i, i + 1),
                        "too many nested parentheses".to_string(),
                        logical_lines,
                    );
                }
                brackets.push((c, i, line));
                i += 1;
            }
            b')' | b']' | b'}' => {
                let open = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                let range = TextRange::new(i, i + 1);
                match brackets.pop() {
                    None => {
                        return fail(range, format!("unmatched '{}'", c as char), logical_lines)
                    }
                    Some((o, _, at)) if o != open => {
                        let mut message = format!(
                            "closing parenthesis '{}' does not match opening parenthesis '{}'",
                            c as char, o as char
                        );
                        if at != line {
                            message.push_str(&format!(" on line {at}"));
                        }
                        return fail(range, message, logical_lines);
                    }
                    Some(_) => {}
                }
                i += 1;
            }
            b'0'..=b'9' => match number_end(text, i) {
                Ok(end) => i = end,
                Err(e) => return fail(e.range, e.message, logical_lines),
            },
            b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => match number_end(text, i) {
                Ok(end) => i = end,
                Err(e) => return fail(e.range, e.message, logical_lines),
            },
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                let mut j = i;
                while j < n {
                    let d = b[j];
                    if d == b'_' || d.is_ascii_alphanumeric() {
                        j += 1;
                    } else if d >= 0x80 {
                        let ch = text[j..].chars().next().expect("char boundary");
                        if is_symbol_like(ch) {
                            if j == start {
                                return fail(
                                    TextRange::new(j, j + ch.len_utf8()),
                                    invalid_character(ch),
                                    logical_lines,
                                );
                            }
                            break;
                        }
                        j += ch.len_utf8();
                    } else {
                        break;
                    }
                }
                if matches!(b.get(j), Some(b'"' | b'\'')) && is_string_prefix(&b[start..j]) {
                    match string(b, start, j, &mut line) {
                        Ok(end) => {
                            if b[start..j].iter().any(|c| matches!(c, b'f' | b'F')) {
                                fstrings.push((start, end));
                                if fstring_error.is_none() {
                                    let quotes =
                                        if end - j >= 6 && b[j + 1] == b[j] && b[j + 2] == b[j] {
                                            3
                                        } else {
                                            1
                                        };
                                    if let Some(message) =
                                        fstring_fields(&b[j + quotes..end - quotes])
                                    {
                                        let at = after_string_group(b, end, !brackets.is_empty());
                                        fstring_error = Some((
                                            start,
                                            TokenError {
                                                range: token_range(b, at),
                                                message,
                                            },
                                        ));
                                    }
                                }
                            }
                            i = end;
                        }
                        Err(e) => return fail(e.range, e.message, logical_lines),
                    }
                } else {
                    i = j;
                }
            }
            _ => i += 1,
        }
    }
    Scan {
        error: None,
        unclosed: brackets.last().map(|&(c, pos, _)| (pos, c)),
        outermost_unclosed: brackets.first().map(|&(_, pos, _)| pos),
        logical_lines,
        fstrings,
        fstring_error,
        max_line_tokens: 0,
    }
}

/// Where brackets first nest deeper than CPython's tokenizer allows in `b`, a stretch of whole
/// tokens entered with `depth` brackets already open: the offending opener's offset in `b`.
/// Strings and comments are skipped as the tokenizer reads them (an f-string is one token in
/// 3.11, so the brackets of its replacement fields do not count).
pub(super) fn too_deeply_nested(b: &[u8], mut depth: usize) -> Option<usize> {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'{' => {
                if depth >= MAX_LEVEL {
                    return Some(i);
                }
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'#' => {
                while i < b.len() && !matches!(b[i], b'\n' | b'\r') {
                    i += 1;
                }
            }
            b'"' | b'\'' => i = string(b, i, i, &mut 0).ok()?,
            _ => i += 1,
        }
    }
    None
}

/// CPython 3.11's checks of an f-string's replacement fields made before compiling them
/// (`fstring_find_literal` and `fstring_find_expr`): the first error, if any. `body` is the
/// text between the quotes.
fn fstring_fields(body: &[u8]) -> Option<String> {
    fields(body, 0).err()
}

fn fields(body: &[u8], depth: usize) -> Result<(), String> {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'{' if body.get(i + 1) == Some(&b'{') => i += 2,
            b'}' if body.get(i + 1) == Some(&b'}') => i += 2,
            b'}' => return Err("f-string: single '}' is not allowed".into()),
            b'{' => {
                if depth >= 2 {
                    return Err("f-string: expressions nested too deeply".into());
                }
                i = field(body, i + 1, depth)?;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Checks the replacement field whose expression starts at `i`; returns the byte after it.
fn field(body: &[u8], mut i: usize, depth: usize) -> Result<usize, String> {
    let expecting = || Err("f-string: expecting '}'".to_string());
    let mut quote: Option<(u8, bool)> = None;
    let mut stack: Vec<u8> = Vec::new();
    let start = i;
    while i < body.len() {
        let c = body[i];
        if c == b'\\' {
            return Err("f-string expression part cannot include a backslash".into());
        }
        if let Some((q, triple)) = quote {
            if c == q {
                if !triple {
                    quote = None;
                } else if body.get(i + 1) == Some(&q) && body.get(i + 2) == Some(&q) {
                    quote = None;
                    i += 2;
                }
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => {
                let triple = body.get(i + 1) == Some(&c) && body.get(i + 2) == Some(&c);
                quote = Some((c, triple));
                i += if triple { 3 } else { 1 };
                continue;
            }
            b'(' | b'[' | b'{' => {
                if stack.len() >= MAX_LEVEL {
                    return Err("f-string: too many nested parenthesis".into());
                }
                stack.push(c);
            }
            b'#' => return Err("f-string expression part cannot include '#'".into()),
            b'!' | b':' | b'}' | b'=' | b'>' | b'<' if stack.is_empty() => {
                let next = body.get(i + 1).copied();
                if next == Some(b'=') && matches!(c, b'!' | b'=' | b'>' | b'<') {
                    i += 2;
                    continue;
                }
                if matches!(c, b'>' | b'<') {
                    i += 1;
                    continue;
                }
                break;
            }
            b')' | b']' | b'}' => {
                let Some(open) = stack.pop() else {
                    return Err(format!("f-string: unmatched '{}'", c as char));
                };
                let expected = match open {
                    b'(' => b')',
                    b'[' => b']',
                    _ => b'}',
                };
                if c != expected {
                    return Err(format!(
                        "f-string: closing parenthesis '{}' does not match opening parenthesis '{}'",
                        c as char, open as char
                    ));
                }
            }
            _ => {}
        }
        i += 1;
    }
    if quote.is_some() {
        return Err("f-string: unterminated string".into());
    }
    if let Some(&open) = stack.last() {
        return Err(format!("f-string: unmatched '{}'", open as char));
    }
    if i >= body.len() {
        return expecting();
    }
    if body[start..i].iter().all(u8::is_ascii_whitespace) {
        return Err("f-string: empty expression not allowed".into());
    }
    if body[i] == b'=' {
        i += 1;
    }
    if body.get(i) == Some(&b'!') {
        i += 1;
        let Some(&conversion) = body.get(i) else {
            return expecting();
        };
        if !matches!(conversion, b's' | b'r' | b'a') {
            return Err("f-string: invalid conversion character: expected 's', 'r', or 'a'".into());
        }
        i += 1;
    }
    if body.get(i) == Some(&b':') {
        // The format spec: literal text and nested fields, up to the closing brace.
        i += 1;
        let spec_start = i;
        let mut nesting = 0usize;
        while i < body.len() {
            match body[i] {
                b'{' => nesting += 1,
                b'}' if nesting == 0 => break,
                b'}' => nesting -= 1,
                _ => {}
            }
            i += 1;
        }
        fields(&body[spec_start..i], depth + 1)?;
    }
    if body.get(i) != Some(&b'}') {
        return expecting();
    }
    Ok(i + 1)
}

/// The first token after the string ending at `end` and any strings concatenated to it: the
/// token CPython's parser has read when it checks an f-string's fields.
fn after_string_group(b: &[u8], mut i: usize, in_brackets: bool) -> usize {
    loop {
        while i < b.len() {
            match b[i] {
                b' ' | b'\t' | b'\x0c' => i += 1,
                b'#' => {
                    while i < b.len() && !matches!(b[i], b'\n' | b'\r') {
                        i += 1;
                    }
                }
                b'\\' if matches!(b.get(i + 1), Some(b'\n' | b'\r')) => i += 2,
                b'\n' | b'\r' if in_brackets => i += 1,
                _ => break,
            }
        }
        // Another string literal continues the group.
        let mut j = i;
        while j < b.len() && j - i < 2 && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        if j < b.len() && matches!(b[j], b'"' | b'\'') && is_string_prefix(&b[i..j])
            || (j == i && matches!(b.get(i), Some(b'"' | b'\'')))
        {
            let mut line = 0;
            match string(b, i, j, &mut line) {
                Ok(end) => {
                    i = end;
                    continue;
                }
                Err(_) => return i,
            }
        }
        return i;
    }
}

/// Non-ASCII characters CPython rejects outside strings and comments: punctuation, symbols,
/// spaces (an approximation of "not `XID_Continue`" that errs towards accepting).
fn is_symbol_like(ch: char) -> bool {
    let c = ch as u32;
    !matches!(c, 0xB7 | 0x203F | 0x2040)
        && (ch.is_whitespace()
            || matches!(c,
                0xA0..=0xBF | 0xD7 | 0xF7 | 0x2000..=0x206F | 0x20A0..=0x20CF | 0x2100..=0x2BFF
                | 0x3000..=0x303F | 0xFE30..=0xFE4F | 0xFF01..=0xFF0F | 0xFEFF | 0x1F000..=0x1FAFF
                // Specials, among them U+FFFD, which a lossy read puts for bytes that are
                // not UTF-8.
                | 0xFFF0..=0xFFFF))
}

/// Characters `str.isprintable()` rejects besides whitespace: controls and the format
/// characters (category Cf) CPython names as non-printable.
fn is_non_printable(ch: char) -> bool {
    ch.is_control()
        || matches!(ch as u32,
            0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
            | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB)
}

fn invalid_character(ch: char) -> String {
    if ch.is_whitespace() || is_non_printable(ch) {
        format!("invalid non-printable character U+{:04X}", ch as u32)
    } else {
        format!("invalid character '{ch}' (U+{:04X})", ch as u32)
    }
}

fn is_string_prefix(p: &[u8]) -> bool {
    let lower: Vec<u8> = p.iter().map(u8::to_ascii_lowercase).collect();
    matches!(
        lower.as_slice(),
        b"r" | b"u" | b"b" | b"f" | b"br" | b"rb" | b"fr" | b"rf"
    )
}

/// The end of the number literal starting at `start`, or CPython's error when a name
/// follows it directly (`2nd`); keywords may (`1if x else 2`, with a warning).
fn number_end(text: &str, start: usize) -> Result<usize, TokenError> {
    let b = text.as_bytes();
    let error = |at: usize, message: String| TokenError {
        range: TextRange::new(at, (at + 1).min(b.len())),
        message,
    };
    // A run of digits with single underscores between them; an underscore not followed by a
    // digit is an error there (CPython's `tok_decimal_tail`).
    let run = |mut i: usize, is_digit: fn(u8) -> bool| -> Result<usize, usize> {
        loop {
            while i < b.len() && is_digit(b[i]) {
                i += 1;
            }
            if b.get(i) != Some(&b'_') {
                return Ok(i);
            }
            if !b.get(i + 1).is_some_and(|&d| is_digit(d)) {
                return Err(i);
            }
            i += 1;
        }
    };
    let mut i = start;
    let radix = (b[i] == b'0')
        .then(|| b.get(i + 1).map(u8::to_ascii_lowercase))
        .flatten()
        .filter(|c| matches!(c, b'x' | b'o' | b'b'));
    let kind = match radix {
        Some(c) => {
            let (kind, is_digit): (&str, fn(u8) -> bool) = match c {
                b'x' => ("hexadecimal", |d| d.is_ascii_hexdigit()),
                b'o' => ("octal", |d| (b'0'..=b'7').contains(&d)),
                _ => ("binary", |d| d == b'0' || d == b'1'),
            };
            // A decimal digit out of the radix's range is named; anything else where a
            // digit must be is an invalid literal (CPython points at the character before).
            let invalid_digit = |at: usize| match b.get(at) {
                Some(&d) if d.is_ascii_digit() => error(
                    at,
                    format!("invalid digit '{}' in {kind} literal", d as char),
                ),
                _ => error(at - 1, format!("invalid {kind} literal")),
            };
            let first = if b.get(i + 2) == Some(&b'_') {
                i + 3
            } else {
                i + 2
            };
            if !b.get(first).is_some_and(|&d| is_digit(d)) {
                return Err(invalid_digit(first));
            }
            i = run(first, is_digit).map_err(|underscore| invalid_digit(underscore + 1))?;
            if b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(invalid_digit(i));
            }
            kind
        }
        None => {
            let invalid = |at: usize| error(at, "invalid decimal literal".to_string());
            i = run(i, |d| d.is_ascii_digit()).map_err(invalid)?;
            let integer_end = i;
            let mut integer = true;
            if b.get(i) == Some(&b'.') {
                integer = false;
                i += 1;
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    i = run(i, |d| d.is_ascii_digit()).map_err(invalid)?;
                }
            }
            if matches!(b.get(i), Some(b'e' | b'E')) {
                let mut j = i + 1;
                if matches!(b.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    integer = false;
                    i = run(j, |d| d.is_ascii_digit()).map_err(invalid)?;
                }
            }
            if matches!(b.get(i), Some(b'j' | b'J')) {
                integer = false;
                i += 1;
            }
            let digits = &b[start..integer_end];
            if integer
                && digits.first() == Some(&b'0')
                && digits.iter().any(|d| (b'1'..=b'9').contains(d))
            {
                let zeros = digits
                    .iter()
                    .take_while(|&&d| matches!(d, b'0' | b'_'))
                    .count();
                return Err(TokenError {
                    range: TextRange::new(start, start + zeros),
                    message: "leading zeros in decimal integer literals are not permitted; \
                              use an 0o prefix for octal integers"
                        .to_string(),
                });
            }
            "decimal"
        }
    };
    let name_follows = b.get(i).is_some_and(|&c| {
        c == b'_'
            || c.is_ascii_alphabetic()
            || (c >= 0x80 && text[i..].chars().next().is_some_and(char::is_alphanumeric))
    });
    if !name_follows {
        return Ok(i);
    }
    let rest = &b[i..];
    let keyword = [
        &b"and"[..],
        b"else",
        b"for",
        b"if",
        b"in",
        b"is",
        b"not",
        b"or",
    ]
    .iter()
    .any(|k| rest.starts_with(k));
    if keyword && kind == "decimal" {
        return Ok(i);
    }
    let mut end = i;
    while end < b.len() && (b[end] == b'_' || b[end].is_ascii_alphanumeric()) {
        end += 1;
    }
    Err(TokenError {
        range: TextRange::new(start, end.max(i + 1).min(b.len())),
        message: format!("invalid {kind} literal"),
    })
}

/// The first token at `at` (a logical line's first byte), limited to its line.
fn token_range(b: &[u8], at: usize) -> TextRange {
    let mut end = at;
    while end < b.len()
        && !matches!(b[end], b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
        && (end == at || b[end].is_ascii_alphanumeric() || b[end] == b'_' || b[end] >= 0x80)
    {
        end += 1;
    }
    TextRange::new(at, end.max(at + usize::from(at < b.len())).min(b.len()))
}

/// Scans the string whose prefix starts at `start` and whose quote is at `quote`; returns the
/// byte after it, or the error CPython reports for it.
fn string(b: &[u8], start: usize, quote: usize, line: &mut usize) -> Result<usize, TokenError> {
    let q = b[quote];
    let triple = b.len() >= quote + 3 && b[quote + 1] == q && b[quote + 2] == q;
    let mut i = quote + if triple { 3 } else { 1 };
    let delimiter_end = i;
    loop {
        if i >= b.len() {
            break;
        }
        match b[i] {
            b'\\' => {
                // An escaped line break counts only when a line follows it: CPython's line
                // number moves when the next line is read.
                match b.get(i + 1) {
                    Some(b'\n') => *line += usize::from(i + 2 < b.len()),
                    Some(b'\r') => {
                        if b.get(i + 2) == Some(&b'\n') {
                            i += 1;
                        }
                        *line += usize::from(i + 2 < b.len());
                    }
                    _ => {}
                }
                i += 2;
            }
            c if c == q => {
                if !triple {
                    return Ok(i + 1);
                }
                if b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) {
                    return Ok(i + 3);
                }
                i += 1;
            }
            b'\n' | b'\r' if !triple => break,
            b'\r' => {
                *line += 1;
                i += if b.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
            }
            b'\n' => {
                *line += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    let i = i.min(b.len());
    Err(if triple {
        let newlines = b.iter().filter(|&&c| c == b'\n').count();
        let lines = (newlines + usize::from(b.last().is_some_and(|&c| c != b'\n'))).max(1);
        TokenError {
            range: TextRange::new(start, delimiter_end),
            message: format!(
                "unterminated triple-quoted string literal (detected at line {lines})"
            ),
        }
    } else {
        TokenError {
            range: TextRange::new(start, i),
            message: format!("unterminated string literal (detected at line {line})"),
        }
    })
}
