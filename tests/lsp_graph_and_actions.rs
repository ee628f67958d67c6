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
    // Opened (not only indexed from disk) so the test does not race the workspace index.
    for module in ["tasks", "workers"] {
        let relative = format!("research_pkg/{module}.py");
        let other = client.open(&relative, &example(&relative), 1).await;
        client.await_diagnostics(&other, 1).await;
    }
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

/// Applies the `changes` of a `WorkspaceEdit` for `uri` to `text` (LSP positions in UTF-16;
/// the test texts are ASCII, so characters are bytes).
fn apply_changes(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let character = p["character"].as_u64().unwrap() as usize;
        text.split_inclusive('\n')
            .take(line)
            .map(str::len)
            .sum::<usize>()
            + character
    };
    let mut located: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap(),
            )
        })
        .collect();
    located.sort_by_key(|(start, end, _)| std::cmp::Reverse((*start, *end)));
    let mut out = text.to_string();
    for (start, end, new_text) in located {
        out.replace_range(start..end, new_text);
    }
    out
}

const ORDER_FLOW: &str = "from typing import List, Type\n\nfrom planai import Task, TaskWorker\n\n\nclass Order(Task):\n    order_id: str\n\n\nclass Approved(Task):\n    order_id: str\n\n\nclass Rejected(Task):\n    order_id: str\n\n\nclass Approver(TaskWorker):\n    output_types: List[Type[Task]] = [Approved]\n\n    def consume_work(self, task: Order):\n        self.publish_work(Rejected(order_id=task.order_id), input_task=task)\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_action_fixes_a_diagnostic_with_a_workspace_edit_that_removes_it() {
    let mut client = WorkspaceBuilder::new().start().await;
    assert_eq!(
        client.initialize_result["capabilities"]["codeActionProvider"]["codeActionKinds"],
        json!(["quickfix", "source.planai.run"])
    );
    let uri = client.open("orders.py", ORDER_FLOW, 1).await;
    let diagnostics = client.await_diagnostics(&uri, 1).await;
    let rt1 = diagnostics
        .iter()
        .find(|d| d["code"] == "RT1")
        .expect("RT1 on the publish_work argument")
        .clone();
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": rt1["range"],
                "context": {"diagnostics": [rt1.clone()]},
            }),
        )
        .await;
    let action = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Add Rejected to Approver's output_types")
        .unwrap_or_else(|| panic!("{actions}"));
    assert_eq!(action["kind"], "quickfix");
    assert_eq!(action["isPreferred"], true);
    assert_eq!(action["diagnostics"][0]["code"], "RT1");
    let edits = action["edit"]["changes"][&uri].as_array().unwrap();
    let fixed = apply_changes(ORDER_FLOW, edits);
    assert!(fixed.contains("= [Approved, Rejected]"), "{fixed}");
    // The client applies the edit; the server checks the new text: RT1 is gone.
    client.change(&uri, 2, json!([{"text": fixed}])).await;
    let after = client.await_diagnostics(&uri, 2).await;
    assert!(!codes(&after).contains(&"RT1".to_string()), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_action_edits_other_files_and_honours_only() {
    let tasks = "from planai import Task\n\n\nclass Recipe(Task):\n    name: str\n";
    let workers = "from typing import List, Type\n\nfrom planai import Task, TaskWorker\n\nfrom app.tasks import Recipe\n\n\nclass Source(TaskWorker):\n    output_types: List[Type[Task]] = [Recipe]\n\n    def consume_work(self, task: Recipe):\n        self.publish_work(Recipe(name=task.name), input_task=task)\n\n\nclass Maker(TaskWorker):\n    def consume_work(self, task):\n        pass\n";
    let main = "from planai import Graph\n\nfrom app.workers import Maker, Source\n\n\ndef main():\n    graph = Graph(name=\"g\")\n    source = Source()\n    maker = Maker()\n    graph.add_workers(source, maker)\n    graph.set_dependency(source, maker)\n";
    let mut client = WorkspaceBuilder::new()
        .file("app/__init__.py", "")
        .start()
        .await;
    // Opened first (not only indexed from disk) so the test does not race the workspace index.
    for (relative, text) in [("app/tasks.py", tasks), ("app/workers.py", workers)] {
        let other = client.open(relative, text, 1).await;
        client.await_diagnostics(&other, 1).await;
    }
    let uri = client.open("app/main.py", main, 1).await;
    let diagnostics = client.await_diagnostics(&uri, 1).await;
    let gc5 = diagnostics
        .iter()
        .find(|d| d["code"] == "GC5")
        .unwrap_or_else(|| panic!("{diagnostics:?}"))
        .clone();
    let request = |only: Value| {
        json!({
            "textDocument": {"uri": uri},
            "range": gc5["range"],
            "context": {"diagnostics": [gc5.clone()], "only": only},
        })
    };
    let refactor_only = client
        .request("textDocument/codeAction", request(json!(["refactor"])))
        .await;
    assert_eq!(refactor_only, Value::Null);
    let actions = client
        .request("textDocument/codeAction", request(json!(["quickfix"])))
        .await;
    let action = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Annotate task as Recipe")
        .unwrap_or_else(|| panic!("{actions}"));
    let workers_uri = client.uri("app/workers.py");
    let changes = action["edit"]["changes"].as_object().unwrap();
    assert_eq!(changes.keys().collect::<Vec<_>>(), [&workers_uri]);
    let fixed = apply_changes(workers, changes[&workers_uri].as_array().unwrap());
    assert!(
        fixed.contains("def consume_work(self, task: Recipe):\n        pass"),
        "{fixed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_action_imports_a_task_class_from_the_workspace() {
    let tasks = "from planai import Task\n\n\nclass Recipe(Task):\n    name: str\n";
    let main = "from planai import Graph\n\nrecipe = Recipe(name=\"soup\")\n";
    let mut client = WorkspaceBuilder::new()
        .file("app/__init__.py", "")
        .start()
        .await;
    let tasks_uri = client.open("app/tasks.py", tasks, 1).await;
    client.await_diagnostics(&tasks_uri, 1).await;
    let uri = client.open("app/main.py", main, 1).await;
    client.await_diagnostics(&uri, 1).await;
    let cursor = json!({"line": 2, "character": 11});
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": {"start": cursor, "end": cursor},
                "context": {"diagnostics": []},
            }),
        )
        .await;
    let action = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Import Recipe from app.tasks")
        .unwrap_or_else(|| panic!("{actions}"));
    let fixed = apply_changes(main, action["edit"]["changes"][&uri].as_array().unwrap());
    assert_eq!(
        fixed,
        "from planai import Graph\nfrom app.tasks import Recipe\n\nrecipe = Recipe(name=\"soup\")\n"
    );
}
