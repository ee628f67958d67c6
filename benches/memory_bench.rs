//! Heap bytes of the analysis' per-file data, measured with a counting global allocator.
//!
//! Prints, for a generated 600-line and 6,000-line PlanAI module: the bytes of one
//! `FileSummary` (and which fields hold them), of an `AnalysisHost` holding 100 copies of the
//! module under different paths, and of the diagnostics cache after `file_diagnostics` on all
//! 100. Run with `cargo bench --bench memory_bench`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use planai_lsp::analysis::summary::{
    CallExpr, ClassAttr, ClassSummary, Expr, FileSummary, FunctionSummary, Keyword, Param, Stmt,
};
use planai_lsp::analysis::AnalysisHost;

/// Counts the bytes currently allocated (requested sizes, not allocator overhead).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Live allocations (each costs allocator overhead on top of its bytes).
static BLOCKS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        System.alloc(l)
    }

    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(l)
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
        System.dealloc(p, l)
    }

    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        System.realloc(p, l, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

/// Bytes freed by dropping `value`.
fn freed_by<T>(value: T) -> usize {
    let before = live();
    drop(value);
    before.saturating_sub(live())
}

/// Bytes held by the parts of a summary's classes.
#[derive(Default)]
struct ClassBytes {
    bases: usize,
    decorators: usize,
    attrs: usize,
    /// The `ClassAttr` slots alone (part of `attrs`).
    attr_slots: usize,
    methods: usize,
    /// The methods' top-level `Stmt` slots (part of `methods`).
    statement_slots: usize,
    /// The methods' `Param` slots (part of `methods`).
    param_slots: usize,
}

impl ClassBytes {
    /// Adds the bytes `class` frees, part by part.
    fn add(&mut self, class: ClassSummary) {
        let ClassSummary {
            bases,
            decorators,
            attrs,
            methods,
            ..
        } = class;
        self.bases += freed_by(bases);
        self.decorators += freed_by(decorators);
        self.attr_slots += std::mem::size_of_val(&*attrs);
        self.attrs += freed_by(attrs);
        for method in &methods {
            self.param_slots += std::mem::size_of_val(&*method.params);
            self.statement_slots += std::mem::size_of_val(&*method.body);
        }
        self.methods += freed_by(methods);
    }
}

fn measure(lines: usize) {
    let text = planai_lsp::testing::generate_planai_module(lines);
    let tree = planai_lsp::syntax::parse(&text).expect("generated module parses");
    println!("== {lines}-line module ({} of text)", kb(text.len()));

    let base = live();
    let blocks = BLOCKS.load(Ordering::Relaxed);
    let summary = FileSummary::build(&tree, &text);
    let total = live() - base;
    let allocations = BLOCKS.load(Ordering::Relaxed) - blocks;
    println!(
        "FileSummary: {} in {allocations} allocations (glibc adds 8-16 bytes to each, and rounds up to 16)",
        kb(total)
    );

    // Where the bytes are: drop the fields one by one.
    let FileSummary {
        future_annotations: _,
        module_error: _,
        imports,
        star_imports,
        classes,
        functions,
        body,
        bindings,
        def_spans,
        erroneous_defs,
        fingerprints,
    } = summary;
    // Inside the classes: which of their parts hold the bytes.
    let class_count = classes.len();
    let mut parts_of_classes = ClassBytes::default();
    let before_classes = live();
    for class in classes {
        let Ok(class) = Arc::try_unwrap(class) else {
            continue;
        };
        parts_of_classes.add(class);
    }
    let classes_total = before_classes.saturating_sub(live());
    let ClassBytes {
        bases,
        decorators,
        attrs,
        attr_slots,
        methods,
        statement_slots,
        param_slots,
    } = parts_of_classes;
    println!(
        "  {class_count} classes: ClassSummary+Arc {} bases {} decorators {} attrs {} (inline {}) methods {} (statement slots {}, param slots {})",
        kb(class_count * (std::mem::size_of::<ClassSummary>() + 16)),
        kb(bases),
        kb(decorators),
        kb(attrs),
        kb(attr_slots),
        kb(methods),
        kb(statement_slots),
        kb(param_slots),
    );
    let parts = [
        ("classes", classes_total),
        ("functions", freed_by(functions)),
        ("body", freed_by(body)),
        ("bindings", freed_by(bindings)),
        ("imports", freed_by(imports)),
        ("star_imports", freed_by(star_imports)),
        ("def_spans", freed_by(def_spans)),
        ("erroneous_defs", freed_by(erroneous_defs)),
        ("fingerprints", freed_by(fingerprints)),
    ];
    for (name, bytes) in parts {
        println!("  {name:<13} {:>10}", kb(bytes));
    }

    let mut host = AnalysisHost::new();
    let paths: Vec<PathBuf> = (0..100)
        .map(|i| PathBuf::from(format!("/ws/m{i}.py")))
        .collect();
    // Every file holds its own text, as open documents do (counted in the host's bytes).
    let base = live();
    for p in &paths {
        host.set_file(p.clone(), Arc::from(text.as_str()), Some(&tree));
    }
    println!("AnalysisHost with 100 files: {}", kb(live() - base));

    let base = live();
    for p in &paths {
        let _ = host.file_diagnostics(p);
    }
    println!(
        "diagnostics cache after file_diagnostics on 100 files: {}",
        kb(live() - base)
    );
    drop(host);
}

fn main() {
    println!(
        "size_of: Expr {} Stmt {} CallExpr {} Keyword {} Param {} ClassAttr {} FunctionSummary {} ClassSummary {}",
        std::mem::size_of::<Expr>(),
        std::mem::size_of::<Stmt>(),
        std::mem::size_of::<CallExpr>(),
        std::mem::size_of::<Keyword>(),
        std::mem::size_of::<Param>(),
        std::mem::size_of::<ClassAttr>(),
        std::mem::size_of::<FunctionSummary>(),
        std::mem::size_of::<ClassSummary>(),
    );
    measure(600);
    measure(6_000);
}
