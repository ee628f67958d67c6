//! `planai-lsp graph FILE [--graph NAME] --format mermaid|dot|json|svg`: the graphs a file
//! builds, from the same static analysis as the server (no Python runs), as text or as a
//! picture laid out in Rust (no browser or Graphviz needed).

use std::path::{Path, PathBuf};

use crate::text::SourceText;

use crate::analysis::graph_model::{self, GraphInfo, GraphModel, Location};
use crate::analysis::{graph_view, AnalysisHost};
use crate::text::{offset_to_position, PositionEncoding};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Mermaid,
    Dot,
    Json,
    Svg,
}

#[derive(Debug)]
struct Options {
    file: PathBuf,
    graph: Option<String>,
    format: Format,
}

fn parse_format(value: &str) -> Result<Format, String> {
    match value {
        "mermaid" => Ok(Format::Mermaid),
        "dot" => Ok(Format::Dot),
        "json" => Ok(Format::Json),
        "svg" => Ok(Format::Svg),
        other => Err(format!(
            "unknown format {other:?} (expected mermaid, dot, json or svg)"
        )),
    }
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut file = None;
    let mut graph = None;
    let mut format = Format::Mermaid;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--format" => {
                let value = iter
                    .next()
                    .ok_or("--format needs a value (mermaid, dot, json or svg)")?;
                format = parse_format(value)?;
            }
            "--graph" => graph = Some(iter.next().ok_or("--graph needs a name")?.clone()),
            flag if flag.starts_with("--format=") => format = parse_format(&flag[9..])?,
            flag if flag.starts_with("--graph=") => graph = Some(flag[8..].to_string()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            path if file.is_none() => file = Some(PathBuf::from(path)),
            extra => return Err(format!("one file only (also got {extra:?})")),
        }
    }
    Ok(Options {
        file: file.ok_or("name the Python file whose graphs to show")?,
        graph,
        format,
    })
}

pub fn run(args: &[String]) -> i32 {
    let options = match parse_options(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("planai-lsp graph: {message}\n\n{}", super::USAGE);
            return 2;
        }
    };
    let file = match std::fs::canonicalize(&options.file) {
        Ok(file) if file.is_file() => file,
        _ => {
            eprintln!(
                "planai-lsp graph: {} is not a readable file",
                options.file.display()
            );
            return 2;
        }
    };
    let host = match load_workspace_of(&file) {
        Ok(host) => host,
        Err(message) => {
            eprintln!("planai-lsp graph: {message}");
            return 2;
        }
    };
    match render(&host, &file, options.graph.as_deref(), options.format) {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(message) => {
            eprintln!("planai-lsp graph: {message}");
            1
        }
    }
}

/// The file and the modules it may import: inside a package, the whole package; elsewhere the
/// `.py` files of its folder and the packages in it (roots: the folder above the top package,
/// and the file's folder for plain imports of siblings).
fn load_workspace_of(file: &Path) -> Result<AnalysisHost, String> {
    let folder = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    let mut top = folder.clone();
    while top.join("__init__.py").is_file() {
        match top.parent() {
            Some(parent) if parent.join("__init__.py").is_file() => top = parent.to_path_buf(),
            _ => break,
        }
    }
    let mut roots = vec![folder.clone()];
    if top.join("__init__.py").is_file() {
        if let Some(parent) = top.parent() {
            roots.push(parent.to_path_buf());
        }
    }
    // Outside a package, the folder's own modules and its packages: a script in a large folder
    // (a home directory, /tmp) must not read every file below it.
    let mut folders = vec![top.clone()];
    let mut files = Vec::new();
    if !top.join("__init__.py").is_file() {
        folders.clear();
        for entry in std::fs::read_dir(&top).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.join("__init__.py").is_file() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "py") && path.is_file() {
                files.push(path);
            }
        }
    }
    files.extend(crate::workspace::discover(&folders).files);
    if !files.contains(&file.to_path_buf()) {
        files.push(file.to_path_buf());
    }
    let mut texts = Vec::new();
    for path in files {
        match crate::workspace::read_file(&path) {
            Ok(text) => texts.push((path, text)),
            Err(reason) if path == file => return Err(format!("{}: {reason}", file.display())),
            Err(_) => {}
        }
    }
    let mut host = AnalysisHost::new();
    host.set_roots(roots);
    // Parsed and summarised only: the graph model checks what it needs on demand.
    host.insert_files(
        texts
            .into_iter()
            .map(|(path, text)| crate::analysis::FileData::build(path, text, None))
            .collect(),
    );
    Ok(host)
}

