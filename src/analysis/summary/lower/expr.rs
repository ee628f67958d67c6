//! Lowering expressions: calls, attributes, subscripts, operators, type expressions,
//! string values and the `repr()` of literals.

use crate::syntax::fields::{Field, FieldChildren};
use tree_sitter::Node;

use super::*;

impl Builder<'_, '_> {
    pub(super) fn string_value(&self, n: Node) -> Option<String> {
        match n.kind() {
            "concatenated_string" => {
                let mut s = String::new();
                for c in named_children(n) {
                    s.push_str(&self.string_value(c)?);
                }
                Some(s)
            }
            "string" => {
                let mut prefix = String::new();
                let mut content = String::new();
                for c in named_children(n) {
                    match c.kind() {
                        "string_start" => prefix = self.text(c).to_ascii_lowercase(),
                        "string_content" => content.push_str(self.text(c)),
                        "escape_sequence" => content.push_str(self.text(c)),
                        "interpolation" => return None,
                        "string_end" => {}
                        _ => return None,
                    }
                }
                let letters: String = prefix.chars().filter(|c| c.is_ascii_alphabetic()).collect();
                if letters.contains('f') || letters.contains('b') || letters.contains('t') {
                    return None;
                }
                if letters.contains('r') {
                    return Some(content);
                }
                unescape(&content)
            }
            _ => None,
        }
    }

    pub(super) fn expr(&mut self, n: Node, depth: usize) -> Expr {
        let range = range_of(n);
        if depth > MAX_EXPR_DEPTH {
            return Expr::Other {
                range,
                children: Vec::new(),
            };
        }
        let d = depth + 1;
        let literal = match n.kind() {
            "float" | "ellipsis" | "dictionary" => true,
            // Imaginary literals (`2j`) are integers to tree-sitter.
            "integer" => self.text(n).ends_with(['j', 'J']),
            // `-1.5` (negative integers are `Expr::Int`).
            "unary_operator" => {
                n.field(Field::Operator)
                    .is_some_and(|o| self.text(o) == "-")
                    && n.field(Field::Argument)
                        .is_some_and(|a| a.kind() == "float")
            }
            // Bytes; other strings are `Expr::Str`.
            "string" => self
                .text(n)
                .bytes()
                .take_while(u8::is_ascii_alphabetic)
                .any(|c| c == b'b' || c == b'B'),
            _ => false,
        };
        if literal {
            // Long reprs (big dict literals) are not worth their memory.
            if let Some(repr) = self
                .literal_repr(n, d)
                .filter(|r| r.len() <= MAX_LITERAL_REPR)
            {
                return Expr::Literal {
                    repr: Name::from(repr),
                    range,
                };
            }
        }
        match n.kind() {
            "identifier" => Expr::Name {
                id: Name::from(self.text(n)),
                range,
            },
            "attribute" => self.attribute_expr(n, d, range),
            "call" => self.call_expr(n, d, range),
            "string" | "concatenated_string" => match self.string_value(n) {
                Some(value) => Expr::Str {
                    value: Name::from(value),
                    range,
                },
                None => Expr::Other {
                    range,
                    children: self.other_children(n, d),
                },
            },
            "integer" => match parse_int(self.text(n)) {
                Some(value) => Expr::Int { value, range },
                None => Expr::Other {
                    range,
                    children: Vec::new(),
                },
            },
            "unary_operator" => self.unary_operator_expr(n, d, range),
            "none" => Expr::NoneLit { range },
            "true" => Expr::Bool { value: true, range },
            "false" => Expr::Bool {
                value: false,
                range,
            },
            "list" => Expr::List {
                elts: self.children_exprs(n, d),
                range,
            },
            "tuple" | "expression_list" | "pattern_list" => Expr::Tuple {
                elts: self.children_exprs(n, d),
                range,
            },
            "parenthesized_expression" => match named_children(n).first() {
                Some(inner) => self.expr(*inner, d),
                None => Expr::Other {
                    range,
                    children: Vec::new(),
                },
            },
            "subscript" => self.subscript_expr(n, d, range),
            "binary_operator" => self.binary_operator_expr(n, d, range),
            "list_comprehension" | "generator_expression" => match n.field(Field::Body) {
                Some(b) => Expr::Comprehension {
                    elt: Box::new(self.expr(b, d)),
                    range,
                },
                None => Expr::Other {
                    range,
                    children: Vec::new(),
                },
            },
            "list_splat" => Expr::Starred {
                value: Box::new(match named_children(n).first() {
                    Some(c) => self.expr(*c, d),
                    None => Expr::Other {
                        range,
                        children: Vec::new(),
                    },
                }),
                range,
            },
            "lambda" => Expr::Lambda { range },
            // Annotation-only node kinds of tree-sitter-python (`Optional[X]`, `A | B`, `m.X`).
            "type" => match named_children(n).first() {
                Some(inner) => self.expr(*inner, d),
                None => Expr::Other {
                    range,
                    children: Vec::new(),
                },
            },
            "generic_type" => self.generic_type_expr(n, d, range),
            "union_type" => self.union_type_expr(n, d, range),
            "member_type" => self.member_type_expr(n, d, range),
            _ => Expr::Other {
                range,
                children: self.other_children(n, d),
            },
        }
    }

