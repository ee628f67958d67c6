//! IM1: names planai 0.7.1 does not have — `from planai import X` (CPython's `ImportError`)
//! and `planai.X` after `import planai` (`AttributeError`).
//!
//! Silent inside `try` blocks (fallback imports), when the workspace holds its own `planai`
//! package (then imports resolve to it), and for dunder names.

use std::path::Path;
use std::sync::Arc;

use super::super::builtins::{PLANAI_SUBMODULES, PLANAI_TOP_LEVEL_NAMES};
use super::super::incremental::Unit;
use super::super::resolve::{Ctx, ModuleTarget, Symbol};
use super::super::summary::{walk_exprs, Expr, FunctionSummary, Stmt};
use super::error;
use crate::diagnostics::{Code, Diagnostic, Subject};

pub fn check(ctx: &mut Ctx, path: &Arc<Path>, unit: Unit, out: &mut Vec<Diagnostic>) {
    let Some(summary) = ctx.summary(path) else {
        return;
    };
    match unit {
        Unit::Module => scope(ctx, path, &summary.body, None, out),
        Unit::Function(i) => {
            if let Some(f) = summary.functions.get(i) {
                function(ctx, path, f, out);
            }
        }
        Unit::Class(i) => {
            if let Some(c) = summary.classes.get(i) {
                for m in &c.methods {
                    function(ctx, path, m, out);
                }
            }
        }
    }
}

fn function(ctx: &mut Ctx, path: &Path, f: &FunctionSummary, out: &mut Vec<Diagnostic>) {
    scope(ctx, path, &f.body, Some(f), out);
    super::super::summary::walk_stmts(&f.body, &mut |s| {
        if let Stmt::LocalFunction(inner) = s {
            function(ctx, path, inner, out);
        }
    });
}

fn is_planai_name(name: &str) -> bool {
    name.starts_with("__")
        || PLANAI_TOP_LEVEL_NAMES.contains(&name)
        || PLANAI_SUBMODULES.contains(&name)
}

fn advice(name: &str) -> &'static str {
    if name == "llm_interface" {
        "llm_interface is a package of its own: use `import llm_interface` (planai re-exports \
         LLMInterface, llm_from_config, tool and Tool)."
    } else {
        "planai 0.7.1 has no such name or submodule; check the spelling against `dir(planai)`."
    }
}

/// The statements of one scope (`f` is its function, for local names).
fn scope(
    ctx: &mut Ctx,
    path: &Path,
    stmts: &[Stmt],
    f: Option<&FunctionSummary>,
    out: &mut Vec<Diagnostic>,
) {
    imports(ctx, path, stmts, out);
    // `planai.X` where `planai` is the module bound by `import planai`.
    let shadowed = f.is_some_and(|f| super::super::function_binds(f, "planai"));
    if shadowed
        || !matches!(ctx.resolve_global(path, "planai", 0), Symbol::Module(ModuleTarget::Builtin(ref m)) if m == "planai")
    {
        return;
    }
    let mut found = Vec::new();
    walk_exprs(stmts, &mut |e| attributes(e, &mut found));
    for (attr, range) in found {
        if !is_planai_name(attr) {
            out.push(
                error(
                    Code::Im1,
                    range,
                    format!(
                        "module 'planai' has no attribute '{attr}'. {}",
                        advice(attr)
                    ),
                )
                .about(Subject::name(format!("planai.{attr}"))),
            );
        }
    }
}

/// Imports outside `try` blocks (fallbacks in `try: … except ImportError:` are deliberate).
fn imports(ctx: &mut Ctx, path: &Path, stmts: &[Stmt], out: &mut Vec<Diagnostic>) {
    for s in stmts {
        match s {
            Stmt::Import(bindings) => {
                let mut reported = false;
                for b in bindings {
                    // `from planai.llm_interface import X` / `import planai.llm_interface as m`:
                    // one error per statement, on its first name.
                    if b.level == 0 {
                        if let Some(sub) = missing_submodule(ctx, path, &b.module) {
                            if !reported {
                                out.push(
                                    error(
                                        Code::Im1,
                                        b.range,
                                        format!("No module named 'planai.{sub}'. {}", advice(sub)),
                                    )
                                    .about(Subject::name(format!("planai.{sub}"))),
                                );
                            }
                            reported = true;
                            continue;
                        }
                    }
                    let Some(member) = &b.member else { continue };
                    let target = ctx.resolve_module(path, b.level, &b.module);
                    if !matches!(&target, Some(ModuleTarget::Builtin(m)) if m == "planai") {
                        continue;
                    }
                    if !is_planai_name(member) {
                        out.push(
                            error(
                                Code::Im1,
                                b.range,
                                format!(
                                    "cannot import name '{member}' from 'planai'. {}",
                                    advice(member)
                                ),
                            )
                            .about(Subject::name(format!("planai.{member}"))),
                        );
                    }
                }
            }
            Stmt::Block { kind, bodies, .. } if *kind != super::super::summary::BlockKind::Try => {
                for body in bodies {
                    imports(ctx, path, &body.stmts, out);
                }
            }
            _ => {}
        }
    }
}

/// For a module `planai.<sub>...` (not in the workspace) whose first submodule planai 0.7.1
/// does not have: that submodule.
fn missing_submodule<'m>(ctx: &Ctx, path: &Path, module: &'m str) -> Option<&'m str> {
    let sub = module.strip_prefix("planai.")?.split('.').next()?;
    if PLANAI_SUBMODULES.contains(&sub) || sub.starts_with("__") {
        return None;
    }
    match ctx.resolve_module(path, 0, module) {
        Some(ModuleTarget::Builtin(_)) => Some(sub),
        _ => None,
    }
}

/// `planai.<attr>` attribute reads (the `planai.X` of a longer chain included).
fn attributes<'a>(e: &'a Expr, found: &mut Vec<(&'a str, crate::diagnostics::TextRange)>) {
    match e {
        Expr::Attribute { value, attr, .. } => {
            if value.as_name() == Some("planai") {
                if let Some(range) = e.attr_range() {
                    found.push((attr, range));
                }
            } else {
                attributes(value, found);
            }
        }
        Expr::Call(c) => {
            attributes(&c.func, found);
            c.args.iter().for_each(|a| attributes(a, found));
            c.keywords.iter().for_each(|k| attributes(&k.value, found));
        }
        Expr::List { elts, .. } | Expr::Tuple { elts, .. } => {
            elts.iter().for_each(|x| attributes(x, found))
        }
        Expr::Subscript { value, index, .. } => {
            attributes(value, found);
            index.iter().for_each(|x| attributes(x, found));
        }
        Expr::BitOr { left, right, .. } => {
            attributes(left, found);
            attributes(right, found);
        }
        Expr::Comprehension { elt: value, .. } | Expr::Starred { value, .. } => {
            attributes(value, found)
        }
        Expr::Other { children, .. } => children.iter().for_each(|x| attributes(x, found)),
        _ => {}
    }
}
