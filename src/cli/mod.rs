//! Command-line entry points: `serve` (default), `check`, `envs`, `--version`, `--help`.

mod check;

pub const USAGE: &str = "\
planai-lsp — language server and checker for PlanAI workflows

Usage:
  planai-lsp [serve]                       speak LSP over stdio (what editors run)
  planai-lsp check [PATH...] [--format text|json]
                                           check files or folders (default: .) and print
                                           path:line:col: severity[code] message
  planai-lsp envs [--json]                 list the Python environments planai-lsp finds
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
        Some(other) => {
            eprintln!("planai-lsp: unknown command {other:?}\n\n{USAGE}");
            2
        }
    }
}

fn envs(_args: &[String]) -> i32 {
    eprintln!("planai-lsp envs: not available yet");
    2
}