/// The output of `planai-lsp graph` for `file` of `host`.
fn render(
    host: &AnalysisHost,
    file: &Path,
    graph: Option<&str>,
    format: Format,
) -> Result<String, String> {
    let mut model = graph_model::graph_model(host, file);
    if let Some(name) = graph {
        let titles: Vec<String> = model.graphs.iter().map(GraphInfo::title).collect();
        model.graphs.retain(|g| {
            g.title() == name
                || g.name.as_deref() == Some(name)
                || g.variable.as_deref() == Some(name)
        });
        if model.graphs.is_empty() {
            return Err(format!(
                "no graph {name:?} in {} (graphs: {})",
                file.display(),
                if titles.is_empty() {
                    "none".to_string()
                } else {
                    titles.join(", ")
                }
            ));
        }
    }
    match format {
        Format::Mermaid => {
            let mut edges = host.graph_edges(file);
            if graph.is_some() {
                let scopes: Vec<Option<String>> =
                    model.graphs.iter().map(|g| g.scope.clone()).collect();
                edges.retain(|e| scopes.contains(&e.scope));
            }
            Ok(graph_view::mermaid(&edges))
        }
        Format::Dot => Ok(graph_view::dot(&model)),
        Format::Json => {
            let json = json(host, &model);
            Ok(format!(
                "{}\n",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            ))
        }
        Format::Svg => {
            let graphs: Vec<&GraphInfo> = model.graphs.iter().collect();
            graph_view::svg(&graphs)
        }
    }
}

