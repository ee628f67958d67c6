//! A Mermaid rendering of the graphs a file builds, for the editors' graph view.

use super::GraphEdge;

/// Mermaid node ids must be plain identifiers.
fn node_id(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Renders `edges` as a Mermaid flowchart, one subgraph per building function. Sinks get a
/// node of their own per upstream and type, since every PlanAI sink is named `SinkWorker`.
pub fn mermaid(edges: &[GraphEdge]) -> String {
    let mut out = String::from("flowchart LR\n");
    if edges.is_empty() {
        out.push_str("    empty[\"no graph built in this file\"]\n");
        return out;
    }
    let mut scopes: Vec<Option<&str>> = Vec::new();
    for edge in edges {
        let scope = edge.scope.as_deref();
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    for scope in scopes {
        let title = scope.unwrap_or("module level");
        let prefix = node_id(scope.unwrap_or("module"));
        out.push_str(&format!("    subgraph {prefix}[\"{title}\"]\n"));
        for edge in edges.iter().filter(|e| e.scope.as_deref() == scope) {
            let upstream = format!("{prefix}_{}", node_id(&edge.upstream));
            let label = edge.task_type.as_deref().unwrap_or("?");
            let downstream = if edge.downstream == "SinkWorker" {
                let id = format!("{upstream}_sink_{}", node_id(label));
                format!("{id}[(\"sink: {label}\")]")
            } else {
                format!(
                    "{prefix}_{}[\"{}\"]",
                    node_id(&edge.downstream),
                    edge.downstream
                )
            };
            out.push_str(&format!(
                "        {upstream}[\"{}\"] -->|{label}| {downstream}\n",
                edge.upstream
            ));
        }
        out.push_str("    end\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::TextRange;

    fn edge(scope: Option<&str>, up: &str, down: &str, task: Option<&str>) -> GraphEdge {
        GraphEdge {
            scope: scope.map(str::to_string),
            upstream: up.to_string(),
            downstream: down.to_string(),
            task_type: task.map(str::to_string),
            range: TextRange::default(),
        }
    }

    #[test]
    fn one_subgraph_per_function_and_a_node_per_sink() {
        let text = mermaid(&[
            edge(Some("main"), "Fetcher", "Parser", Some("Page")),
            edge(Some("main"), "Parser", "SinkWorker", Some("Summary")),
            edge(None, "A", "B", None),
        ]);
        assert_eq!(
            text,
            "flowchart LR\n    subgraph main[\"main\"]\n        main_Fetcher[\"Fetcher\"] -->|Page| main_Parser[\"Parser\"]\n        main_Parser[\"Parser\"] -->|Summary| main_Parser_sink_Summary[(\"sink: Summary\")]\n    end\n    subgraph module[\"module level\"]\n        module_A[\"A\"] -->|?| module_B[\"B\"]\n    end\n"
        );
    }

    #[test]
    fn a_file_without_graphs_says_so() {
        assert!(mermaid(&[]).contains("no graph built"));
    }
}
