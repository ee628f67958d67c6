//! PlanAI Editor interop (issue #15): every fixture graph under
//! `tests/fixtures/editor_graphs/` is imported into a module that our own check accepts
//! without a diagnostic and that imports, builds its graph and keeps every nasty string in
//! the real planai venv; exporting the module gives the graph back (every node type), and
//! export → import → export is stable. Also the CLI and the two LSP commands.

mod lsp_client;
mod venv_and_processes;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use planai_lsp::analysis::AnalysisHost;
use planai_lsp::interop::{self, ExportedGraph, SavedGraph};
use serde_json::{json, Value};

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/editor_graphs");
    let mut found: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    found.sort();
    assert!(found.len() >= 4, "fixtures missing in {}", dir.display());
    found
}

fn fixture(name: &str) -> String {
    fixtures()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .1
}

fn import(json: &str) -> String {
    interop::import_editor_graph(json).unwrap().source
}

/// Exports `source` as the module `/ws/<name>.py` of a one-file workspace.
fn export(name: &str, source: &str) -> ExportedGraph {
    let path = PathBuf::from(format!("/ws/{name}.py"));
    let mut host = AnalysisHost::new();
    host.set_roots(vec![PathBuf::from("/ws")]);
    host.set_file(path.clone(), Arc::from(source), None);
    interop::module_to_graph(&host, &path, name).unwrap()
}

#[test]
fn the_fixtures_cover_every_node_type_the_editor_had() {
    let mut kinds = BTreeSet::new();
    for (_, json) in fixtures() {
        let raw: Value = serde_json::from_str(&json).unwrap();
        for node in raw["nodes"].as_array().unwrap() {
            kinds.insert(node["type"].as_str().unwrap().to_string());
        }
    }
    for kind in [
        "task",
        "taskimport",
        "taskworker",
        "llmtaskworker",
        "joinedtaskworker",
        "chattaskworker",
        "subgraphworker",
        "datainput",
        "dataoutput",
        "tool",
        "modulelevelimport",
    ] {
        assert!(kinds.contains(kind), "no fixture has a {kind} node");
    }
}

#[test]
fn every_generated_module_has_no_diagnostics_from_our_check() {
    for (name, json) in fixtures() {
        let source = import(&json);
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/ws")]);
        let checked = planai_lsp::analysis::check::check_files(
            &mut host,
            vec![(
                PathBuf::from(format!("/ws/{name}.py")),
                Arc::from(source.as_str()),
            )],
        );
        let diagnostics: Vec<String> = checked[0]
            .diagnostics
            .iter()
            .map(|d| format!("{:?} {}", d.code, d.message))
            .collect();
        assert!(
            diagnostics.is_empty(),
            "{name}: {diagnostics:#?}\n---\n{source}"
        );
    }
}

/// Imports each generated module in the planai venv, builds its graph (planai checks the
/// wiring: dependencies, entries, sinks) and reports what the module holds, for comparison
/// with the fixture.
const PROBE: &str = r#"
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
report = {}
for name in sys.argv[2:]:
    m = importlib.import_module(name)
    graph, initial = m.build_graph()
    from planai import Task, TaskWorker
    tasks = {k: v for k, v in vars(m).items() if isinstance(v, type) and issubclass(v, Task) and v.__module__ == m.__name__}
    workers = {k: v for k, v in vars(m).items() if isinstance(v, type) and issubclass(v, TaskWorker) and v.__module__ == m.__name__}
    report[name] = {
        "graph_name": graph.name,
        "workers_in_graph": len(graph.workers),
        "initial": [[type(t).__name__, t.model_dump(mode="json", by_alias=True)] for _, t in initial],
        "descriptions": {c: {(f.alias or n): f.description for n, f in t.model_fields.items() if f.description} for c, t in tasks.items()},
        "prompts": {c: {k: w.model_fields[k].default for k in ("prompt", "system_prompt") if k in w.model_fields and w.model_fields[k].default} for c, w in workers.items()},
    }
