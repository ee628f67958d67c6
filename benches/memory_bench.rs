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
    let mut class_parts = [0usize; 7];
    let class_count = classes.len();
    for class in classes {
        let Ok(class) = Arc::try_unwrap(class) else {
            continue;
        };
        let ClassSummary {
            bases,
            decorators,
            attrs,
            methods,
            other_names,
            ..
        } = class;
        class_parts[0] += freed_by(bases);
        class_parts[1] += freed_by(decorators);
        class_parts[3] += attrs.capacity() * std::mem::size_of::<ClassAttr>();
        class_parts[2] += freed_by(attrs);
        let mut method_bodies = 0;
        let mut method_params = 0;
        for method in &methods {
            method_params += std::mem::size_of_val(method.params.as_slice());
            method_bodies += std::mem::size_of_val(method.body.as_slice());
        }
        class_parts[5] += method_bodies;
        class_parts[6] += method_params;
        class_parts[4] += freed_by(methods);
        let _ = freed_by(other_names);
    }
    println!(
        "  {class_count} classes: ClassSummary+Arc {} bases {} decorators {} attrs {} (inline {}) methods {} (statement slots {}, param slots {})",
        kb(class_count * (std::mem::size_of::<ClassSummary>() + 16)),
        kb(class_parts[0]),
        kb(class_parts[1]),
        kb(class_parts[2]),
        kb(class_parts[3]),
        kb(class_parts[4]),
        kb(class_parts[5]),
        kb(class_parts[6]),
    );
    let classes: Vec<Arc<ClassSummary>> = Vec::new();
    let parts = [
        ("classes", freed_by(classes)),
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
