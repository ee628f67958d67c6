//! Workspace-wide usage facts, kept incrementally: which classes are instantiated with which
//! keyword arguments (or `**` splats) and which names are used as base classes. Class-level
//! checks (RT1, RT8, RT12) use them to stay silent when an instance or a subclass may change
//! what the class body says.

use crate::analysis::FxMap;

use super::super::summary::{walk_exprs, Expr, FileSummary, Stmt};
use super::super::FileData;

#[derive(Debug, Clone, Default)]
pub struct UsageIndex {
    /// hash("Callee", "kwarg") → number of call sites; kwarg `**` stands for a splat.
    /// Hashes, not strings: a collision can only make a check *more* silent.
    kwargs: FxMap<u64, usize>,
    /// hash(simple name used as a base class) → number of uses.
    bases: FxMap<u64, usize>,
}

/// One file's contribution to the index, computed once when the file is summarised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageKeys {
    kwargs: Vec<u64>,
    bases: Vec<u64>,
}

/// Collects the usage keys of a summary.
pub fn collect_keys(s: &FileSummary) -> UsageKeys {
    let mut kw_keys = Vec::new();
    let mut base_keys = Vec::new();
    for_each_expr(s, &mut |e| {
        e.for_each_call(&mut |c| {
            let Some(callee) = c.func.dotted().and_then(|d| d.last().copied()) else {
                return;
            };
            if c.args.iter().any(|a| matches!(a, Expr::Starred { .. })) {
                kw_keys.push(key(callee, "**"));
            }
            for k in &c.keywords {
                kw_keys.push(key(callee, k.name.as_deref().unwrap_or("**")));
            }
        })
    });
    for c in &s.classes {
        for b in &c.bases {
            if let Some(name) = b.dotted().and_then(|d| d.last().copied()) {
                base_keys.push(name_key(name));
            }
        }
    }
    UsageKeys {
        kwargs: kw_keys,
        bases: base_keys,
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
        let keys = &f.usage_keys;
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

    /// Whether some call `Callee(kw=...)` (or `Callee(**x)`) exists in the workspace.
    pub fn kwarg_used(&self, callee: &str, kw: &str) -> bool {
        self.kwargs.contains_key(&key(callee, kw)) || self.kwargs.contains_key(&key(callee, "**"))
    }

    /// Whether some class uses `name` as a base.
    pub fn used_as_base(&self, name: &str) -> bool {
        self.bases.contains_key(&name_key(name))
    }
}

/// Every expression of a file: module statements, functions, methods, class attributes.
pub fn for_each_expr<'a>(s: &'a FileSummary, f: &mut dyn FnMut(&'a Expr)) {
    fn stmts<'a>(body: &'a [Stmt], f: &mut dyn FnMut(&'a Expr)) {
        walk_exprs(body, f);
        super::super::summary::walk_stmts(body, &mut |st| {
            if let Stmt::LocalFunction(func) = st {
                stmts(&func.body, f);
            }
        });
    }
    stmts(&s.body, f);
    for func in &s.functions {
        stmts(&func.body, f);
    }
    for c in &s.classes {
        for a in &c.attrs {
            if let Some(v) = &a.value {
                f(v);
            }
        }
        for m in &c.methods {
            stmts(&m.body, f);
        }
    }
}
