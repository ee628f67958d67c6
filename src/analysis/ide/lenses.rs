//! Code lenses: above each Task, how many workers produce and consume it; above each graph
//! builder function and the `if __name__ == "__main__":` block, show, run and debug the graph.

use std::path::Path;
use std::sync::Arc;

use super::WorkerTable;
use crate::analysis::resolve::{ClassRef, Ctx};
use crate::analysis::summary::{BlockKind, Stmt};
use crate::analysis::AnalysisHost;
use crate::diagnostics::TextRange;

/// What a lens does when clicked; the server turns each into a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LensAction {
    /// Show these places (the producing and consuming worker classes).
    ShowReferences(Vec<(Arc<Path>, TextRange)>),
    ShowGraph,
    /// Run or debug the graph a builder function builds (`None`: the module / `__main__`).
    Run(Option<String>),
    Debug(Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lens {
    pub range: TextRange,
    pub title: String,
    pub action: LensAction,
}

/// The lenses of `path`, in source order.
pub fn code_lenses(host: &AnalysisHost, path: &Path) -> Vec<Lens> {
    let Some(file) = host.files.get(path) else {
        return Vec::new();
    };
    let Some(summary) = file.summary.as_deref() else {
        return Vec::new();
    };
    let mut ctx = Ctx::new(host);
    let mut out = Vec::new();
    let mut table: Option<WorkerTable> = None;
    for (i, class) in summary.classes.iter().enumerate() {
        let cref = ClassRef::User(file.path.clone(), i);
        if super::is_worker(&mut ctx, &cref) || !super::is_task(&mut ctx, &cref) {
            continue;
        }
        let table = table.get_or_insert_with(|| WorkerTable::build(&mut ctx));
        let producers = table.producers(&cref);
        let consumers = table.consumers(&cref);
        let places = producers
            .iter()
            .chain(&consumers)
            .filter_map(|c| super::class_definition(&ctx, c))
            .collect();
        out.push(Lens {
            range: class.name_range,
            title: format!(
                "produced by {} · consumed by {}",
                producers.len(),
                consumers.len()
            ),
            action: LensAction::ShowReferences(places),
        });
    }
    out.extend(builder_lenses_in(&mut ctx, &file.path, summary));
    out.sort_by_key(|l| l.range.start());
    out
}

/// Only the Show/Run/Debug graph lenses of `path` (above each graph builder and the
/// `__main__` block), in source order: what the run code actions need, without counting every
/// Task's producers and consumers across the workspace.
pub fn graph_builder_lenses(host: &AnalysisHost, path: &Path) -> Vec<Lens> {
    let Some(file) = host.files.get(path) else {
        return Vec::new();
    };
    let Some(summary) = file.summary.as_deref() else {
        return Vec::new();
    };
    let mut ctx = Ctx::new(host);
    let mut out = builder_lenses_in(&mut ctx, &file.path, summary);
    out.sort_by_key(|l| l.range.start());
    out
}

fn builder_lenses_in(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    summary: &crate::analysis::summary::FileSummary,
) -> Vec<Lens> {
    let mut out = Vec::new();
    let mut any_builder = false;
    for function in &summary.functions {
        if !super::symbols::builds_graph(ctx, path, function) {
            continue;
        }
        any_builder = true;
        graph_lenses(
            &mut out,
            function.name_range,
            Some(function.name.to_string()),
        );
    }
    if any_builder {
        for statement in &summary.body {
            if let Stmt::Block {
                kind: BlockKind::MainGuard,
                header,
                ..
            } = statement
            {
                if let Some(condition) = header.first() {
                    graph_lenses(&mut out, condition.range(), None);
                }
            }
        }
    }
    out
}

fn graph_lenses(out: &mut Vec<Lens>, range: TextRange, graph: Option<String>) {
    out.push(Lens {
        range,
        title: "Show graph".into(),
        action: LensAction::ShowGraph,
    });
    out.push(Lens {
        range,
        title: "Run graph".into(),
        action: LensAction::Run(graph.clone()),
    });
    out.push(Lens {
        range,
        title: "Debug graph".into(),
        action: LensAction::Debug(graph),
    });
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn tasks_count_producers_and_consumers_and_builders_get_graph_lenses() {
        let host = qa_host();
        let lenses = code_lenses(&host, Path::new("/ws/tasks.py"));
        let titles: Vec<&str> = lenses.iter().map(|l| l.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "produced by 1 · consumed by 1",
                "produced by 1 · consumed by 1"
            ]
        );
        let LensAction::ShowReferences(places) = &lenses[0].action else {
            panic!()
        };
        let named: Vec<&str> = places
            .iter()
            .map(|(p, r)| {
                assert_eq!(&**p, Path::new("/ws/workers.py"));
                &WORKERS[r.start()..r.end()]
            })
            .collect();
        assert_eq!(named, vec!["Asker", "Responder"]);

        let lenses = code_lenses(&host, Path::new("/ws/graph.py"));
        let actions: Vec<(&str, &LensAction)> = lenses
            .iter()
            .map(|l| (l.title.as_str(), &l.action))
            .collect();
        let builder = Some("build_graph".to_string());
        assert_eq!(
            actions,
            vec![
                ("Show graph", &LensAction::ShowGraph),
                ("Run graph", &LensAction::Run(builder.clone())),
                ("Debug graph", &LensAction::Debug(builder)),
                ("Show graph", &LensAction::ShowGraph),
                ("Run graph", &LensAction::Run(None)),
                ("Debug graph", &LensAction::Debug(None)),
            ]
        );
        assert!(code_lenses(&host, Path::new("/ws/workers.py")).is_empty());
    }
}