    /// `call` (see `expr`).
    fn call_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
        let func = match n.field(Field::Function) {
            Some(f) => self.expr(f, d),
            None => Expr::Other {
                range,
                children: Vec::new(),
            },
        };
        let mut args = Vec::new();
        let mut keywords = Vec::new();
        if let Some(a) = n.field(Field::Arguments) {
            if a.kind() == "generator_expression" {
                args.push(self.expr(a, d));
            } else {
                for c in named_children(a) {
                    match c.kind() {
                        "keyword_argument" => {
                            let name = c.field(Field::Name);
                            let value = c.field(Field::Value);
                            if let (Some(nm), Some(v)) = (name, value) {
                                keywords.push(Keyword {
                                    name: Some(Name::from(self.text(nm))),
                                    name_range: range_of(nm),
                                    value: self.expr(v, d),
                                });
                            }
                        }
                        "dictionary_splat" => {
                            let inner = named_children(c).first().map(|x| self.expr(*x, d));
                            keywords.push(Keyword {
                                name: None,
                                name_range: range_of(c),
                                value: inner.unwrap_or(Expr::Other {
                                    range: range_of(c),
                                    children: Vec::new(),
                                }),
                            });
                        }
                        "list_splat" => {
                            let inner = named_children(c).first().map(|x| self.expr(*x, d));
                            args.push(Expr::Starred {
                                value: Box::new(inner.unwrap_or(Expr::Other {
                                    range: range_of(c),
                                    children: Vec::new(),
                                })),
                                range: range_of(c),
                            });
                        }
                        _ => args.push(self.expr(c, d)),
                    }
                }
            }
        }
        Expr::Call(Box::new(CallExpr {
            func,
            args: args.into_boxed_slice(),
            keywords: keywords.into_boxed_slice(),
            range,
        }))
    }

    /// `unary_operator` (see `expr`).
    fn unary_operator_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
        let op = n.field(Field::Operator).map(|o| self.text(o));
        let arg = n.field(Field::Argument);
        // The operand is lowered once: lowering it again for `Other`'s children would
        // double the work at every level, exponential in a chain like `- - - - x`.
        let Some(a) = arg else {
            return Expr::Other {
                range,
                children: Vec::new(),
            };
        };
        match (op, self.expr(a, d)) {
            (Some("-"), Expr::Int { value, .. }) => Expr::Int {
                value: -value,
                range,
            },
            (_, operand) => Expr::Other {
                range,
                children: keep_other_children(vec![operand]),
            },
        }
    }

    /// `attribute` (see `expr`).
    fn attribute_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
        let obj = n.field(Field::Object);
        let attr = n.field(Field::Attribute);
        match (obj, attr) {
            (Some(o), Some(a)) => Expr::Attribute {
                value: Box::new(self.expr(o, d)),
                attr: Name::from(self.text(a)),
                range,
            },
            _ => Expr::Other {
                range,
                children: Vec::new(),
            },
        }
    }

    /// `subscript` (see `expr`).
    fn subscript_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
        let value = n.field(Field::Value);
        let mut index = Vec::new();
        let mut c = n.walk();
        for s in n.fields(Field::Subscript, &mut c) {
            index.push(self.expr(s, d));
        }
        match value {
            Some(v) => Expr::Subscript {
                value: Box::new(self.expr(v, d)),
                index: tight(index),
                range,
            },
            None => Expr::Other {
                range,
                children: index,
            },
        }
    }

    /// `binary_operator` (see `expr`).
    fn binary_operator_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
        let op = n.field(Field::Operator).map(|o| self.text(o));
        let (l, r) = (n.field(Field::Left), n.field(Field::Right));
        match (op, l, r) {
            (Some("|"), Some(l), Some(r)) => Expr::BitOr {
                left: Box::new(self.expr(l, d)),
                right: Box::new(self.expr(r, d)),
                range,
            },
            _ => Expr::Other {
                range,
                children: self.other_children(n, d),
            },
        }
    }

    /// `generic_type` (see `expr`).
    fn generic_type_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
        let kids = named_children(n);
        let base = kids.iter().find(|k| k.kind() != "type_parameter");
        let params = kids.iter().find(|k| k.kind() == "type_parameter");
        match base {
            Some(b) => Expr::Subscript {
                value: Box::new(self.expr(*b, d)),
                index: params
                    .map(|p| self.children_exprs(*p, d))
                    .unwrap_or_default(),
                range,
            },
            None => Expr::Other {
                range,
                children: Vec::new(),
            },
        }
    }

    /// `union_type` (see `expr`).
    fn union_type_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
        let kids = named_children(n);
        match (kids.first(), kids.get(1)) {
            (Some(l), Some(r)) => Expr::BitOr {
                left: Box::new(self.expr(*l, d)),
                right: Box::new(self.expr(*r, d)),
                range,
            },
            _ => Expr::Other {
                range,
                children: Vec::new(),
            },
        }
    }

    /// `member_type` (see `expr`).
    fn member_type_expr(&mut self, n: Node, d: usize, range: TextRange) -> Expr {
        let kids = named_children(n);
        match (kids.first(), kids.last()) {
            (Some(o), Some(a)) if kids.len() == 2 && a.kind() == "identifier" => Expr::Attribute {
                value: Box::new(self.expr(*o, d)),
                attr: Name::from(self.text(*a)),
                range,
            },
            _ => Expr::Other {
                range,
                children: Vec::new(),
            },
        }
    }

    /// Python's `repr()` of a literal, when it is certain: numbers, simple strings and bytes
    /// (printable ASCII without quotes or backslashes), `True`/`False`/`None`, `...`, and
    /// lists, tuples and dicts of those. Sets are left out (their order depends on hashing).
    pub(super) fn literal_repr(&self, n: Node, depth: usize) -> Option<String> {
        if depth > MAX_EXPR_DEPTH {
            return None;
        }
        let d = depth + 1;
        let simple = |s: &str| {
            s.chars()
                .all(|c| (' '..='~').contains(&c) && c != '\'' && c != '\\')
        };
        match n.kind() {
            "integer" if !self.text(n).ends_with(['j', 'J']) => {
                parse_int(self.text(n)).map(|v| v.to_string())
            }
            "float" | "integer" => {
                let t = self.text(n).replace('_', "");
                match t.strip_suffix(['j', 'J']) {
                    Some(imag) => {
                        let r = py_float_repr(imag.parse().ok()?);
                        Some(format!("{}j", r.strip_suffix(".0").unwrap_or(&r)))
                    }
                    None => Some(py_float_repr(t.parse().ok()?)),
                }
            }
            "unary_operator" => {
                let arg = n.field(Field::Argument)?;
                let op = n.field(Field::Operator)?;
                if self.text(op) != "-" || arg.kind() != "float" {
                    return None;
                }
                let repr = self.literal_repr(arg, d)?;
                Some(match repr.strip_prefix('-') {
                    Some(positive) => positive.to_string(),
                    None => format!("-{repr}"),
                })
            }
            "true" => Some("True".into()),
            "false" => Some("False".into()),
            "none" => Some("None".into()),
            "ellipsis" => Some("Ellipsis".into()),
            "string" => {
                let prefix = named_children(n)
                    .first()
                    .filter(|c| c.kind() == "string_start")
                    .map(|c| self.text(*c).to_ascii_lowercase())?;
                let letters: String = prefix.chars().filter(|c| c.is_ascii_alphabetic()).collect();
                let content: String = named_children(n)
                    .iter()
                    .filter(|c| c.kind() != "string_start" && c.kind() != "string_end")
                    .map(|c| (c.kind() == "string_content").then(|| self.text(*c)))
                    .collect::<Option<String>>()?;
                if content.len() > MAX_LITERAL_REPR
                    || !simple(&content)
                    || letters.contains('f')
                    || letters.contains('t')
                {
                    return None;
                }
                if letters.contains('b') {
                    Some(format!("b'{content}'"))
                } else {
                    Some(format!("'{content}'"))
                }
            }
            "list" | "tuple" => {
                let mut items = Vec::new();
                let mut len = 0;
                for c in named_children(n) {
                    let item = self.literal_repr(c, d)?;
                    len += item.len() + 2;
                    if len > MAX_LITERAL_REPR {
                        return None;
                    }
                    items.push(item);
                }
                Some(match (n.kind(), items.len()) {
                    ("list", _) => format!("[{}]", items.join(", ")),
                    (_, 1) => format!("({},)", items[0]),
                    _ => format!("({})", items.join(", ")),
                })
            }
            "dictionary" => {
                let mut items = Vec::new();
                let mut len = 0;
                for pair in named_children(n) {
                    if pair.kind() != "pair" {
                        return None;
                    }
                    let k = self.literal_repr(pair.field(Field::Key)?, d)?;
                    let v = self.literal_repr(pair.field(Field::Value)?, d)?;
                    len += k.len() + v.len() + 4;
                    if len > MAX_LITERAL_REPR {
                        return None;
                    }
                    // A repeated key keeps the first position and the last value.
                    match items.iter_mut().find(|(key, _)| *key == k) {
                        Some(item) => item.1 = v,
                        None => items.push((k, v)),
                    }
                }
                let items: Vec<String> = items
                    .into_iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                Some(format!("{{{}}}", items.join(", ")))
            }
            _ => None,
        }
    }

    /// The children kept in `Expr::Other`: only what can hold a call or a name. Literals and
    /// childless `Other`s (string delimiters, operators' literal operands) are never read
    /// there, by the checks or by `for_each_call`, so they are not stored.
    pub(super) fn other_children(&mut self, n: Node, depth: usize) -> Vec<Expr> {
        keep_other_children(self.children_exprs(n, depth))
    }

    pub(super) fn children_exprs(&mut self, n: Node, depth: usize) -> Vec<Expr> {
        named_children(n)
            .into_iter()
            .map(|c| self.expr(c, depth))
            .collect()
    }
}

/// The children kept in `Expr::Other` (see [`Builder::other_children`]).
pub(super) fn keep_other_children(mut children: Vec<Expr>) -> Vec<Expr> {
    children.retain(|e| {
        !matches!(
            e,
            Expr::Str { .. }
                | Expr::Int { .. }
                | Expr::NoneLit { .. }
                | Expr::Bool { .. }
                | Expr::Lambda { .. }
                | Expr::Literal { .. }
        ) && !matches!(e, Expr::Other { children, .. } if children.is_empty())
    });
    tight(children)
}

/// Python's `repr()` of a float.
pub(super) fn py_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = v.abs();
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
}

pub(super) fn parse_int(t: &str) -> Option<i64> {
    let t = t.replace('_', "");
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    t.parse().ok()
}

/// Resolves the escapes of a non-raw string literal. `None` when an escape could produce or
/// hide a brace (`\N{...}`), so format-string checks stay silent.
pub(super) fn unescape(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return Some(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some('\n') => {}
            Some('N') | Some('x') | Some('u') | Some('U') | Some('0'..='7') => return None,
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Some(out)
}
