//! Workspace-wide usage facts, kept incrementally: which classes are instantiated with which
//! keyword arguments (or `**` splats) and which names are used as base classes. Class-level
//! checks (RT1, RT8, RT12) use them to stay silent when an instance or a subclass may change
//! what the class body says.

use crate::analysis::FxMap;
use std::sync::Arc;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// One file's contribution to the index, computed when the file is summarised. Both lists
/// are sorted (multisets in one canonical order), so two versions compare equal exactly when
/// they contribute the same.
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
    keys.sorted()
}

/// `collect_keys(new)`, from the keys of the version `new` was built from (`old`, whose keys
/// were `old_keys`): only the definitions `new` did not take over from `old` (shared, not
/// copied: `FileSummary::build_reusing`) and the module-level statements are walked. A
/// keystroke that re-lowers one class of a thousand walks that class, not the file.
pub fn keys_reusing(new: &FileSummary, old: &FileSummary, old_keys: &UsageKeys) -> UsageKeys {
    let removed = keys_of_definitions_not_in(old, new);
    let added = keys_of_definitions_not_in(new, old);
    old_keys.replaced(&removed, &added)
}

/// The keys of `of`'s module-level statements and of its definitions that `other` does not
/// share (by address).
fn keys_of_definitions_not_in(of: &FileSummary, other: &FileSummary) -> UsageKeys {
    fn addresses<T>(defs: &[Arc<T>]) -> crate::analysis::FxSet<usize> {
        defs.iter().map(|d| Arc::as_ptr(d) as usize).collect()
    }
    fn not_in<'a, T>(
        defs: &'a [Arc<T>],
        shared: &'a crate::analysis::FxSet<usize>,
    ) -> impl Iterator<Item = &'a Arc<T>> {
        defs.iter()
            .filter(move |d| !shared.contains(&(Arc::as_ptr(d) as usize)))
    }
    let (classes, functions) = (addresses(&other.classes), addresses(&other.functions));
    let mut keys = UsageKeys::default();
    let mut exprs = |e: &Expr| add_call_keys(e, &mut keys.kwargs);
    stmts_exprs(&of.body, &mut exprs);
    for f in not_in(&of.functions, &functions) {
        stmts_exprs(&f.body, &mut exprs);
    }
    let mut bases = Vec::new();
    for c in not_in(&of.classes, &classes) {
        class_exprs(c, &mut exprs);
        add_base_keys(c, &mut bases);
    }
    keys.bases = bases;
    keys.sorted()
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
    keys.sorted()
}

/// The usage keys one module-level statement contributes (a part of `collect_keys`).
pub fn statement_keys(stmt: &Stmt) -> UsageKeys {
    let mut keys = UsageKeys::default();
    stmts_exprs(std::slice::from_ref(stmt), &mut |e| {
        add_call_keys(e, &mut keys.kwargs)
    });
    keys.sorted()
}

impl UsageKeys {
    fn sorted(mut self) -> UsageKeys {
        self.kwargs.sort_unstable();
        self.bases.sort_unstable();
        self
    }

    /// These keys with one occurrence of each of `old` replaced by `new` (as multisets; all
    /// three sorted, and so is the result).
    pub fn replaced(&self, old: &UsageKeys, new: &UsageKeys) -> UsageKeys {
        /// `all` − `old` + `new`, by merging sorted lists.
        fn swap(all: &[u64], old: &[u64], new: &[u64]) -> Vec<u64> {
            let mut kept = Vec::with_capacity(all.len() + new.len());
            let mut gone = old.iter().peekable();
            for &k in all {
                while gone.next_if(|&&g| g < k).is_some() {}
                if gone.next_if(|&&g| g == k).is_none() {
                    kept.push(k);
                }
            }
            let mut out = Vec::with_capacity(kept.len() + new.len());
            let (mut a, mut b) = (kept.iter().peekable(), new.iter().peekable());
            loop {
                match (a.peek(), b.peek()) {
                    (Some(&&x), Some(&&y)) => out.push(if x <= y {
                        a.next();
                        x
                    } else {
                        b.next();
                        y
                    }),
                    (Some(_), None) => out.extend(a.by_ref()),
                    (None, Some(_)) => out.extend(b.by_ref()),
                    (None, None) => break,
                }
            }
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
        let Some(callee) = c.func.dotted_last() else {
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
        if let Some(name) = b.dotted_last() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::summary::FileSummary;
    use std::sync::Arc;

    /// `keys_reusing` gives `collect_keys`' answer after any edit, walking only what changed:
    /// random keystrokes (including ones that break and repair definitions) in a wired
    /// module, each building the next summary from the previous one as the host does.
    #[test]
    fn keys_from_the_previous_version_equal_keys_collected_afresh() {
        let mut text = crate::testing::generate_wired_module(30);
        let summarise = |text: &str, previous: Option<(Arc<FileSummary>, &str)>| {
            let tree = crate::syntax::parse(text).expect("a tree");
            FileSummary::build_deferring_shifts(std::slice::from_ref(&tree), text, previous).0
        };
        let mut old = Arc::new(summarise(&text, None));
        let mut old_keys = collect_keys(&old);
        let snippets = [
            "(",
            ")",
            "7",
            "\n",
            "x(tag=1)",
            "Worker3(num_retries=2)",
            "class K(Worker2):\n    pass\n",
            "def f():\n    return Item1(value=1)\n",
            ":",
            "\"",
        ];
        let mut random = crate::testing::Random(0x5eed);
        let mut shared_total = 0;
        for step in 0..150 {
            let old_text = text.clone();
            let mut at = random.below(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            if random.below(3) == 0 {
                let end = (at + 1 + random.below(8)).min(text.len());
                let end = (end..=text.len())
                    .find(|&e| text.is_char_boundary(e))
                    .unwrap();
                text.replace_range(at..end, "");
            } else {
                text.insert_str(at, snippets[random.below(snippets.len())]);
            }
            let new = summarise(&text, Some((Arc::clone(&old), &old_text)));
            let reused = keys_reusing(&new, &old, &old_keys);
            let fresh = collect_keys(&new);
            assert_eq!(reused, fresh, "step {step}");
            shared_total += new
                .classes
                .iter()
                .filter(|c| old.classes.iter().any(|o| Arc::ptr_eq(o, c)))
                .count();
            old = Arc::new(new);
            old_keys = fresh;
        }
        assert!(
            shared_total > 150 * 20,
            "definitions were hardly shared: {shared_total}"
        );
    }

    #[test]
    fn replacing_keeps_the_keys_sorted_multisets() {
        let keys = |kwargs: &[u64]| UsageKeys {
            kwargs: kwargs.to_vec(),
            bases: Vec::new(),
        };
        let all = keys(&[1, 2, 2, 3, 5]);
        assert_eq!(
            all.replaced(&keys(&[2, 5]), &keys(&[0, 2, 4, 9])),
            keys(&[0, 1, 2, 2, 3, 4, 9])
        );
        assert_eq!(all.replaced(&keys(&[7]), &keys(&[])), all, "absent keys");
        assert_eq!(
            all.replaced(&keys(&[2, 2, 2]), &keys(&[])),
            keys(&[1, 3, 5])
        );
    }
}