/// The model with locations as `{path, range}`; a position is `{line, character}`, both
/// zero-based, characters in UTF-16 code units (as LSP's default, so the shape matches
/// `planai/graph`).
fn json(host: &AnalysisHost, model: &GraphModel) -> serde_json::Value {
    let mut sources: Vec<(PathBuf, SourceText)> = Vec::new();
    graph_model::to_json(model, &mut |location: &Location| {
        let index = match sources.iter().position(|(p, _)| *p == location.path) {
            Some(i) => i,
            None => {
                let text = host.file_text(&location.path).unwrap_or_default();
                sources.push((location.path.clone(), SourceText::new(&*text)));
                sources.len() - 1
            }
        };
        let source = &sources[index].1;
        let position = |offset: usize| {
            let p = offset_to_position(source, offset, PositionEncoding::Utf16);
            serde_json::json!({"line": p.line, "character": p.character})
        };
        serde_json::json!({
            "path": location.path.display().to_string(),
            "range": {
                "start": position(location.range.start()),
                "end": position(location.range.end()),
            },
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> PathBuf {
        std::fs::canonicalize(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples")
                .join(name),
        )
        .expect("bundled example")
    }

    fn rendered(name: &str, format: Format) -> String {
        let file = example(name);
        let host = load_workspace_of(&file).expect("loads");
        render(&host, &file, None, format).expect("renders")
    }

    #[test]
    fn options_need_a_file_and_a_known_format() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let parsed = parse_options(&args(&["x.py", "--format", "svg", "--graph=main"])).unwrap();
        assert_eq!(parsed.format, Format::Svg);
        assert_eq!(parsed.graph.as_deref(), Some("main"));
        assert!(parse_options(&args(&["--format", "dot"])).is_err());
        assert!(parse_options(&args(&["x.py", "--format", "png"]))
            .unwrap_err()
            .contains("png"));
    }

    #[test]
    fn json_lists_graphs_nodes_typed_edges_and_tasks_with_fields() {
        let json: serde_json::Value =
            serde_json::from_str(&rendered("llm_review.py", Format::Json)).unwrap();
        let graphs = json["graphs"].as_array().unwrap();
        assert_eq!(
            graphs.len(),
            1,
            "the factory inlined into main is one graph"
        );
        let graph = &graphs[0];
        assert_eq!(graph["scope"], "build_graph");
        assert_eq!(graph["name"], "llm-review");
        let ids: Vec<&str> = graph["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["finder", "rater", "collector"]);
        let finder = &graph["nodes"][0];
        assert_eq!(finder["class"], "IssueFinder");
        assert_eq!(finder["kind"], "LLMTaskWorker");
        assert_eq!(finder["consumes"], serde_json::json!(["CodeSubmission"]));
        assert_eq!(finder["produces"], serde_json::json!(["Issue"]));
        assert_eq!(finder["llm"]["llmOutputType"], "IssueList");
        assert!(finder["llm"]["prompt"]
            .as_str()
            .unwrap()
            .starts_with("Review the code in the input data."));
        assert_eq!(finder["classLocation"]["range"]["start"]["line"], 67);
        let edges = graph["edges"].as_array().unwrap();
        assert_eq!(edges[0]["upstream"], "finder");
        assert_eq!(edges[0]["downstream"], "rater");
        assert_eq!(edges[0]["taskType"], "Issue");
        assert_eq!(edges[1]["taskType"], "RatedIssue");
        assert_eq!(graph["sinks"][0]["taskType"], "ReviewSummary");
        assert_eq!(graph["entries"][0]["node"], "finder");
        let tasks: Vec<&str> = json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert!(tasks.contains(&"RatedIssue") && tasks.contains(&"CodeSubmission"));
        let rated = json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "RatedIssue")
            .unwrap();
        let suggestion = &rated["fields"][2];
        assert_eq!(suggestion["name"], "suggestion");
        assert_eq!(suggestion["annotation"], "str");
        assert_eq!(suggestion["required"], true);
        assert_eq!(suggestion["description"], "how to fix the problem");
    }

    #[test]
    fn json_follows_imports_of_a_package() {
        let json: serde_json::Value =
            serde_json::from_str(&rendered("research_pkg/graph.py", Format::Json)).unwrap();
        let graph = &json["graphs"][0];
        let planner = &graph["nodes"][0];
        assert_eq!(planner["class"], "QueryPlanner");
        assert!(planner["classLocation"]["path"]
            .as_str()
            .unwrap()
            .ends_with("research_pkg/workers.py"));
        assert_eq!(graph["sinks"][0]["taskType"], "ResearchReport");
        assert!(json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "ResearchReport"
                && t["location"]["path"]
                    .as_str()
                    .unwrap()
                    .ends_with("tasks.py")));
    }

    #[test]
    fn dot_has_a_cluster_per_graph_and_labelled_edges() {
        let dot = rendered("llm_review.py", Format::Dot);
        assert!(dot.starts_with("digraph planai {"));
        assert_eq!(dot.matches("subgraph cluster_").count(), 1);
        assert!(dot.contains("\"g0_finder\" -> \"g0_rater\" [label=\"Issue\"];"));
        assert!(dot.contains("\"g0_rater\" -> \"g0_collector\" [label=\"RatedIssue\"];"));
        assert!(dot.contains("\"g0__start\" -> \"g0_finder\";"));
        assert!(
            dot.contains("label=\"finder: IssueFinder\\nLLMTaskWorker\\nCodeSubmission → Issue\"")
        );
        assert!(dot.contains("sink: ReviewSummary"));
    }

    #[test]
    fn mermaid_matches_the_show_graph_command() {
        let mermaid = rendered("text_pipeline.py", Format::Mermaid);
        assert!(mermaid.starts_with("flowchart LR\n"));
        assert!(mermaid.contains("-->|Sentence|"));
    }

    #[test]
    fn svg_is_well_formed_with_one_box_per_worker() {
        for name in ["llm_review.py", "text_pipeline.py", "research_pkg/graph.py"] {
            let file = example(name);
            let host = load_workspace_of(&file).unwrap();
            let model = graph_model::graph_model(&host, &file);
            let svg = render(&host, &file, None, Format::Svg).unwrap();
            let document = roxmltree::Document::parse(&svg)
                .unwrap_or_else(|e| panic!("{name}: SVG is not well-formed XML: {e}"));
            let workers: Vec<_> = document
                .descendants()
                .filter(|n| n.attribute("class") == Some("worker"))
                .collect();
            // Every box lies on the canvas, and the canvas is cut close to them.
            let root = document.root_element();
            let number = |n: roxmltree::Node, a: &str| -> f64 {
                n.attribute(a).unwrap().trim().parse().unwrap()
            };
            let (width, height) = (number(root, "width"), number(root, "height"));
            let (mut right, mut bottom) = (0.0f64, 0.0f64);
            for rect in document.descendants().filter(|n| n.has_tag_name("rect")) {
                right = right.max(number(rect, "x") + number(rect, "width"));
                bottom = bottom.max(number(rect, "y") + number(rect, "height"));
            }
            assert!(
                right <= width && bottom <= height,
                "{name}: a box is off the canvas"
            );
            assert!(
                height <= bottom + 120.0,
                "{name}: {height} high for boxes down to {bottom}"
            );
            let expected: usize = model.graphs.iter().map(|g| g.nodes.len()).sum();
            assert!(expected >= 3, "{name}");
            assert_eq!(workers.len(), expected, "{name}");
            for node in model.graphs.iter().flat_map(|g| &g.nodes) {
                let label = graph_view::node_label(node);
                let first_line = label.lines().next().unwrap();
                assert!(
                    document
                        .descendants()
                        .any(|n| n.tag_name().name() == "tspan" && n.text() == Some(first_line)),
                    "{name}: no text {first_line:?}"
                );
            }
            let has_edge_label = |text: &str| {
                document
                    .descendants()
                    .any(|n| n.text().is_some_and(|t| t.trim() == text))
            };
            for edge in model.graphs.iter().flat_map(|g| &g.edges) {
                if let Some(t) = &edge.task_type {
                    assert!(has_edge_label(t), "{name}: no edge label {t}");
                }
            }
        }
    }

    #[test]
    fn an_unknown_graph_name_lists_the_graphs() {
        let file = example("llm_review.py");
        let host = load_workspace_of(&file).unwrap();
        let error = render(&host, &file, Some("nope"), Format::Dot).unwrap_err();
        assert!(error.contains("build_graph"), "{error}");
        assert!(render(&host, &file, Some("llm-review"), Format::Dot).is_ok());
    }
}
