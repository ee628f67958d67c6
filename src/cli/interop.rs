//! `planai-lsp import-editor-graph FILE.json [-o module.py]` and
//! `planai-lsp export-editor-graph FILE.py [-o graph.json]`: the PlanAI Editor interop of
//! `crate::interop`, reading and writing files (stdout without `-o`; warnings on stderr).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::AnalysisHost;

/// The input file and `-o` of an interop command.
struct Arguments {
    input: PathBuf,
    output: Option<PathBuf>,
}

fn parse_arguments(command: &str, args: &[String]) -> Result<Arguments, String> {
    let mut input = None;
    let mut output = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-o" | "--output" => match iter.next() {
                Some(path) => output = Some(PathBuf::from(path)),
                None => return Err(format!("{command}: {arg} needs a file name")),
            },
            flag if flag.starts_with('-') && flag != "-" => {
                return Err(format!("{command}: unknown option {flag:?}"))
            }
            path if input.is_none() => input = Some(PathBuf::from(path)),
            extra => {
                return Err(format!(
                    "{command}: one input file only (also got {extra:?})"
                ))
            }
        }
    }
    let input = input.ok_or_else(|| format!("{command}: which file? (give its path)"))?;
    Ok(Arguments { input, output })
}

/// `planai-lsp import-editor-graph`.
pub fn import_editor_graph(args: &[String]) -> i32 {
    let command = "planai-lsp import-editor-graph";
    let arguments = match parse_arguments(command, args) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}\n\n{}", super::USAGE);
            return 2;
        }
    };
    // Like every file planai-lsp reads: a FIFO, a device or a huge file is refused, never read
    // forever.
    let json = match crate::workspace::read_file(&arguments.input) {
        Ok(json) => json,
        Err(e) => {
            eprintln!("{command}: cannot read {}: {e}", arguments.input.display());
            return 1;
        }
    };
    let module = match crate::interop::import_editor_graph(&json) {
        Ok(module) => module,
        Err(e) => {
            eprintln!("{command}: {}: {e}", arguments.input.display());
            return 1;
        }
    };
    for warning in &module.warnings {
        eprintln!("warning: {warning}");
    }
    write_output(command, arguments.output.as_deref(), &module.source)
}

/// `planai-lsp export-editor-graph`.
pub fn export_editor_graph(args: &[String]) -> i32 {
    let command = "planai-lsp export-editor-graph";
    let arguments = match parse_arguments(command, args) {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}\n\n{}", super::USAGE);
            return 2;
        }
    };
    let path = std::fs::canonicalize(&arguments.input).unwrap_or(arguments.input.clone());
    let text = match crate::workspace::read_file(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{command}: cannot read {}: {e}", arguments.input.display());
            return 1;
        }
    };
    let host = host_for(&path, text);
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let Some(exported) = crate::interop::module_to_graph(&host, &path, &name) else {
        eprintln!(
            "{command}: {} could not be analysed (too large?)",
            arguments.input.display()
        );
        return 1;
    };
    for warning in &exported.warnings {
        eprintln!("warning: {warning}");
    }
    let mut json = exported.to_json();
    json.push('\n');
    write_output(command, arguments.output.as_deref(), &json)
}

/// The module's folder (so imports of its siblings resolve), with `path` read as `text`.
fn host_for(path: &Path, text: Arc<str>) -> AnalysisHost {
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut host = AnalysisHost::new();
    host.set_roots(vec![folder.clone()]);
    let siblings: Vec<PathBuf> = std::fs::read_dir(&folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "py") && p != path)
        .collect();
    host.insert_files(crate::workspace::load_files(&siblings));
    host.set_file(path.to_path_buf(), text, None);
    host
}

fn write_output(command: &str, output: Option<&Path>, text: &str) -> i32 {
    match output {
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
                .is_err()
            {
                return 1;
            }
            0
        }
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => {
                eprintln!("wrote {}", path.display());
                0
            }
            Err(e) => {
                eprintln!("{command}: cannot write {}: {e}", path.display());
                1
            }
        },
    }
}
