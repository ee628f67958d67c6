//! Writing Python source text safely: string literals for any text, identifiers from any
//! name, and JSON data as Python literals (a real conversion: `true`/`null` become
//! `True`/`None`, big integers keep every digit, lone surrogate escapes survive).
//!
//! The PlanAI Editor's exporter pasted prompts, descriptions and JSON into templates as they
//! were; everything the importer writes that came from the graph as data goes through here.

use std::collections::HashSet;
use std::fmt::Write;

/// Deeper JSON is refused: the converter recurses once per level.
const MAX_JSON_DEPTH: usize = 200;

/// Python's hard keywords: never usable as identifiers (soft keywords such as `match` are).
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

pub fn is_keyword(name: &str) -> bool {
    PYTHON_KEYWORDS.contains(&name)
}

/// Whether `name` is an identifier the generated code may use as written (ASCII only: the
/// importer never relies on NFKC normalisation of Unicode identifiers).
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !is_keyword(name)
}

/// Whether `path` is a dotted module path (`a.b.c`, each part an identifier).
pub fn is_dotted_name(path: &str) -> bool {
    !path.is_empty() && path.split('.').all(is_identifier)
}

/// The nearest identifier to `raw`: invalid characters become `_`, a leading digit gets a
/// `_` in front, a keyword gets a `_` after it; an empty result becomes `fallback`.
pub fn sanitize_identifier(raw: &str, fallback: &str) -> String {
    let mut out: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c == '_' || c.is_ascii_alphanumeric() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.chars().all(|c| c == '_') {
        out = fallback.to_string();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if is_keyword(&out) {
        out.push('_');
    }
    out
}

/// `CamelCase` or `Some Name` as `snake_case`.
pub fn snake_case(raw: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in raw.chars() {
        if c.is_ascii_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            previous_lower = true;
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Hands out module-level names that are unique and valid: a taken name gets `_2`, `_3` ...
#[derive(Debug, Default)]
pub struct Namer {
    taken: HashSet<String>,
}

impl Namer {
    /// A namer that never hands out `reserved` (names the generated code itself uses).
    pub fn with_reserved(reserved: &[&str]) -> Namer {
        Namer {
            taken: reserved.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A fresh identifier close to `raw`.
    pub fn fresh(&mut self, raw: &str, fallback: &str) -> String {
        let base = sanitize_identifier(raw, fallback);
        let mut candidate = base.clone();
        let mut n = 2;
        while self.taken.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

/// Writes `c` escaped the way both literal forms need it; `None` when it may stand as is.
fn escape_char(c: char, out: &mut String) -> bool {
    match c {
        '\\' => out.push_str("\\\\"),
        '"' => out.push_str("\\\""),
        '\r' => out.push_str("\\r"),
        '\0' => out.push_str("\\x00"),
        c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        // Invisible or line-breaking in editors, though Python accepts them in strings.
        '\u{2028}'
        | '\u{2029}'
        | '\u{feff}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        _ => return false,
    }
    true
}

/// A one-line Python string literal with the value `value`: `"..."` with escapes.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => {
                if !escape_char(c, &mut out) {
                    out.push(c)
                }
            }
        }
    }
    out.push('"');
    out
}

/// A Python string literal for a long text (a prompt): `"""..."""` keeping its lines readable
/// when it has several, else [`string_literal`]. Quotes and backslashes are escaped, so a
/// text containing `"""`, ending in `"` or holding `\n` as two characters survives.
pub fn text_literal(value: &str) -> String {
    if !value.contains('\n') {
        return string_literal(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    out.push_str("\"\"\"");
    for c in value.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c => {
                if !escape_char(c, &mut out) {
                    out.push(c)
                }
            }
        }
    }
    out.push_str("\"\"\"");
    out
}

/// Converts JSON text to the Python literal with the same value: objects become dicts,
/// arrays lists, `true`/`false`/`null` `True`/`False`/`None`, numbers keep their digits
/// (Python's `int` has no limit), strings are re-escaped (a lone surrogate `\ud800` too).
pub fn json_to_python(json: &str) -> Result<String, String> {
    let mut parser = JsonToPython {
        bytes: json.as_bytes(),
        text: json,
        at: 0,
        out: String::with_capacity(json.len() + 16),
    };
    parser.skip_ws();
    parser.value(0)?;
    parser.skip_ws();
    if parser.at != parser.bytes.len() {
        return Err(parser.error("unexpected text after the JSON value"));
    }
    Ok(parser.out)
}

struct JsonToPython<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    out: String,
}

impl JsonToPython<'_> {
    fn error(&self, what: &str) -> String {
        let line = self.text[..self.at.min(self.text.len())]
            .matches('\n')
            .count()
            + 1;
        format!("invalid JSON at line {line} (byte {}): {what}", self.at)
    }

    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &str, python: &str) -> Result<(), String> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            self.out.push_str(python);
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_JSON_DEPTH {
            return Err(self.error("nested deeper than 200 levels"));
        }
        match self.bytes.get(self.at) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string(),
            Some(b't') => self.literal("true", "True"),
            Some(b'f') => self.literal("false", "False"),
            Some(b'n') => self.literal("null", "None"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of the JSON text")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<(), String> {
        self.at += 1;
        self.out.push('{');
        self.skip_ws();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            self.out.push('}');
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.at) != Some(&b'"') {
                return Err(self.error("expected a string key"));
            }
            self.string()?;
            self.skip_ws();
            if self.bytes.get(self.at) != Some(&b':') {
                return Err(self.error("expected ':'"));
            }
            self.at += 1;
            self.out.push_str(": ");
            self.skip_ws();
            self.value(depth + 1)?;
            self.skip_ws();
            match self.bytes.get(self.at) {
                Some(b',') => {
                    self.at += 1;
                    self.out.push_str(", ");
                }
                Some(b'}') => {
                    self.at += 1;
                    self.out.push('}');
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), String> {
        self.at += 1;
        self.out.push('[');
        self.skip_ws();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            self.out.push(']');
            return Ok(());
        }
        loop {
            self.skip_ws();
            self.value(depth + 1)?;
            self.skip_ws();
            match self.bytes.get(self.at) {
                Some(b',') => {
                    self.at += 1;
                    self.out.push_str(", ");
                }
                Some(b']') => {
                    self.at += 1;
                    self.out.push(']');
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<(), String> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let from = p.at;
            while matches!(p.bytes.get(p.at), Some(b'0'..=b'9')) {
                p.at += 1;
            }
            p.at > from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let int_start = self.at;
        if !digits(self) {
            return Err(self.error("expected digits"));
        }
        // JSON forbids leading zeros, and Python rejects `01` as an int literal.
        if self.bytes[int_start] == b'0' && self.at - int_start > 1 {
            return Err(self.error("leading zeros are not JSON"));
        }
        let mut is_float = false;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            is_float = true;
            if !digits(self) {
                return Err(self.error("expected digits after '.'"));
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            is_float = true;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return Err(self.error("expected digits in the exponent"));
            }
        }
        let _ = is_float;
        // A JSON number is a valid Python literal as written (`-0`, `1e400` and `1.5E-3` too;
        // Python turns an out-of-range float into inf, as JavaScript does).
        self.out.push_str(&self.text[start..self.at]);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("expected four hex digits after \\u"))?;
        self.at += 4;
        Ok(u32::from_str_radix(digits, 16).unwrap_or(0))
    }

    fn string(&mut self) -> Result<(), String> {
        self.at += 1;
        self.out.push('"');
        loop {
            let Some(&b) = self.bytes.get(self.at) else {
                return Err(self.error("unterminated string"));
            };
            match b {
                b'"' => {
                    self.at += 1;
                    self.out.push('"');
                    return Ok(());
                }
                b'\\' => {
                    self.at += 1;
                    let escape = self
                        .bytes
                        .get(self.at)
                        .copied()
                        .ok_or_else(|| self.error("unterminated escape"))?;
                    self.at += 1;
                    let decoded = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let unit = self.hex4()?;
                            let paired = if (0xd800..0xdc00).contains(&unit)
                                && self.text[self.at..].starts_with("\\u")
                            {
                                let save = self.at;
                                self.at += 2;
                                let low = self.hex4()?;
                                if (0xdc00..0xe000).contains(&low) {
                                    char::from_u32(
                                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00),
                                    )
                                } else {
                                    self.at = save;
                                    None
                                }
                            } else {
                                char::from_u32(unit)
                            };
                            match paired {
                                Some(c) => c,
                                None => {
                                    // A lone surrogate: valid in a Python str, not in Rust's.
                                    let _ = write!(self.out, "\\u{unit:04x}");
                                    continue;
                                }
                            }
                        }
                        _ => return Err(self.error("invalid escape")),
                    };
                    self.push_string_char(decoded);
                }
                0x00..=0x1f => return Err(self.error("control character in a string")),
                _ => {
                    let c = self.text[self.at..].chars().next().unwrap_or('\u{fffd}');
                    self.at += c.len_utf8();
                    self.push_string_char(c);
                }
            }
        }
    }

    fn push_string_char(&mut self, c: char) {
        match c {
            '\n' => self.out.push_str("\\n"),
            '\t' => self.out.push_str("\\t"),
            c => {
                if !escape_char(c, &mut self.out) {
                    self.out.push(c)
                }
            }
        }
    }
}

