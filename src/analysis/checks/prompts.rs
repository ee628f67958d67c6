//! Prompt formatting: RT11 (`ChatTaskWorker.system_prompt` is formatted with only `date`) and
//! RT12 (a user `format_prompt` calling `self.<prompt>.format(...)` without filling every
//! placeholder). PlanAI never formats `prompt` itself, so no other placeholder rule exists.

use std::path::Path;
use std::sync::Arc;

use super::super::consumed::{self, FieldValue};
use super::super::resolve::{ClassRef, Ctx, Symbol};
use super::super::summary::{walk_exprs, CallExpr, Expr};
use super::{error, related};
use crate::diagnostics::{Code, Diagnostic, TextRange};

/// A replacement field of a `str.format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatField {
    /// `{name...}`: needs keyword `name`.
    Named(String),
    /// `{0}` or `{}`: needs that many positional arguments.
    Positional(usize),
}

/// Parses a `str.format` template into its fields, or the `ValueError` message Python raises.
pub fn parse_format_fields(s: &str) -> Result<Vec<FormatField>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut auto = 0usize;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => i += 2,
            '}' if chars.get(i + 1) == Some(&'}') => i += 2,
            '}' => return Err("Single '}' encountered in format string".into()),
            '{' => {
                let mut depth = 1;
                let mut j = i + 1;
                while j < chars.len() {
                    match chars[j] {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return Err("expected '}' before end of string".into());
                }
                let inner: String = chars[i + 1..j].iter().collect();
                let name_end = inner.find(['!', ':']).unwrap_or(inner.len());
                let field = &inner[..name_end];
                let root_end = field.find(['.', '[']).unwrap_or(field.len());
                let root = &field[..root_end];
                if root.is_empty() {
                    out.push(FormatField::Positional(auto));
                    auto += 1;
                } else if let Ok(n) = root.parse::<usize>() {
                    out.push(FormatField::Positional(n));
                } else {
                    out.push(FormatField::Named(root.to_string()));
                }
                // Nested fields in the format spec (`{x:{width}}`).
                if name_end < inner.len() {
                    let spec = &inner[name_end..];
                    if spec.contains('{') {
                        for f in parse_format_fields(spec.trim_start_matches(['!', ':']))? {
                            out.push(f);
                        }
                    }
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    Ok(out)
}

pub fn check(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    unit: crate::analysis::incremental::Unit,
    model: Option<&super::ModelClass>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(summary) = ctx.summary(path) else {
        return;
    };
    // RT11 on class bodies.
    let workers = model.filter(|m| m.is_worker).into_iter();
    for (class, cref) in workers.map(|m| (m.summary, m.cref.clone())) {
        if ctx.derives_from_builtin(&cref, "ChatTaskWorker") {
            if let Some(a) = class.attr("system_prompt") {
                if let (Some(_), Some(Expr::Str { value, range })) = (&a.annotation, &a.value) {
                    if let Some(d) = rt11(value, *range) {
                        out.push(d);
                    }
                }
            }
        }
        check_format_prompt(ctx, path, class, &cref, out);
    }
    // RT11 on instantiations with a literal system_prompt, in this unit's code.
    let mut calls: Vec<&CallExpr> = Vec::new();
    unit.for_each_expr(summary, &mut |e| {
        e.for_each_call(&mut |c| {
            if c.keyword("system_prompt").is_some() {
                calls.push(c)
            }
        })
    });
    for c in calls {
        let Some(Expr::Str { value, range }) = c.keyword("system_prompt").map(|k| &k.value) else {
            continue;
        };
        let Symbol::Class(cls) = ctx.resolve_expr(path, &c.func) else {
            continue;
        };
        if ctx.mro(&cls).complete && ctx.derives_from_builtin(&cls, "ChatTaskWorker") {
            if let Some(d) = rt11(value, *range) {
                out.push(d);
            }
        }
    }
}

fn rt11(template: &str, range: TextRange) -> Option<Diagnostic> {
    let msg = match parse_format_fields(template) {
        Err(e) => format!(
            "ChatTaskWorker formats system_prompt with str.format on every call and it fails: ValueError: {e}. \
             Escape literal braces as {{{{ and }}}}."
        ),
        Ok(fields) => {
            let bad = fields.iter().find(|f| !matches!(f, FormatField::Named(n) if n == "date"))?;
            let shown = match bad {
                FormatField::Named(n) => format!("KeyError: '{n}'"),
                FormatField::Positional(n) => {
                    format!("IndexError: Replacement index {n} out of range for positional args tuple")
                }
            };
            format!(
                "ChatTaskWorker formats system_prompt with only {{date}}, so this placeholder fails on every \
                 call: {shown}. Use only {{date}}, or escape literal braces as {{{{ and }}}}."
            )
        }
    };
    Some(error(Code::Rt11, range, msg))
}

/// The literal template of a prompt attribute: a string, `dedent("...")`, optionally `.strip()`.
fn literal_template(e: &Expr) -> Option<&str> {
    match e {
        Expr::Str { value, .. } => Some(value),
        Expr::Call(c) => match &c.func {
            Expr::Attribute { value, attr, .. }
                if c.args.is_empty()
                    && (attr == "strip" || attr == "lstrip" || attr == "rstrip") =>
            {
                literal_template(value)
            }
            f if f.dotted_last() == Some("dedent") && c.args.len() == 1 => match &c.args[0] {
                Expr::Str { value, .. } => Some(value),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn check_format_prompt(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    class: &super::super::summary::ClassSummary,
    cref: &ClassRef,
    out: &mut Vec<Diagnostic>,
) {
    let Some(m) = class.method("format_prompt") else {
        return;
    };
    if ctx.used_as_base(&class.name) {
        return;
    }
    let mut calls: Vec<(&str, &CallExpr)> = Vec::new();
    walk_exprs(&m.body, &mut |e| {
        e.for_each_call(&mut |c| {
            if let Expr::Attribute { value, attr, .. } = &c.func {
                if attr == "format" {
                    if let Expr::Attribute {
                        value: inner,
                        attr: field,
                        ..
                    } = &**value
                    {
                        if inner.as_name() == Some("self") {
                            calls.push((field.as_str(), c));
                        }
                    }
                }
            }
        })
    });
    for (field, call) in calls {
        if call.has_splat() || ctx.kwarg_used(&class.name, field) {
            continue;
        }
        let FieldValue::Expr(decl_path, value) = consumed::field_value(
            ctx,
            consumed::InstanceSpec {
                class: cref,
                call: None,
            },
            field,
        ) else {
            continue;
        };
        let Some(template) = literal_template(&value) else {
            continue;
        };
        let keywords: Vec<&str> = call
            .keywords
            .iter()
            .filter_map(|k| k.name.as_deref())
            .collect();
        let positional = call.args.len();
        let problem = match parse_format_fields(template) {
            Err(e) => Some(format!("ValueError: {e}")),
            Ok(fields) => fields.iter().find_map(|f| match f {
                FormatField::Named(n) if !keywords.contains(&n.as_str()) => Some(format!(
                    "KeyError: '{n}' (pass {n}=... or escape the braces as {{{{{n}}}}})"
                )),
                FormatField::Positional(i) if *i >= positional => Some(format!(
                    "IndexError: Replacement index {i} out of range for positional args tuple"
                )),
                _ => None,
            }),
        };
        if let Some(problem) = problem {
            let mut d = error(
                Code::Rt12,
                call.range,
                format!("self.{field}.format(...) does not fill every placeholder of {field}: {problem}."),
            );
            if let Some((p, decl)) = consumed::class_attr_decl(ctx, cref, field) {
                d = d.with_related(related(
                    path,
                    &p,
                    decl.name_range,
                    format!("{field} is defined here"),
                ));
            }
            let _ = decl_path;
            out.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_fields_follow_python() {
        use FormatField::*;
        assert_eq!(
            parse_format_fields("a {x.y} {0} {{lit}}"),
            Ok(vec![Named("x".into()), Positional(0)])
        );
        assert!(parse_format_fields("a } b").is_err());
        assert!(parse_format_fields("a { b").is_err());
        assert_eq!(
            parse_format_fields("{x:{w}}"),
            Ok(vec![Named("x".into()), Named("w".into())])
        );
    }
}
