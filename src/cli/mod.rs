//! Command-line entry points: `serve` (default), `check`, `envs`, `--version`, `--help`.

mod check;
mod graph;
mod interop;
mod run;

pub const USAGE: &str = "\
planai-lsp — language server and checker for PlanAI workflows

Usage:
  planai-lsp [serve]                       speak LSP over stdio (what editors run)
  planai-lsp check [PATH...] [--format text|json]
                                           check files or folders (default: .) and print
                                           path:line:col: severity[code] message
  planai-lsp envs [--json]                 list the Python environments planai-lsp finds
  planai-lsp graph FILE [--graph NAME] [--format mermaid|dot|json|svg]
                                           print the graphs FILE builds (default: mermaid;
                                           svg is a laid-out picture, no Graphviz needed)
  planai-lsp run FILE [--graph NAME] [--input JSON] [--mock-llm] [--debug] [--timeout S]
                 [--format text|json] [--python PATH]
                                           run the workflow and print its events (exit 1
                                           when a task failed or the run did not finish)
  planai-lsp import-editor-graph FILE.json [-o module.py]
                                           write a saved PlanAI Editor graph as a
                                           runnable Python module (stdout without -o)
  planai-lsp export-editor-graph FILE.py [-o graph.json]
                                           write a module's PlanAI graph as a PlanAI
                                           Editor graph (version 2 JSON)
  planai-lsp --version | --help

Exit codes: 0 no errors, 1 errors found, 2 bad usage.
Environment: PLANAI_LSP_LOG=error|warn|info|debug|trace sets the log level (stderr).
";

/// Parses arguments and runs the chosen command; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    run(&args)
}

pub fn run(args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        None | Some("serve") => {
            if args.len() > 1 && !args[1..].iter().all(|a| a == "--stdio") {
                eprintln!("planai-lsp serve takes no arguments (besides --stdio)\n\n{USAGE}");
                return 2;
            }
            crate::server::run_stdio()
        }
        Some("--stdio") => crate::server::run_stdio(),
        Some("--version") | Some("-V") => {
            println!("planai-lsp {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Some("--help") | Some("-h") | Some("help") => {
            print!("{USAGE}");
            0
        }
        Some("check") => check::run(&args[1..]),
        Some("envs") => envs(&args[1..]),
        Some("graph") => graph::run(&args[1..]),
        Some("run") => run::run(&args[1..]),
        Some("import-editor-graph") => interop::import_editor_graph(&args[1..]),
        Some("export-editor-graph") => interop::export_editor_graph(&args[1..]),
        Some(other) => {
            eprintln!("planai-lsp: unknown command {other:?}\n\n{USAGE}");
            2
        }
    }
}

/// `planai-lsp envs [--json]`: the environments discovery finds from here, in priority order.
fn envs(args: &[String]) -> i32 {
    let mut json = false;
    for arg in args {
        match arg.as_str() {
            "--json" => json = true,
            other => {
                eprintln!("planai-lsp envs: unknown option {other:?}\n\n{USAGE}");
                return 2;
            }
        }
    }
    use crate::python::envs;
    let roots: Vec<std::path::PathBuf> = std::env::current_dir().into_iter().collect();
    let found = envs::discover(&envs::DiscoveryOptions::from_process(None, roots));
    let selected = envs::select_default(&found).and_then(|chosen| {
        found
            .iter()
            .position(|e| e.interpreter == chosen.interpreter)
    });
    if json {
        let listed = envs::environments_json(&found, selected);
        println!(
            "{}",
            serde_json::to_string_pretty(&listed).unwrap_or_default()
        );
    } else if found.is_empty() {
        println!("{}", envs::no_interpreter_message());
    } else {
        print!("{}", envs::render_table(&found, selected));
    }
    0
}
