//! Workspace-wide usage facts, kept incrementally: which classes are instantiated with which
//! keyword arguments (or `**` splats) and which names are used as base classes. Class-level
//! checks (RT1, RT8, RT12) use them to stay silent when an instance or a subclass may change
//! what the class body says.

use crate::analysis::FxMap;

use super::summary::{walk_exprs, ClassSummary, Definition, Expr, FileSummary, Stmt};
use super::FileData;

#[derive(Debug, Clone, Default)]
pub struct UsageIndex {
    /// hash("Callee", "kwarg") → number of call sites; kwarg `**` stands for a splat.
    /// Hashes, not strings: a collision can only make a check *more* silent.
    kwargs: FxMap<u64, usize>,
    /// hash(simple name used as a base class) → number of uses.
    bases: FxMap<u64, usize>,
}

/// One question a check asks the index. A unit records the questions it asked and the
/// answers it got (`incremental`), so a keyword typed somewhere re-checks only the classes
/// that asked about that keyword, not every class that asked anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageQuery {
    Kwarg(u64),
    Base(u64),
}

impl UsageQuery {
    /// The two questions behind `Ctx::kwarg_used(callee, kw)`: that keyword, or a `**` splat.
    pub fn kwarg(callee: &str, kw: &str) -> [UsageQuery; 2] {
        [
            UsageQuery::Kwarg(key(callee, kw)),
            UsageQuery::Kwarg(key(callee, "**")),
        ]
    }

    pub fn base(name: &str) -> UsageQuery {
        UsageQuery::Base(name_key(name))
    }
}

/// One hash of the answers `index` gives to `queries`, in order.
pub fn answers(index: &UsageIndex, queries: &[UsageQuery]) -> u64 {
    use std::hash::Hasher;
    let mut h = crate::analysis::FxHasher::default();
    for q in queries {
        h.write_u8(u8::from(index.answer(*q)));
    }
    h.finish()
}

/// One file's contribution to the index, computed once when the file is summarised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageKeys {
    kwargs: Vec<u64>,
    bases: Vec<u64>,
}

/// Collects the usage keys of a summary.
pub fn collect_keys(s: &FileSummary) -> UsageKeys {
    let mut keys = UsageKeys::default();
    let mut exprs = |e: &Expr| add_call_keys(e, &mut keys.kwargs);
    stmts_exprs(&s.body, &mut exprs);
    for func in &s.functions {
        stmts_exprs(&func.body, &mut exprs);
    }
    for c in &s.classes {
        class_exprs(c, &mut exprs);
    }
    for c in &s.classes {
        add_base_keys(c, &mut keys.bases);
    }
    keys
}

/// The usage keys one module-level definition contributes (a part of `collect_keys`).
pub fn definition_keys(def: &Definition) -> UsageKeys {
    let mut keys = UsageKeys::default();
    let mut exprs = |e: &Expr| add_call_keys(e, &mut keys.kwargs);
    match def {
        Definition::Class(c) => {
            class_exprs(c, &mut exprs);
            add_base_keys(c, &mut keys.bases);
        }
        Definition::Function(f) => stmts_exprs(&f.body, &mut exprs),
    }
    keys
}

/// The usage keys one module-level statement contributes (a part of `collect_keys`).
pub fn statement_keys(stmt: &Stmt) -> UsageKeys {
    let mut keys = UsageKeys::default();
    stmts_exprs(std::slice::from_ref(stmt), &mut |e| {
        add_call_keys(e, &mut keys.kwargs)
    });
    keys
}

impl UsageKeys {
    /// These keys with one occurrence of each of `old` replaced by `new` (as multisets).
    pub fn replaced(&self, old: &UsageKeys, new: &UsageKeys) -> UsageKeys {
        fn swap(all: &[u64], old: &[u64], new: &[u64]) -> Vec<u64> {
            let mut out = all.to_vec();
            for k in old {
                if let Some(at) = out.iter().position(|x| x == k) {
                    out.swap_remove(at);
                }
            }
            out.extend_from_slice(new);
            out
        }
        UsageKeys {
            kwargs: swap(&self.kwargs, &old.kwargs, &new.kwargs),
            bases: swap(&self.bases, &old.bases, &new.bases),
        }
    }
}

fn add_call_keys(e: &Expr, out: &mut Vec<u64>) {
    e.for_each_call(&mut |c| {
        let Some(callee) = c.func.dotted().and_then(|d| d.last().copied()) else {
            return;
        };
        if c.args.iter().any(|a| matches!(a, Expr::Starred { .. })) {
            out.push(key(callee, "**"));
        }
        for k in &c.keywords {
            out.push(key(callee, k.name.as_deref().unwrap_or("**")));
        }
    })
}

fn add_base_keys(c: &ClassSummary, out: &mut Vec<u64>) {
    for b in &c.bases {
        if let Some(name) = b.dotted().and_then(|d| d.last().copied()) {
            out.push(name_key(name));
        }
    }
}

fn key(callee: &str, kw: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = crate::analysis::FxHasher::default();
    h.write(callee.as_bytes());
    h.write_u8(0);
    h.write(kw.as_bytes());
    h.finish()
}

fn name_key(name: &str) -> u64 {
    key(name, "")
}

impl UsageIndex {
    pub fn add(&mut self, f: &FileData) {
        self.apply(f, 1)
    }

    pub fn remove(&mut self, f: &FileData) {
        self.apply(f, -1)
    }

    fn apply(&mut self, f: &FileData, delta: isize) {
        self.apply_keys(&f.usage_keys, delta)
    }

    pub fn apply_keys(&mut self, keys: &UsageKeys, delta: isize) {
        for (map, keys) in [
            (&mut self.kwargs, &keys.kwargs),
            (&mut self.bases, &keys.bases),
        ] {
            for k in keys {
                if delta > 0 {
                    *map.entry(*k).or_insert(0) += 1;
                } else if let Some(v) = map.get_mut(k) {
                    *v = v.saturating_sub(1);
                    if *v == 0 {
                        map.remove(k);
                    }
                }
            }
        }
    }

    /// The answer to one question.
    pub fn answer(&self, query: UsageQuery) -> bool {
        match query {
            UsageQuery::Kwarg(k) => self.kwargs.contains_key(&k),
            UsageQuery::Base(k) => self.bases.contains_key(&k),
        }
    }
}

/// Every expression of a file: module statements, functions, methods, class attributes.
pub fn for_each_expr<'a>(s: &'a FileSummary, f: &mut dyn FnMut(&'a Expr)) {
    stmts_exprs(&s.body, f);
    for func in &s.functions {
        stmts_exprs(&func.body, f);
    }
    for c in &s.classes {
        class_exprs(c, f);
    }
}

/// Every expression of statements, including those of nested functions.
pub(crate) fn stmts_exprs<'a>(body: &'a [Stmt], f: &mut dyn FnMut(&'a Expr)) {
    walk_exprs(body, f);
    super::summary::walk_stmts(body, &mut |st| {
        if let Stmt::LocalFunction(func) = st {
            stmts_exprs(&func.body, f);
        }
    });
}

/// Every expression of a class: attribute values and method bodies.
pub(crate) fn class_exprs<'a>(c: &'a ClassSummary, f: &mut dyn FnMut(&'a Expr)) {
    for a in &c.attrs {
        if let Some(v) = &a.value {
            f(v);
        }
    }
    for m in &c.methods {
        stmts_exprs(&m.body, f);
    }
}
