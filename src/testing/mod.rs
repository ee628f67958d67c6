//! Helpers shared by tests and benchmarks (kept small; no test-only dependencies).

mod gen;

pub use gen::generate_planai_module;