print(json.dumps(report))
"#;

#[test]
fn every_generated_module_imports_and_builds_its_graph_in_the_planai_venv() {
    let python = venv_and_processes::test_venv_python();
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for (name, json) in fixtures() {
        std::fs::write(dir.path().join(format!("{name}.py")), import(&json)).unwrap();
        names.push(name);
    }
    let output = Command::new(&python)
        .arg("-c")
        .arg(PROBE)
        .arg(dir.path())
        .args(&names)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    for (name, json) in fixtures() {
        let graph = SavedGraph::parse(&json).unwrap();
        let module = &report[&name];
        // The initial tasks are the data-input nodes with valid JSON, their data unchanged.
        let mut expected = Vec::new();
        for edge in &graph.edges {
            let Some(source) = graph.node(&edge.source).filter(|n| n.kind == "datainput") else {
                continue;
            };
            if let Ok(data) =
                serde_json::from_str::<Value>(source.data["jsonData"].as_str().unwrap())
            {
                expected.push(data);
            }
        }
        let initial: Vec<Value> = module["initial"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| pair[1].clone())
            .collect();
        assert_eq!(initial.len(), expected.len(), "{name}: {module}");
        for (got, want) in initial.iter().zip(&expected) {
            for (key, value) in want.as_object().unwrap() {
                // Numbers by value: JSON's -0 and 1.5e3 are Python's 0 and 1500.0.
                let same = got[key] == *value
                    || (value.is_number() && got[key].as_f64() == value.as_f64());
                assert!(
                    same,
                    "{name}: initial task field {key}: {} != {value}",
                    got[key]
                );
            }
        }
        // Descriptions and prompts come back character for character.
        for task in &graph.tasks {
            for field in &task.fields {
                if let Some(description) = &field.description {
                    let found = module["descriptions"]
                        .as_object()
                        .unwrap()
                        .values()
                        .any(|fields| fields[&field.name] == json!(description));
                    assert!(
                        found,
                        "{name}: description of {}.{}",
                        task.class_name, field.name
                    );
                }
            }
        }
        for node in &graph.nodes {
            for key in ["prompt", "system_prompt"] {
                let Some(text) = node.data[key].as_str() else {
                    continue;
                };
                let dedented = if text.contains('\n') {
                    interop::python_text::dedent(text)
                } else {
                    text.to_string()
                };
                let found = module["prompts"]
                    .as_object()
                    .unwrap()
                    .values()
                    .any(|p| p[key] == json!(dedented));
                assert!(
                    found,
                    "{name}: {key} of {}: {:?}",
                    node.id, module["prompts"]
                );
            }
        }
        let name_in_graph = graph.name.clone().filter(|n| !n.is_empty());
        assert_eq!(
            module["graph_name"],
            json!(name_in_graph.unwrap_or_else(|| "GeneratedPlan".into())),
            "{name}"
        );
    }
    // Two nodes of one worker class stay two instances (and share the class).
    let every = &report["every_node_type"];
    assert_eq!(every["workers_in_graph"], json!(6 + 3 + 1), "{every}");
}

