//! Where completion can help: the syntactic context around the cursor.

use crate::diagnostics::TextRange;
use crate::syntax::fields::{Field, FieldChildren};

/// The cursor is in the `model_name=` argument of an `llm_from_config(...)` call.
#[derive(Debug, PartialEq, Eq)]
pub struct ModelNameContext {
    /// The `provider=` string of the same call; `None` means llm_from_config's default
    /// ("ollama").
    pub provider: Option<String>,
    /// What a chosen model replaces: the string's contents, or an empty range at the cursor.
    pub replace: TextRange,
    /// Whether the cursor is inside a string literal (otherwise quotes must be inserted).
    pub in_string: bool,
}

/// The string literal's contents (without prefix and quotes), when `node` is a plain string.
fn string_contents(node: tree_sitter::Node<'_>, text: &str) -> Option<(String, TextRange)> {
    if node.kind() != "string" {
        return None;
    }
    let mut cursor = node.walk();
    let content = node
        .children(&mut cursor)
        .find(|child| child.kind() == "string_content");
    match content {
        Some(content) => Some((
            text.get(content.start_byte()..content.end_byte())?
                .to_string(),
            TextRange::new(content.start_byte(), content.end_byte()),
        )),
        None => {
            // An empty string: the range between the quotes.
            let start = node.child(0)?.end_byte();
            let last = u32::try_from(node.child_count().checked_sub(1)?).ok()?;
            let end = node.child(last)?.start_byte();
            Some((String::new(), TextRange::new(start, end.max(start))))
        }
    }
}

/// Finds the `model_name=` context at byte `offset`, if any. While the user is typing, the
/// call is often not valid Python yet (`model_name=` with no value), so a textual reading of
/// the current call backs up the syntax tree.
pub fn model_name_context(
    tree: &tree_sitter::Tree,
    text: &str,
    offset: usize,
) -> Option<ModelNameContext> {
    from_tree(tree, text, offset).or_else(|| from_text(text, offset))
}

/// The value of `name="..."` in `call_text`, if it is a string literal.
fn string_keyword(call_text: &str, name: &str) -> Option<String> {
    let at = call_text.find(name)?;
    let value = call_text[at + name.len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &value[1..];
    Some(body[..body.find(quote)?].to_string())
}

/// `llm_from_config(... model_name=` or `model_name="abc` right before the cursor.
fn from_text(text: &str, offset: usize) -> Option<ModelNameContext> {
    let before = text.get(..offset)?;
    let call_start = before.rfind("llm_from_config(")?;
    let inside = &before[call_start + "llm_from_config(".len()..];
    if inside.contains(')') {
        return None;
    }
    let key = inside.rfind("model_name")?;
    let value = inside[key + "model_name".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let (in_string, typed) = match value.chars().next() {
        None => (false, ""),
        Some(quote @ ('"' | '\'')) if !value[1..].contains(quote) => (true, &value[1..]),
        Some(_) => return None,
    };
    if typed.contains([',', ' ']) {
        return None;
    }
    let rest = &text[call_start..];
    let call_text = &rest[..rest.find(')').unwrap_or(rest.len())];
    Some(ModelNameContext {
        provider: string_keyword(call_text, "provider"),
        replace: TextRange::new(offset - typed.len(), offset),
        in_string,
    })
}

fn from_tree(tree: &tree_sitter::Tree, text: &str, offset: usize) -> Option<ModelNameContext> {
    let root = tree.root_node();
    // The cursor sits just after what was typed: look at the character before it too.
    let probe = offset.saturating_sub(1).min(text.len());
    let mut node = root.descendant_for_byte_range(probe, offset.min(text.len()))?;
    let keyword = loop {
        if node.kind() == "keyword_argument" {
            break node;
        }
        if node.kind() == "call" || node.kind() == "module" {
            return None;
        }
        node = node.parent()?;
    };
    let name = keyword.field(Field::Name)?;
    if text.get(name.start_byte()..name.end_byte())? != "model_name" || offset < name.end_byte() {
        return None;
    }
    let arguments = keyword.parent()?;
    let call = arguments.parent()?;
    let function = call.field(Field::Function)?;
    let callee = text.get(function.start_byte()..function.end_byte())?;
    if callee != "llm_from_config" && !callee.ends_with(".llm_from_config") {
        return None;
    }
    let mut provider = None;
    let mut cursor = arguments.walk();
    for argument in arguments.children(&mut cursor) {
        if argument.kind() != "keyword_argument" {
            continue;
        }
        let key = argument.field(Field::Name)?;
        if text.get(key.start_byte()..key.end_byte()) == Some("provider") {
            provider = argument
                .field(Field::Value)
                .and_then(|value| string_contents(value, text))
                .map(|(value, _)| value);
        }
    }
    let value = keyword.field(Field::Value);
    match value.and_then(|value| string_contents(value, text).map(|found| (value, found))) {
        Some((value, (_, range))) if value.start_byte() < offset && offset < value.end_byte() => {
            Some(ModelNameContext {
                provider,
                replace: range,
                in_string: true,
            })
        }
        _ => Some(ModelNameContext {
            provider,
            replace: TextRange::empty(offset),
            in_string: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context_at_marker(source: &str) -> Option<ModelNameContext> {
        let offset = source.find('|').expect("a | marks the cursor");
        let text = source.replacen('|', "", 1);
        let tree = crate::syntax::parse(&text).unwrap();
        model_name_context(&tree, &text, offset)
    }

    #[test]
    fn inside_the_model_name_string_with_a_provider() {
        let context =
            context_at_marker("llm = llm_from_config(provider=\"openai\", model_name=\"gpt|\")\n")
                .unwrap();
        assert_eq!(context.provider.as_deref(), Some("openai"));
        assert!(context.in_string);
        assert_eq!(context.replace.len(), "gpt".len());
    }

    #[test]
    fn right_after_the_equals_sign_without_a_provider() {
        let context = context_at_marker("llm = planai.llm_from_config(model_name=|)\n").unwrap();
        assert_eq!(context.provider, None);
        assert!(!context.in_string);
    }

    #[test]
    fn empty_string_and_other_calls() {
        let context =
            context_at_marker("x = llm_from_config(model_name=\"|\", provider='ollama')\n")
                .unwrap();
        assert!(context.in_string);
        assert!(context.replace.is_empty());
        assert_eq!(context.provider.as_deref(), Some("ollama"));
        assert_eq!(context_at_marker("x = other(model_name=\"a|\")\n"), None);
        assert_eq!(
            context_at_marker("x = llm_from_config(provider=\"o|\")\n"),
            None
        );
    }
}
