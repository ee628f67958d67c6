//! In-process LSP tests of `planai/graph`, `planai.showGraph`'s DOT and the quick fixes
//! (`textDocument/codeAction`), on the bundled examples and small workflows.

mod lsp_client;

use lsp_client::*;
use serde_json::{json, Value};

fn example(relative: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(relative),
    )
    .expect("bundled example")
}

fn node<'a>(graph: &'a Value, id: &str) -> &'a Value {
    graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("no node {id} in {graph}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_request_returns_the_model_with_locations_across_files() {
    let mut client = WorkspaceBuilder::new()
        .file(
            "research_pkg/__init__.py",
            &example("research_pkg/__init__.py"),
        )
        .file("research_pkg/tasks.py", &example("research_pkg/tasks.py"))
        .file(
            "research_pkg/workers.py",
            &example("research_pkg/workers.py"),
        )
        .capabilities(neovim_capabilities())
        .start()
        .await;
    let source = example("research_pkg/graph.py");
    let uri = client.open("research_pkg/graph.py", &source, 1).await;
    client.await_diagnostics(&uri, 1).await;
    let model = client
        .request("planai/graph", json!({"textDocument": {"uri": uri}}))
        .await;
    assert_eq!(model["uri"], uri);
    let graphs = model["graphs"].as_array().unwrap();
    assert_eq!(graphs.len(), 1, "{model}");
    let graph = &graphs[0];
    assert_eq!(graph["scope"], "build_graph");
    assert_eq!(graph["name"], "research");
    assert_eq!(graph["variable"], "graph");
    let planner = node(graph, "planner");
    assert_eq!(planner["class"], "QueryPlanner");
    assert_eq!(planner["kind"], "LLMTaskWorker");
    assert_eq!(
        planner["classLocation"]["uri"],
        client.uri("research_pkg/workers.py")
    );
    let created_line = source
        .lines()
        .position(|l| l.contains("planner = QueryPlanner("))
        .unwrap();
    assert_eq!(planner["instantiation"]["uri"], uri);
    assert_eq!(
        planner["instantiation"]["range"]["start"]["line"],
        created_line
    );
    let edges = graph["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["upstream"], "planner");
    assert_eq!(edges[0]["downstream"], "searcher");
    assert!(edges[0]["taskType"].is_string());
    let edge_line = source
        .lines()
        .position(|l| l.contains("graph.set_dependency(planner, searcher)"))
        .unwrap();
    assert_eq!(edges[0]["location"]["range"]["start"]["line"], edge_line);
    assert_eq!(graph["sinks"][0]["node"], "writer");
    assert_eq!(graph["sinks"][0]["taskType"], "ResearchReport");
    assert_eq!(graph["entries"][0]["node"], "planner");
    let report = model["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ResearchReport")
        .expect("the sunk Task type is described");
    assert_eq!(
        report["location"]["uri"],
        client.uri("research_pkg/tasks.py")
    );
    assert!(!report["fields"].as_array().unwrap().is_empty());
    let dot = model["dot"].as_str().unwrap();
    assert!(dot.contains("\"g0_planner\" -> \"g0_searcher\""), "{dot}");
    assert!(
        model.get("svg").is_none(),
        "the picture is only drawn when asked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_request_draws_an_svg_when_asked_and_follows_edits() {
    let mut client = WorkspaceBuilder::new().start().await;
    let source = example("text_pipeline.py");
    let uri = client.open("text_pipeline.py", &source, 1).await;
    client.await_diagnostics(&uri, 1).await;
    let model = client
        .request(
            "planai/graph",
            json!({"textDocument": {"uri": uri}, "svg": true}),
        )
        .await;
    let svg = model["svg"].as_str().expect("an SVG");
    assert!(svg.contains("<svg"), "{svg}");
    assert_eq!(svg.matches("class=\"worker\"").count(), 4);
    // Remove the keyword spotter's sink: the model follows the buffer.
    let sink_line = source
        .lines()
        .position(|l| l.contains("KeywordHit)") && l.contains("sink"))
        .expect("a KeywordHit sink in the example");
    let line_len = source.lines().nth(sink_line).unwrap().len() as u32;
    client
        .edit(
            &uri,
            2,
            json!({"start": {"line": sink_line, "character": 0}, "end": {"line": sink_line, "character": line_len}}),
            "    pass",
        )
        .await;
    let model = client
        .request("planai/graph", json!({"textDocument": {"uri": uri}}))
        .await;
    let sinks: Vec<&str> = model["graphs"][0]["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["taskType"].as_str().unwrap())
        .collect();
    assert_eq!(sinks, ["DocumentReport"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_request_rejects_missing_params_and_answers_unknown_files_with_no_graphs() {
    let mut client = WorkspaceBuilder::new().start().await;
    let id = client.send_request("planai/graph", json!({})).await;
    let response = client.response(id).await;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    let unknown = client.uri("nowhere.py");
    let model = client
        .request("planai/graph", json!({"textDocument": {"uri": unknown}}))
        .await;
    assert_eq!(model["graphs"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_graph_keeps_mermaid_and_adds_dot() {
    let mut client = WorkspaceBuilder::new().start().await;
    let uri = client
        .open("llm_review.py", &example("llm_review.py"), 1)
        .await;
    client.await_diagnostics(&uri, 1).await;
    let graph = client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.showGraph", "arguments": [uri]}),
        )
        .await;
    assert!(graph["mermaid"]
        .as_str()
        .unwrap()
        .starts_with("flowchart LR"));
    assert!(graph["edges"].is_array());
    let dot = graph["dot"].as_str().unwrap();
    assert!(dot.starts_with("digraph planai {"), "{dot}");
    assert!(dot.contains("[label=\"RatedIssue\"]"), "{dot}");
}
