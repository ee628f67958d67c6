//! `planai-lsp check`: the same analysis as the server, for terminals and CI.

use std::path::{Path, PathBuf};

use crate::text::SourceText;

use crate::analysis::AnalysisHost;
use crate::diagnostics::{Diagnostic, Severity};
use crate::text::{offset_to_position, PositionEncoding};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

struct Options {
    paths: Vec<PathBuf>,
    format: Format,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut paths = Vec::new();
    let mut format = Format::Text;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--format" => match iter.next().map(String::as_str) {
                Some("text") => format = Format::Text,
                Some("json") => format = Format::Json,
                Some(other) => {
                    return Err(format!("unknown format {other:?} (expected text or json)"))
                }
                None => return Err("--format needs a value (text or json)".into()),
            },
            "--format=json" => format = Format::Json,
            "--format=text" => format = Format::Text,
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag:?}")),
            path => paths.push(PathBuf::from(path)),
        }
    }
    if paths.is_empty() {
        paths.push(PathBuf::from("."));
    }
    Ok(Options { paths, format })
}

/// One diagnostic located for printing.
struct Located<'a> {
    path: &'a Path,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    diagnostic: &'a Diagnostic,
}

pub fn run(args: &[String]) -> i32 {
    let options = match parse_options(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("planai-lsp check: {message}\n\n{}", super::USAGE);
            return 2;
        }
    };
    for path in &options.paths {
        if !path.exists() {
            eprintln!("planai-lsp check: {} does not exist", path.display());
            return 2;
        }
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let absolute: Vec<PathBuf> = options
        .paths
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| cwd.join(p)))
        .collect();
    let mut roots: Vec<PathBuf> = absolute.iter().filter(|p| p.is_dir()).cloned().collect();
    for file in absolute.iter().filter(|p| !p.is_dir()) {
        if let Some(parent) = file.parent() {
            roots.push(parent.to_path_buf());
        }
    }
    roots.push(std::fs::canonicalize(&cwd).unwrap_or(cwd));
    roots.sort();
    roots.dedup();

    let (files, mut skipped) = collect_files(&absolute);
    let mut host = AnalysisHost::new();
    host.set_roots(roots);
    let mut texts = Vec::new();
    for path in &files {
        match crate::workspace::read_file(path) {
            Ok(text) => texts.push((path.clone(), text)),
            Err(reason) => skipped.push((path.clone(), reason.to_string())),
        }
    }
    // A path named on the command line that cannot be checked is a usage problem (exit 2); a
    // file passed over inside a named folder is reported and the rest is checked.
    let skipped_count = skipped.len();
    let named_failed = skipped.iter().any(|(path, _)| absolute.contains(path));
    for (path, reason) in &skipped {
        eprintln!("planai-lsp check: skipped {}: {reason}", path.display());
    }

    // The server's own pipeline, over the whole batch (each file parsed once).
    let checked = crate::analysis::check::check_files(&mut host, texts);
    let files_checked = checked.len();
    let mut all: Vec<(PathBuf, SourceText, Vec<Diagnostic>)> = Vec::new();
    for file in checked {
        let mut diagnostics = file.diagnostics;
        diagnostics.sort_by_key(|d| (d.range.start(), d.code.clone()));
        if !diagnostics.is_empty() {
            all.push((file.path, SourceText::new(&*file.text), diagnostics));
        }
    }

    let display_base = std::env::current_dir().ok();
    let mut located = Vec::new();
    for (path, source, diagnostics) in &all {
        for diagnostic in diagnostics {
            let start =
                offset_to_position(source, diagnostic.range.start(), PositionEncoding::Utf8);
            let end = offset_to_position(source, diagnostic.range.end(), PositionEncoding::Utf8);
            located.push(Located {
                path,
                line: start.line + 1,
                column: char_column(source, diagnostic.range.start()) + 1,
                end_line: end.line + 1,
                end_column: char_column(source, diagnostic.range.end()) + 1,
                diagnostic,
            });
        }
    }
    let errors = located
        .iter()
        .filter(|l| l.diagnostic.severity == Severity::Error)
        .count();
    let warnings = located
        .iter()
        .filter(|l| l.diagnostic.severity == Severity::Warning)
        .count();
    let mut report = String::new();
    match options.format {
        Format::Text => {
            for item in &located {
                report.push_str(&format!(
                    "{}:{}:{}: {}[{}] {}\n",
                    shown(item.path, display_base.as_deref()),
                    item.line,
                    item.column,
                    item.diagnostic.severity,
                    item.diagnostic.code,
                    item.diagnostic.message.replace('\n', " ")
                ));
            }
            let skipped_note = if skipped_count > 0 {
                format!(" ({skipped_count} skipped)")
            } else {
                String::new()
            };
            report.push_str(&format!(
                "Checked {} file{}{skipped_note}: {errors} error{}, {warnings} warning{}.\n",
                files_checked,
                plural(files_checked),
                plural(errors),
                plural(warnings)
            ));
        }
        Format::Json => {
            let items: Vec<serde_json::Value> = located
                .iter()
                .map(|item| {
                    serde_json::json!({
                        "path": shown(item.path, display_base.as_deref()),
                        "line": item.line,
                        "column": item.column,
                        "end_line": item.end_line,
                        "end_column": item.end_column,
                        "severity": item.diagnostic.severity.as_str(),
                        "code": item.diagnostic.code.as_str(),
                        "source": item.diagnostic.source.as_str(),
                        "message": item.diagnostic.message,
                    })
                })
                .collect();
            let json = serde_json::json!({
                "files_checked": files_checked,
                "files_skipped": skipped_count,
                "errors": errors,
                "warnings": warnings,
                "diagnostics": items,
            });
            report.push_str(&serde_json::to_string_pretty(&json).unwrap_or_default());
            report.push('\n');
        }
    }
    if let Err(e) = write_stdout(&report) {
        // A reader that stopped early (`check | head -1`) is not an error of the check.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("planai-lsp check: cannot write the report: {e}");
            return 2;
        }
    }
    if named_failed {
        2
    } else if errors > 0 {
        1
    } else {
        0
    }
}

/// Writes the report to stdout, returning write errors (`println!` would panic on EPIPE).
fn write_stdout(report: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(report.as_bytes())?;
    stdout.flush()
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// 0-based column in characters (what terminals and most tools count).
fn char_column(source: &SourceText, offset: usize) -> u32 {
    let text = source.as_str();
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = source.line_to_byte(source.byte_to_line(offset));
    text[line_start..offset].chars().count() as u32
}

fn shown(path: &Path, base: Option<&Path>) -> String {
    base.and_then(|base| path.strip_prefix(base).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Files named on the command line, plus every `.py` under the named folders (honouring
/// `.gitignore`, skipping virtualenvs), and what was passed over with the reason.
fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut folders = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => match std::fs::read_dir(path) {
                Ok(_) => folders.push(path.clone()),
                Err(error) => skipped.push((path.clone(), error.to_string())),
            },
            // Named files are checked whatever their extension; `read_file` refuses special
            // files and oversized ones with the reason.
            Ok(_) => files.push(path.clone()),
            Err(error) => skipped.push((path.clone(), error.to_string())),
        }
    }
    let found = crate::workspace::discover(&folders);
    files.extend(found.files);
    skipped.extend(found.skipped);
    files.sort();
    files.dedup();
    (files, skipped)
}
