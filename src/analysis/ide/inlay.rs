//! Inlay hints: after each worker instantiation, what the worker consumes and produces.

use std::path::Path;

use super::Scope;
use crate::analysis::resolve::Ctx;
use crate::analysis::AnalysisHost;

/// A hint shown at `offset` (right after the instantiating call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlayHint {
    pub offset: usize,
    /// `Question → Answer`.
    pub label: String,
}

/// The hints of `path` whose position lies in `start..=end`.
pub fn inlay_hints(host: &AnalysisHost, path: &Path, start: usize, end: usize) -> Vec<InlayHint> {
    let Some(file) = host.files.get(path) else {
        return Vec::new();
    };
    let Some(summary) = file.summary.as_deref() else {
        return Vec::new();
    };
    let mut ctx = Ctx::new(host);
    let mut calls = Vec::new();
    crate::analysis::usage::for_each_expr(summary, &mut |e| {
        e.for_each_call(&mut |call| {
            let end_of_call = call.range.end();
            if end_of_call < start || end_of_call > end {
                return;
            }
            calls.push(call);
        })
    });
    let mut out = Vec::new();
    for call in calls {
        let Some(root) = call.func.dotted_root() else {
            continue;
        };
        if Scope::at(summary, call.range.start()).binds(summary, root) {
            continue;
        }
        let Some(class) = ctx.resolve_class(&file.path, &call.func) else {
            continue;
        };
        if !super::is_worker(&mut ctx, &class) {
            continue;
        }
        out.push(InlayHint {
            offset: call.range.end(),
            label: super::flow_label(&mut ctx, &class),
        });
    }
    out.sort_by_key(|h| h.offset);
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn each_worker_instantiation_shows_its_flow() {
        let host = qa_host();
        let hints = inlay_hints(&host, Path::new("/ws/graph.py"), 0, GRAPH.len());
        let shown: Vec<(&str, &str)> = hints
            .iter()
            .map(|h| (&GRAPH[h.offset - 2..h.offset], h.label.as_str()))
            .collect();
        assert_eq!(
            shown,
            vec![("()", "Answer → Question"), ("m)", "Question → Answer")]
        );
        // Only the requested range.
        let first_line_end = GRAPH.find("Responder(llm").unwrap();
        assert_eq!(
            inlay_hints(&host, Path::new("/ws/graph.py"), 0, first_line_end).len(),
            1
        );
    }
}
