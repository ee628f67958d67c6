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
    examples_with(json!({"untrustedWorkspace": true})).await
}

/// The examples, with these initialization options.
async fn examples_with(initialization_options: Value) -> TestClient {
    let mut client = WorkspaceBuilder::new()
        .file("research_pkg/__init__.py", INIT)
        .file("research_pkg/tasks.py", TASKS)
        .file("research_pkg/workers.py", WORKERS)
        .file("research_pkg/graph.py", GRAPH)
        .file("text_pipeline.py", PIPELINE)
        .file("llm_review.py", REVIEW)
        .initialization_options(initialization_options)
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

/// `(file name, line)` of each location of a response.
fn places(locations: &Value) -> Vec<(String, u64)> {
    locations
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {locations}"))
        .iter()
        .map(|l| {
            (
                l["uri"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                l["range"]["start"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn line_of(text: &str, needle: &str) -> u64 {
    text[..text.find(needle).unwrap()].matches('\n').count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definition_references_and_highlights_follow_tasks_and_workers_across_the_package() {
    let mut client = examples().await;
    let graph = client.uri("research_pkg/graph.py");
    // From the graph module to the Task class in tasks.py.
    let definition = client
        .request(
            "textDocument/definition",
            at(&graph, position(GRAPH, "ResearchReport)", 0, 3)),
        )
        .await;
    assert_eq!(definition["uri"], client.uri("research_pkg/tasks.py"));
    assert_eq!(
        definition["range"]["start"],
        position(TASKS, "ResearchReport(Task)", 0, 0)
    );
    // A worker variable's definition is its assignment.
    let definition = client
        .request(
            "textDocument/definition",
            at(&graph, position(GRAPH, "writer)", 0, 0)),
        )
        .await;
    assert_eq!(
        definition["range"]["start"],
        position(GRAPH, "writer = ", 0, 0)
    );

    let references = client
        .request(
            "textDocument/references",
            json!({
                "textDocument": {"uri": graph},
                "position": position(GRAPH, "ResearchReport)", 0, 3),
                "context": {"includeDeclaration": true}
            }),
        )
        .await;
    assert_eq!(
        places(&references),
        vec![
            (
                "__init__.py".to_string(),
                line_of(INIT, "from .tasks import")
            ),
            ("graph.py".to_string(), line_of(GRAPH, "from .tasks import")),
            ("graph.py".to_string(), line_of(GRAPH, "graph.set_sink")),
            (
                "tasks.py".to_string(),
                line_of(TASKS, "class ResearchReport")
            ),
            (
                "workers.py".to_string(),
                line_of(WORKERS, "from .tasks import")
            ),
            (
                "workers.py".to_string(),
                line_of(WORKERS, "output_types: List[Type[Task]] = [ResearchReport]")
            ),
            (
                "workers.py".to_string(),
                line_of(WORKERS, "report = ResearchReport(")
            ),
        ]
    );
    let without_declaration = client
        .request(
            "textDocument/references",
            json!({
                "textDocument": {"uri": graph},
                "position": position(GRAPH, "ResearchReport)", 0, 3),
                "context": {"includeDeclaration": false}
            }),
        )
        .await;
    assert_eq!(places(&without_declaration).len(), 6);

    let highlights = client
        .request(
            "textDocument/documentHighlight",
            at(&graph, position(GRAPH, "planner, searcher, writer)", 0, 0)),
        )
        .await;
    let kinds: Vec<(u64, u64)> = highlights
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["range"]["start"]["line"].as_u64().unwrap(),
                h["kind"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (line_of(GRAPH, "planner = "), 3),
            (line_of(GRAPH, "graph.add_workers"), 2),
            (line_of(GRAPH, "graph.set_dependency"), 2),
            (line_of(GRAPH, "return graph, planner"), 2),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_of_a_task_class_edits_every_module_and_prepare_rename_refuses_planai_classes() {
    let mut client = examples().await;
    let workers = client.uri("research_pkg/workers.py");
    let prepared = client
        .request(
            "textDocument/prepareRename",
            at(&workers, position(WORKERS, "class CorpusSearcher", 0, 6)),
        )
        .await;
    assert_eq!(prepared["placeholder"], "CorpusSearcher");
    let edit = client
        .request(
            "textDocument/rename",
            json!({
                "textDocument": {"uri": workers},
                "position": position(WORKERS, "class CorpusSearcher", 0, 6),
                "newName": "Searcher"
            }),
        )
        .await;
    let changes = edit["changes"].as_object().unwrap();
    let mut edited: Vec<(String, usize)> = changes
        .iter()
        .map(|(uri, edits)| {
            (
                uri.rsplit('/').next().unwrap().to_string(),
                edits.as_array().unwrap().len(),
            )
        })
        .collect();
    edited.sort();
    assert_eq!(
        edited,
        vec![("graph.py".to_string(), 2), ("workers.py".to_string(), 1)]
    );
    assert!(changes
        .values()
        .flat_map(|e| e.as_array().unwrap())
        .all(|e| e["newText"] == "Searcher"));

    let refused = client
        .send_request(
            "textDocument/prepareRename",
            at(&workers, position(WORKERS, "(TaskWorker)", 0, 1)),
        )
        .await;
    let response = client.response(refused).await;
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PlanAI's own classes"),
        "{response}"
    );
    let invalid = client
        .send_request(
            "textDocument/rename",
            json!({
                "textDocument": {"uri": workers},
                "position": position(WORKERS, "class CorpusSearcher", 0, 6),
                "newName": "not valid"
            }),
        )
        .await;
    let response = client.response(invalid).await;
    assert!(response["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a valid Python identifier"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_and_workspace_symbols_outline_the_planai_model() {
    let mut client = examples().await;
    let pipeline = client.uri("text_pipeline.py");
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": pipeline}}),
        )
        .await;
    let symbols = symbols.as_array().unwrap();
    let document = symbols.iter().find(|s| s["name"] == "Document").unwrap();
    assert_eq!(document["kind"], 23); // Struct: a Task
    let fields: Vec<&str> = document["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["doc_id", "text"]);
    let splitter = symbols.iter().find(|s| s["name"] == "Splitter").unwrap();
    assert_eq!(splitter["detail"], "Document → Sentence, ScanRequest");
    let builder = symbols.iter().find(|s| s["name"] == "build_graph").unwrap();
    assert_eq!(builder["detail"], "graph builder");
    let inside: Vec<(&str, &str)> = builder["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(inside[0], ("graph", "Graph"));
    assert_eq!(
        inside[4],
        (
            "aggregator",
            "StatsAggregator: SentenceStats → DocumentReport"
        )
    );

    let found = client
        .request("workspace/symbol", json!({"query": "Report"}))
        .await;
    let mut names: Vec<(String, String)> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["containerName"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("DocumentReport".to_string(), "text_pipeline".to_string()),
            (
                "ReportWriter".to_string(),
                "research_pkg.workers".to_string()
            ),
            (
                "ResearchReport".to_string(),
                "research_pkg.tasks".to_string()
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_lenses_count_producers_and_consumers_and_offer_show_run_and_debug() {
    // Trusted (runs are possible), with validation off so no interpreter starts.
    let mut client =
        examples_with(json!({"settings": {"planai": {"validation": {"run": "off"}}}})).await;
    let capabilities = &client.initialize_result["capabilities"];
    assert_eq!(capabilities["codeLensProvider"]["resolveProvider"], false);
    assert!(capabilities["executeCommandProvider"]["commands"]
        .as_array()
        .unwrap()
        .contains(&json!("planai.showReferences")));

    let pipeline = client.uri("text_pipeline.py");
    let lenses = client
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": pipeline}}),
        )
        .await;
    let lenses = lenses.as_array().unwrap();
    let sentence = lenses
        .iter()
        .find(|l| l["range"]["start"] == position(PIPELINE, "Sentence(Task)", 0, 0))
        .unwrap();
    assert_eq!(
        sentence["command"]["title"],
        "produced by 1 · consumed by 1"
    );
    assert_eq!(sentence["command"]["command"], "planai.showReferences");
    let argument = &sentence["command"]["arguments"][0];
    assert_eq!(argument["uri"], pipeline);
    assert_eq!(
        argument["position"],
        position(PIPELINE, "Sentence(Task)", 0, 0)
    );
    assert_eq!(
        places(&argument["locations"]),
        vec![
            (
                "text_pipeline.py".to_string(),
                line_of(PIPELINE, "class Splitter")
            ),
            (
                "text_pipeline.py".to_string(),
                line_of(PIPELINE, "class WordCounter")
            ),
        ]
    );
    // The command answers with the locations it was given.
    let answered = client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.showReferences", "arguments": [argument]}),
        )
        .await;
    assert_eq!(answered, argument["locations"]);

    let commands: Vec<(String, Value)> = lenses
        .iter()
        .filter(|l| l["command"]["command"] != "planai.showReferences")
        .map(|l| {
            (
                l["command"]["title"].as_str().unwrap().to_string(),
                l["command"]["arguments"][0].clone(),
            )
        })
        .collect();
    assert_eq!(
        commands,
        vec![
            ("Show graph".to_string(), json!({"uri": pipeline})),
            (
                "Run graph".to_string(),
                json!({"uri": pipeline, "graph": "build_graph"})
            ),
            (
                "Debug graph".to_string(),
                json!({"uri": pipeline, "graph": "build_graph"})
            ),
            ("Show graph".to_string(), json!({"uri": pipeline})),
            (
                "Run graph".to_string(),
                json!({"uri": pipeline, "graph": null})
            ),
            (
                "Debug graph".to_string(),
                json!({"uri": pipeline, "graph": null})
            ),
        ]
    );
    let builder_lens = lenses
        .iter()
        .find(|l| l["command"]["title"] == "Run graph")
        .unwrap();
    assert_eq!(
        builder_lens["range"]["start"],
        position(PIPELINE, "build_graph()", 0, 0)
    );
    let main_lens = lenses
        .iter()
        .rfind(|l| l["command"]["title"] == "Run graph")
        .unwrap();
    assert_eq!(
        main_lens["range"]["start"]["line"],
        line_of(PIPELINE, "if __name__")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_workspace_gets_no_run_or_debug_lenses() {
    let mut client = examples().await;
    let pipeline = client.uri("text_pipeline.py");
    let lenses = client
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": pipeline}}),
        )
        .await;
    let titles: Vec<&str> = lenses
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["command"]["command"] != "planai.showReferences")
        .map(|l| l["command"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["Show graph", "Show graph"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inlay_hints_show_what_each_instantiated_worker_consumes_and_produces() {
    let mut client = examples().await;
    assert_eq!(
        client.initialize_result["capabilities"]["inlayHintProvider"],
        true
    );
    let graph = client.uri("research_pkg/graph.py");
    let last_line = GRAPH.matches('\n').count();
    let hints = client
        .request(
            "textDocument/inlayHint",
            json!({
                "textDocument": {"uri": graph},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": last_line, "character": 0}}
            }),
        )
        .await;
    let shown: Vec<(Value, &str)> = hints
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["position"].clone(), h["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                position(
                    GRAPH,
                    "QueryPlanner(llm=llm)",
                    0,
                    "QueryPlanner(llm=llm)".len()
                ),
                "ResearchQuestion → SearchQuery"
            ),
            (
                position(
                    GRAPH,
                    "CorpusSearcher(max_hits=1)",
                    0,
                    "CorpusSearcher(max_hits=1)".len()
                ),
                "SearchQuery → Finding"
            ),
            (
                position(GRAPH, "ReportWriter()", 0, "ReportWriter()".len()),
                "Finding → ResearchReport"
            ),
        ]
    );
}

/// `(label, sortText)` of a completion response.
fn completion_items(response: &Value) -> Vec<(String, String)> {
    let items = response
        .as_array()
        .or_else(|| response["items"].as_array())
        .unwrap_or_else(|| panic!("no completion items: {response}"));
    let mut items: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["label"].as_str().unwrap().to_string(),
                i["sortText"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    items.sort_by(|a, b| a.1.cmp(&b.1));
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_offers_ranked_workers_tasks_fields_providers_and_snippets() {
    let mut client = examples().await;
    let triggers =
        &client.initialize_result["capabilities"]["completionProvider"]["triggerCharacters"];
    for trigger in [".", "(", ","] {
        assert!(
            triggers.as_array().unwrap().contains(&json!(trigger)),
            "{triggers}"
        );
    }
    let pipeline = client.uri("text_pipeline.py");
    // A new wiring line in build_graph: after `counter`, the workers consuming what it
    // produces (SentenceStats: the aggregator) come first.
    let line = line_of(PIPELINE, "    return graph, splitter");
    let typed = "    graph.set_dependency(counter, \n";
    client
        .edit(
            &pipeline,
            2,
            json!({"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}),
            typed,
        )
        .await;
    let response = client
        .request(
            "textDocument/completion",
            at(
                &pipeline,
                json!({"line": line, "character": typed.len() - 1}),
            ),
        )
        .await;
    let items = completion_items(&response);
    assert_eq!(items[0].0, "aggregator");
    let labels: Vec<&str> = items.iter().map(|i| i.0.as_str()).collect();
    assert_eq!(labels.len(), 4);
    assert!(labels.contains(&"spotter") && labels.contains(&"splitter"));

    // `set_sink(aggregator, ` offers Task classes, DocumentReport (what it produces) first.
    let typed_sink = "    graph.set_sink(aggregator, \n";
    client
        .edit(
            &pipeline,
            3,
            json!({"start": {"line": line, "character": 0}, "end": {"line": line + 1, "character": 0}}),
            typed_sink,
        )
        .await;
    let response = client
        .request(
            "textDocument/completion",
            at(
                &pipeline,
                json!({"line": line, "character": typed_sink.len() - 1}),
            ),
        )
        .await;
    let items = completion_items(&response);
    assert_eq!(items[0].0, "DocumentReport");
    assert_eq!(items.len(), 6);

    // `task.` in consume_work: the fields of the annotated Task (the unfinished line
    // removed first: while a bracket is open, the module does not parse).
    client
        .edit(
            &pipeline,
            4,
            json!({"start": {"line": line, "character": 0}, "end": {"line": line + 1, "character": 0}}),
            "",
        )
        .await;
    let counter_line = line_of(PIPELINE, "        words = len(task.text.split())");
    let response = client
        .request(
            "textDocument/completion",
            at(
                &pipeline,
                json!({"line": counter_line, "character": "        words = len(task.".len()}),
            ),
        )
        .await;
    let fields: Vec<String> = completion_items(&response)
        .into_iter()
        .map(|i| i.0)
        .collect();
    assert_eq!(fields.len(), 3);
    for field in ["doc_id", "index", "text"] {
        assert!(fields.contains(&field.to_string()), "{fields:?}");
    }

    // Providers in llm_from_config, quoted when the cursor is not in a string yet.
    let review = client.uri("llm_review.py");
    let typed_llm = "llm = llm_from_config(provider=";
    let end = REVIEW.matches('\n').count();
    client
        .edit(
            &review,
            2,
            json!({"start": {"line": end, "character": 0}, "end": {"line": end, "character": 0}}),
            typed_llm,
        )
        .await;
    let response = client
        .request(
            "textDocument/completion",
            at(&review, json!({"line": end, "character": typed_llm.len()})),
        )
        .await;
    let first = &response.as_array().unwrap()[0];
    assert_eq!(first["label"], "ollama");
    assert_eq!(first["textEdit"]["newText"], "\"ollama\"");

    // Snippets at the start of a module-level line.
    let response = client
        .request(
            "textDocument/completion",
            at(
                &review,
                json!({"line": line_of(REVIEW, "class CodeSubmission") - 1, "character": 0}),
            ),
        )
        .await;
    let snippets: Vec<&Value> = response.as_array().unwrap().iter().collect();
    let llm_worker = snippets
        .iter()
        .find(|s| s["label"] == "LLMTaskWorker")
        .unwrap();
    assert_eq!(llm_worker["insertTextFormat"], 2);
    assert!(llm_worker["textEdit"]["newText"]
        .as_str()
        .unwrap()
        .contains("llm_input_type: Type[Task] = ${3:InputTask}"));
}

/// Clients without code lenses (Helix, Neovim by default) get the lenses' run commands as
/// source actions on the builder's line; VS Code lists them under Source Action….
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_debug_are_code_actions_on_a_builder_line_in_a_trusted_workspace() {
    let mut client =
        examples_with(json!({"settings": {"planai": {"validation": {"run": "off"}}}})).await;
    let pipeline = client.uri("text_pipeline.py");
    let at_builder = position(PIPELINE, "build_graph()", 0, 0);
    let ask = |only: Value| {
        json!({
            "textDocument": {"uri": pipeline},
            "range": {"start": at_builder, "end": at_builder},
            "context": {"diagnostics": [], "only": only},
        })
    };
    let actions = client
        .request("textDocument/codeAction", ask(Value::Null))
        .await;
    let runs: Vec<(String, Value)> = actions
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "source.planai.run")
        .map(|a| {
            (
                a["title"].as_str().unwrap().to_string(),
                a["command"].clone(),
            )
        })
        .collect();
    assert_eq!(
        runs,
        vec![
            (
                "Run graph: build_graph()".to_string(),
                json!({"title": "Run graph", "command": "planai.run", "arguments": [{"uri": pipeline, "graph": "build_graph"}]})
            ),
            (
                "Debug graph: build_graph()".to_string(),
                json!({"title": "Debug graph", "command": "planai.debug", "arguments": [{"uri": pipeline, "graph": "build_graph"}]})
            ),
        ]
    );
    // Asked for quick fixes only, or on another line: none.
    let quickfix_only = client
        .request("textDocument/codeAction", ask(json!(["quickfix"])))
        .await;
    assert!(quickfix_only
        .as_array()
        .is_none_or(|a| a.iter().all(|a| a["kind"] != "source.planai.run")));
    let elsewhere = position(PIPELINE, "Sentence(Task)", 0, 0);
    let other_line = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": pipeline}, "range": {"start": elsewhere, "end": elsewhere}, "context": {"diagnostics": []}}),
        )
        .await;
    assert!(other_line
        .as_array()
        .is_none_or(|a| a.iter().all(|a| a["kind"] != "source.planai.run")));

    // Untrusted: runs are refused, so none is offered.
    let mut untrusted = examples().await;
    let pipeline = untrusted.uri("text_pipeline.py");
    let actions = untrusted
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": pipeline}, "range": {"start": at_builder, "end": at_builder}, "context": {"diagnostics": []}}),
        )
        .await;
    assert!(actions
        .as_array()
        .is_none_or(|a| a.iter().all(|a| a["kind"] != "source.planai.run")));
}

/// A request sent right after an edit answers for the edited text: here three lines are
/// inserted above a Task and the hover asks at the Task's new line at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hover_right_after_an_edit_answers_for_the_edited_text() {
    let text = "from planai import Task\n\n\nclass Question(Task):\n    text: str\n";
    let mut client = WorkspaceBuilder::new()
        .initialization_options(json!({"untrustedWorkspace": true}))
        .start()
        .await;
    let uri = client.open("q.py", text, 1).await;
    client.await_diagnostics(&uri, 1).await;
    for version in 2..12 {
        client
            .change(
                &uri,
                version,
                json!([{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "# a comment\n"}]),
            )
            .await;
        // The class line moved down by one line per edit so far.
        let line = 3 + (version - 1);
        let hover = client
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": 8}}),
            )
            .await;
        let value = hover["contents"]["value"].as_str().unwrap_or_default();
        assert!(
            value.contains("class Question(Task)") && value.contains("text: str"),
            "version {version}, line {line}: {hover}"
        );
    }
}