/// Removes the common leading whitespace of the non-blank lines (Python's `textwrap.dedent`
/// for spaces and tabs) and trailing blank lines.
pub fn dedent(code: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                ""
            } else {
                &l[indent..]
            }
        })
        .collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    while out.first().is_some_and(|l| l.is_empty()) {
        out.remove(0);
    }
    out.join("\n")
}

/// `code` with every non-blank line indented by `spaces`.
pub fn indent(code: &str, spaces: usize) -> String {
    let pad = " ".repeat(spaces);
    code.lines()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_sanitised_for_keywords_digits_and_invalid_characters() {
        assert_eq!(sanitize_identifier("class", "x"), "class_");
        assert_eq!(sanitize_identifier("1st task", "x"), "_1st_task");
        assert_eq!(sanitize_identifier("my-worker.v2", "x"), "my_worker_v2");
        assert_eq!(sanitize_identifier("  ", "fallback"), "fallback");
        assert_eq!(sanitize_identifier("Ärger", "x"), "_rger");
        let mut namer = Namer::with_reserved(&["Graph"]);
        assert_eq!(namer.fresh("Graph", "x"), "Graph_2");
        assert_eq!(namer.fresh("A", "x"), "A");
        assert_eq!(namer.fresh("A", "x"), "A_2");
        assert_eq!(namer.fresh("A", "x"), "A_3");
    }

    #[test]
    fn string_literals_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(string_literal(r#"a "b" \n"#), r#""a \"b\" \\n""#);
        assert_eq!(
            string_literal("x\ny\r\u{0}\u{2028}"),
            r#""x\ny\r\x00\u2028""#
        );
        assert_eq!(
            text_literal("one\n\"\"\"two\"\n"),
            "\"\"\"one\n\\\"\\\"\\\"two\\\"\n\"\"\""
        );
        assert_eq!(
            string_literal("{task.name} ünï 😀"),
            "\"{task.name} ünï 😀\""
        );
    }

    #[test]
    fn json_becomes_the_python_literal_with_the_same_value() {
        assert_eq!(
            json_to_python(r#"{"a": true, "b": [false, null, 1.5e3, -0], "c": {}}"#).unwrap(),
            r#"{"a": True, "b": [False, None, 1.5e3, -0], "c": {}}"#
        );
        assert_eq!(
            json_to_python("123456789012345678901234567890").unwrap(),
            "123456789012345678901234567890"
        );
        assert_eq!(
            json_to_python(r#""\ud83d\ude00 \ud800 \u00e9 \" \\ \/ \n""#).unwrap(),
            r#""😀 \ud800 é \" \\ / \n""#
        );
        assert!(json_to_python("{\"a\": 01}").is_err());
        assert!(json_to_python("[1, 2").is_err());
        assert!(json_to_python("true false").is_err());
        assert!(json_to_python(&"[".repeat(500))
            .unwrap_err()
            .contains("deeper"));
    }

    #[test]
    fn dedent_and_indent_keep_relative_indentation() {
        assert_eq!(dedent("    a\n      b\n\n    c\n\n"), "a\n  b\n\nc");
        assert_eq!(indent("a\n\n  b", 4), "    a\n\n      b");
        assert_eq!(snake_case("TaskWorker1"), "task_worker1");
        assert_eq!(snake_case("My LLM config"), "my_llm_config");
    }
}