/// What a graph says, without ids and positions: for comparing a graph with its round trip.
fn shape(graph: &SavedGraph) -> Value {
    let task_name = |reference: &str| {
        graph
            .task(reference)
            .map(|t| t.class_name.clone())
            .unwrap_or_else(|| reference.to_string())
    };
    let tool_name = |reference: &str| {
        graph
            .tools
            .iter()
            .find(|t| t.id == reference || t.name == reference)
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let label = |id: &str| {
        let node = graph.node(id).unwrap();
        let data = &node.data;
        let name = match (data["variableName"].as_str(), data["workerName"].as_str()) {
            (Some(variable), _) => variable.to_string(),
            (None, Some(class)) if node.kind.ends_with("worker") => {
                interop::python_text::snake_case(class)
            }
            _ => data["className"].as_str().unwrap_or("").to_string(),
        };
        match node.kind.as_str() {
            "datainput" => format!(
                "datainput {name} {}",
                serde_json::from_str::<Value>(data["jsonData"].as_str().unwrap()).unwrap()
            ),
            "dataoutput" => format!("dataoutput {}", data["inputTypes"][0]),
            kind => format!("{kind} {name}"),
        }
    };
    let mut workers: Vec<Value> = graph
        .nodes
        .iter()
        .filter(|n| n.kind.ends_with("worker"))
        .map(|n| {
            let w = interop::editor_graph::WorkerData::from_data(&n.data);
            json!({
                "kind": n.kind,
                "class": w.class_name,
                "variable": w.variable_name.clone().unwrap_or_else(|| interop::python_text::snake_case(&w.class_name)),
                "input": w.input_type().map(&task_name),
                "outputs": w.output_types.iter().map(|t| task_name(t)).collect::<Vec<_>>(),
                "prompt": w.prompt.as_deref().map(interop::python_text::dedent),
                "system_prompt": w.system_prompt.as_deref().map(interop::python_text::dedent),
                "tools": w.tools.iter().map(|t| tool_name(t)).collect::<Vec<_>>(),
                "cached": w.is_cached,
                "entry": w.entry_point || graph.edges.iter().any(|e| e.target == n.id
                    && graph.node(&e.source).is_some_and(|s| s.kind == "datainput")),
                "methods": w.methods.iter().map(|(m, _)| m.clone()).collect::<BTreeSet<_>>(),
                "factory": w.factory_function,
            })
        })
        .collect();
    workers.sort_by_key(|w| w.to_string());
    let mut edges: Vec<String> = graph
        .edges
        .iter()
        .filter(|e| graph.node(&e.source).is_some() && graph.node(&e.target).is_some())
        .map(|e| format!("{} -> {}", label(&e.source), label(&e.target)))
        .collect();
    edges.sort();
    let tasks: Vec<Value> = graph
        .tasks
        .iter()
        .map(|t| {
            json!({"class": t.class_name, "fields": t.fields.iter().map(|f| json!({
                "name": f.name, "type": task_name(&f.field_type), "list": f.is_list,
                "required": f.required, "description": f.description,
                "literal": f.literal_values})).collect::<Vec<_>>()})
        })
        .collect();
    let mut imports: Vec<String> = graph
        .task_imports
        .iter()
        .filter(|t| t.is_implicit != Some(true))
        .map(|t| format!("{:?} {}", t.module_path, t.class_name))
        .collect();
    imports.sort();
    let tools: Vec<Value> = graph
        .tools
        .iter()
        .map(|t| json!([t.name, t.description]))
        .collect();
    json!({"tasks": tasks, "imports": imports, "tools": tools, "workers": workers, "edges": edges})
}

#[test]
fn exporting_the_imported_module_gives_the_graph_back() {
    let json = fixture("every_node_type");
    let original = SavedGraph::parse(&json).unwrap();
    let exported = export("every_node_type", &import(&json));
    let (want, got) = (shape(&original), shape(&exported.graph));
    for key in ["tasks", "imports", "tools", "workers", "edges"] {
        let (got, want) = (got[key].as_array().unwrap(), want[key].as_array().unwrap());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g, w, "{key} differ");
        }
        assert_eq!(got.len(), want.len(), "{key}: {got:#?}");
    }
    let kinds: BTreeSet<&str> = exported
        .graph
        .nodes
        .iter()
        .map(|n| n.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "chattaskworker",
            "datainput",
            "dataoutput",
            "joinedtaskworker",
            "llmtaskworker",
            "modulelevelimport",
            "subgraphworker",
            "taskworker"
        ])
    );
    let version_1 = SavedGraph::parse(&fixture("version_1_migrated")).unwrap();
    let back = export("v1", &import(&fixture("version_1_migrated")));
    assert_eq!(shape(&back.graph), shape(&version_1));
}

