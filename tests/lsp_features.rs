//! In-process LSP tests of the language features (hover, navigation, symbols, lenses, inlay
//! hints, completion) on the example workflows of `examples/`.

mod lsp_client;

use lsp_client::*;
use serde_json::{json, Value};

const TASKS: &str = include_str!("../examples/research_pkg/tasks.py");
const WORKERS: &str = include_str!("../examples/research_pkg/workers.py");
const GRAPH: &str = include_str!("../examples/research_pkg/graph.py");
const INIT: &str = include_str!("../examples/research_pkg/__init__.py");
const PIPELINE: &str = include_str!("../examples/text_pipeline.py");
const REVIEW: &str = include_str!("../examples/llm_review.py");

/// The examples as a workspace, every module opened and checked once (so the analysis holds
/// all of them). No interpreter is ever launched: the workspace is untrusted.
async fn examples() -> TestClient {
    let mut client = WorkspaceBuilder::new()
        .file("research_pkg/__init__.py", INIT)
        .file("research_pkg/tasks.py", TASKS)
        .file("research_pkg/workers.py", WORKERS)
        .file("research_pkg/graph.py", GRAPH)
        .file("text_pipeline.py", PIPELINE)
        .file("llm_review.py", REVIEW)
        .initialization_options(json!({"untrustedWorkspace": true}))
        .start()
        .await;
    for (relative, text) in [
        ("research_pkg/__init__.py", INIT),
        ("research_pkg/tasks.py", TASKS),
        ("research_pkg/workers.py", WORKERS),
        ("research_pkg/graph.py", GRAPH),
        ("text_pipeline.py", PIPELINE),
        ("llm_review.py", REVIEW),
    ] {
        let uri = client.open(relative, text, 1).await;
        client.await_diagnostics(&uri, 1).await;
    }
    client
}

/// The LSP position of the `n`th occurrence of `needle` in `text`, `shift` bytes into it
/// (the examples are ASCII, so bytes are UTF-16 code units).
fn position(text: &str, needle: &str, n: usize, shift: usize) -> Value {
    let offset = text
        .match_indices(needle)
        .nth(n)
        .unwrap_or_else(|| panic!("{needle:?} #{n} not found"))
        .0
        + shift;
    let line = text[..offset].matches('\n').count();
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": column})
}

fn at(uri: &str, position: Value) -> Value {
    json!({"textDocument": {"uri": uri}, "position": position})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_describes_tasks_workers_variables_and_graphs_of_the_examples() {
    let mut client = examples().await;
    assert_eq!(
        client.initialize_result["capabilities"]["hoverProvider"],
        true
    );
    let tasks = client.uri("research_pkg/tasks.py");
    let hover = client
        .request(
            "textDocument/hover",
            at(&tasks, position(TASKS, "class QueryPlan", 0, 8)),
        )
        .await;
    assert_eq!(hover["contents"]["kind"], "markdown");
    let card = hover["contents"]["value"].as_str().unwrap();
    assert!(
        card.contains("- `queries: List[str]` *(required)* — search queries, most specific first"),
        "{card}"
    );
    assert!(
        card.contains("Produced by nothing in the workspace"),
        "{card}"
    );
    assert_eq!(
        hover["range"],
        json!({"start": position(TASKS, "QueryPlan", 0, 0), "end": position(TASKS, "QueryPlan", 0, 9)})
    );

    let workers = client.uri("research_pkg/workers.py");
    let hover = client
        .request(
            "textDocument/hover",
            at(&workers, position(WORKERS, "class QueryPlanner", 0, 8)),
        )
        .await;
    let card = hover["contents"]["value"].as_str().unwrap();
    assert!(
        card.contains("**LLMTaskWorker** · `ResearchQuestion → SearchQuery`"),
        "{card}"
    );
    assert!(card.contains("- `llm_output_type` = `QueryPlan`"), "{card}");
    assert!(
        card.contains("Plan up to {max_queries} short keyword queries that would find documents\nanswering the research question."),
        "{card}"
    );

    let graph = client.uri("research_pkg/graph.py");
    let hover = client
        .request(
            "textDocument/hover",
            at(&graph, position(GRAPH, "searcher, writer)", 0, 1)),
        )
        .await;
    let card = hover["contents"]["value"].as_str().unwrap();
    assert!(
        card.starts_with("`searcher`: instance of `CorpusSearcher`"),
        "{card}"
    );
    assert!(card.contains("`SearchQuery → Finding`"), "{card}");

    let pipeline = client.uri("text_pipeline.py");
    let hover = client
        .request(
            "textDocument/hover",
            at(&pipeline, position(PIPELINE, "graph.set_sink", 0, 1)),
        )
        .await;
    let card = hover["contents"]["value"].as_str().unwrap();
    assert!(
        card.contains("- `Splitter` → `WordCounter` (Sentence)"),
        "{card}"
    );
    assert!(
        card.contains("- `StatsAggregator` → `SinkWorker` (DocumentReport)"),
        "{card}"
    );

    // Nothing PlanAI under the cursor: no hover.
    let hover = client
        .request(
            "textDocument/hover",
            at(&pipeline, position(PIPELINE, "KEYWORDS = ", 0, 0)),
        )
        .await;
    assert_eq!(hover, Value::Null);
}