#[test]
fn export_then_import_then_export_is_stable() {
    for (name, json) in fixtures() {
        let first = export(&name, &import(&json));
        let module = import(&first.to_json());
        let second = export(&name, &module);
        assert_eq!(
            second.to_json(),
            first.to_json(),
            "{name}: the second export differs"
        );
        // And the module written from the exported graph is the module written from it again.
        assert_eq!(import(&second.to_json()), module, "{name}");
    }
}

#[test]
fn the_cli_imports_and_exports_files() {
    let dir = tempfile::tempdir().unwrap();
    let graph = dir.path().join("graph.json");
    std::fs::write(&graph, fixture("every_node_type")).unwrap();
    let module = dir.path().join("flow.py");
    let binary = env!("CARGO_BIN_EXE_planai-lsp");
    let imported = Command::new(binary)
        .args([
            "import-editor-graph",
            graph.to_str().unwrap(),
            "-o",
            module.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    assert_eq!(
        std::fs::read_to_string(&module).unwrap(),
        import(&fixture("every_node_type"))
    );
    let exported = Command::new(binary)
        .args(["export-editor-graph", module.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(exported.status.success(), "{exported:?}");
    let back = SavedGraph::parse(&String::from_utf8(exported.stdout).unwrap()).unwrap();
    assert_eq!(back.version, 2);
    assert_eq!(back.name.as_deref(), Some("flow"));
    assert_eq!(
        shape(&back)["workers"],
        shape(&SavedGraph::parse(&fixture("every_node_type")).unwrap())["workers"]
    );
    // A file that is not a graph is an error with the reason, not a module.
    std::fs::write(&graph, r#"{"version": 7, "nodes": []}"#).unwrap();
    let refused = Command::new(binary)
        .args(["import-editor-graph", graph.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unsupported graph version 7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lsp_commands_write_the_module_and_export_the_open_document() {
    use lsp_client::*;
    let mut client = WorkspaceBuilder::new()
        .file("graphs/saved.json", &fixture("version_1_migrated"))
        .initialization_options(json!({"untrustedWorkspace": true}))
        .start()
        .await;
    let commands = &client.initialize_result["capabilities"]["executeCommandProvider"]["commands"];
    assert!(commands
        .as_array()
        .unwrap()
        .contains(&json!("planai.importEditorGraph")));
    assert!(commands
        .as_array()
        .unwrap()
        .contains(&json!("planai.exportEditorGraph")));
    let graph_uri = client.uri("graphs/saved.json");
    let result = client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.importEditorGraph", "arguments": [graph_uri, "flow.py"]}),
        )
        .await;
    let written = client.path("graphs/flow.py");
    assert_eq!(result["path"], json!(written.display().to_string()));
    let source = std::fs::read_to_string(&written).unwrap();
    assert_eq!(source, import(&fixture("version_1_migrated")));
    // The file exists now: a second import is refused unless asked to overwrite.
    let id = client
        .send_request(
            "workspace/executeCommand",
            json!({"command": "planai.importEditorGraph", "arguments": [graph_uri, "flow.py"]}),
        )
        .await;
    let refused = client.response(id).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("overwrite"),
        "{refused}"
    );
    // Export reads the open buffer, unsaved edits included.
    let edited = source
        .replace("class Writer(TaskWorker):", "class Author(TaskWorker):")
        .replace("writer = Writer()", "writer = Author()");
    let uri = client.open("graphs/flow.py", &edited, 1).await;
    client.await_diagnostics(&uri, 1).await;
    let exported = client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.exportEditorGraph", "arguments": [{"module": uri}]}),
        )
        .await;
    let graph: SavedGraph = serde_json::from_value(exported["graph"].clone()).unwrap();
    let workers: Vec<&str> = graph
        .nodes
        .iter()
        .filter_map(|n| n.data["workerName"].as_str())
        .collect();
    assert_eq!(workers, ["Author", "Searcher"]);
    assert_eq!(graph.edges.len(), 3, "{:?}", graph.edges);
}

/// Text made of what breaks code generators: quotes of every kind, backslashes, braces,
/// line breaks, control and invisible characters, non-ASCII letters and emoji.
fn nasty_text(random: &mut planai_lsp::testing::Random) -> String {
    const PIECES: &[&str] = &[
        "\"\"\"",
        "'''",
        "\"",
        "'",
        "\\",
        "\\n",
        "\n",
        "\r",
        "\r\n",
        "\t",
        "{",
        "}",
        "{task.text}",
        "\0",
        "\u{7f}",
        "\u{85}",
        "\u{2028}",
        "\u{feff}",
        "\u{202e}",
        "é",
        "😀",
        "ß",
        "a",
        "Z",
        " ",
        "#",
        "class",
        "_",
        "1",
        "-",
        ")",
        "(",
        "\\x00",
        "\\u00e9",
        "`",
    ];
    let length = random.below(12);
    (0..length)
        .map(|_| PIECES[random.below(PIECES.len())])
        .collect()
}

#[test]
fn no_graph_data_breaks_the_module_or_changes_on_the_way_back() {
    let mut random = planai_lsp::testing::Random(15);
    for case in 0..120 {
        let description = nasty_text(&mut random);
        let literal = nasty_text(&mut random);
        let tool_description = nasty_text(&mut random);
        let key = nasty_text(&mut random);
        let data = json!({"text": nasty_text(&mut random), "kind": literal, "extra": {key: [nasty_text(&mut random), null, true, 1.5, -7]}});
        let graph = json!({
            "version": 2,
            "name": nasty_text(&mut random),
            "tasks": [{"id": "t", "type": "task", "className": nasty_text(&mut random), "fields": [
                {"name": "text", "type": "string", "isList": false, "required": true, "description": description},
                {"name": "kind", "type": "literal", "isList": false, "required": true, "literalValues": [literal]},
                {"name": "extra", "type": "Dict[str, Any]", "isList": false, "required": false},
                {"name": nasty_text(&mut random), "type": "integer", "isList": false, "required": false}]}],
            "taskImports": [],
            "tools": [{"id": "tool", "name": nasty_text(&mut random), "description": tool_description,
                       "code": "def helper(x: int) -> int:\n    return x\n"}],
            "nodes": [
                {"id": "w", "type": "llmtaskworker", "position": {"x": 0, "y": 0}, "data": {
                    "workerName": nasty_text(&mut random), "variableName": nasty_text(&mut random),
                    "inputTypes": ["t"], "output_types": ["t"], "tools": ["tool"],
                    "prompt": nasty_text(&mut random), "system_prompt": nasty_text(&mut random),
                    "llmConfigName": "c"}},
                {"id": "in", "type": "datainput", "position": {"x": 0, "y": 0},
                 "data": {"className": "t", "jsonData": data.to_string()}}],
            "edges": [{"id": "e", "source": "in", "target": "w"}],
            "llmConfigs": [{"id": "c", "name": nasty_text(&mut random), "provider": "ollama",
                            "modelId": nasty_text(&mut random), "baseUrl": nasty_text(&mut random)}],
            "llmConfigsFromCode": []
        });
        let source = import(&graph.to_string());
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/ws")]);
        let checked = planai_lsp::analysis::check::check_files(
            &mut host,
            vec![(PathBuf::from("/ws/random.py"), Arc::from(source.as_str()))],
        );
        let diagnostics: Vec<String> = checked[0]
            .diagnostics
            .iter()
            .map(|d| format!("{:?} {}", d.code, d.message))
            .collect();
        assert!(
            diagnostics.is_empty(),
            "case {case}: {diagnostics:#?}\n{source}"
        );
        // Read back by a Python parser, every piece of data is what the graph said.
        let back = export("random", &source).graph;
        let input = back.nodes.iter().find(|n| n.kind == "datainput").unwrap();
        let json_back: Value =
            serde_json::from_str(input.data["jsonData"].as_str().unwrap()).unwrap();
        assert_eq!(json_back, data, "case {case}");
        let fields = &back.tasks[0].fields;
        assert_eq!(
            fields[0].description.as_deref(),
            Some(description.as_str()),
            "case {case}"
        );
        assert_eq!(
            fields[1].literal_values,
            Some(vec![json!(literal)]),
            "case {case}"
        );
        assert_eq!(back.tools[0].description, tool_description, "case {case}");
    }
}

/// The hand-written example workflows, exported and imported again: a module our check
/// accepts, which builds the same number of workers in the planai venv.
#[test]
fn the_example_workflows_survive_export_and_import() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    let mut worker_counts = Vec::new();
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "py") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let exported = export(&name, &std::fs::read_to_string(&path).unwrap());
        let workers = exported
            .graph
            .nodes
            .iter()
            .filter(|n| n.kind.ends_with("worker"))
            .count();
        assert!(workers > 0, "{name}: no workers exported");
        if name == "llm_review" {
            // What the editor cannot hold is said, not dropped silently.
            for lost in ["temperature left out", "set_max_parallel_tasks"] {
                assert!(
                    exported.warnings.iter().any(|w| w.contains(lost)),
                    "{name}: {:?}",
                    exported.warnings
                );
            }
        }
        // Each example's main() runs `graph.run(initial_tasks=[(entry, ...)])` with the entry
        // its builder returned (`graph, entry = build_graph()`): the entry is kept though the
        // tasks are computed.
        assert!(
            exported
                .graph
                .nodes
                .iter()
                .any(|n| n.data["entryPoint"] == json!(true)),
            "{name}: no entry point"
        );
        let source = import(&exported.to_json());
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/ws")]);
        let checked = planai_lsp::analysis::check::check_files(
            &mut host,
            vec![(
                PathBuf::from(format!("/ws/{name}.py")),
                Arc::from(source.as_str()),
            )],
        );
        assert!(
            checked[0].diagnostics.is_empty(),
            "{name}: {:?}\n{source}",
            checked[0].diagnostics
        );
        std::fs::write(dir.path().join(format!("{name}.py")), source).unwrap();
        names.push(name);
        worker_counts.push(workers);
    }
    assert!(names.len() >= 2, "examples missing");
    let output = Command::new(venv_and_processes::test_venv_python())
        .arg("-c")
        .arg(PROBE)
        .arg(dir.path())
        .args(&names)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    for (name, workers) in names.iter().zip(worker_counts) {
        // The graph holds the exported workers (planai adds no worker of its own without sinks).
        assert!(
            report[name]["workers_in_graph"].as_u64().unwrap() >= workers as u64,
            "{name}: {}",
            report[name]
        );
    }
}

#[test]
fn what_cannot_be_carried_over_is_left_out_with_a_warning_never_guessed() {
    let module = interop::import_editor_graph(&fixture("awkward_names")).unwrap();
    // Factory arguments that would close the call and run code after it.
    assert!(!module.source.contains("__import__"), "{}", module.source);
    for expected in [
        "do not parse as call arguments",
        "factory \"make_my_worker\" is not one of planai.patterns'",
        "data input in-2: its data is not valid JSON",
        "module-level import node mli does not parse as Python; kept as a comment",
        "tool \"broken\" has no `def`",
        "two worker nodes define different classes named \"Worker\"",
        "which is not a Python type this module defines; written as Any",
        "edge \"e7\" connects a node that is not in the graph",
    ] {
        assert!(
            module.warnings.iter().any(|w| w.contains(expected)),
            "no warning {expected:?} in {:#?}",
            module.warnings
        );
    }
    // The import node that does not parse is kept, commented out.
    assert!(module.source.contains("# from x import (y"));
}
