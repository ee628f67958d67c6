//! Workspace file discovery and loading: the only place that reads the workspace from disk
//! for the analysis (which itself does no I/O).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::{AnalysisHost, FileData};

/// Files larger than this are not read at all.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

const SKIPPED_DIRS: &[&str] = &[
    ".venv",
    "venv",
    "site-packages",
    "node_modules",
    ".git",
    "__pycache__",
];

/// Every `.py` file under `roots`, respecting `.gitignore`-style excludes and skipping
/// virtualenvs (`.venv`, `venv`, any directory containing `pyvenv.cfg`), `site-packages`,
/// `node_modules`, `.git` and `__pycache__`. Sorted and de-duplicated.
pub fn discover_python_files(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in roots {
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(true)
            .require_git(false)
            .filter_entry(|e| {
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                if !is_dir {
                    return true;
                }
                let name = e.file_name().to_string_lossy();
                !(SKIPPED_DIRS.contains(&name.as_ref()) || e.path().join("pyvenv.cfg").exists())
            })
            .build();
        for entry in walker.flatten() {
            let p = entry.path();
            let small_enough = || {
                entry
                    .metadata()
                    .map(|m| m.len() <= MAX_FILE_BYTES)
                    .unwrap_or(false)
            };
            if entry.file_type().is_some_and(|t| t.is_file())
                && p.extension().is_some_and(|e| e == "py")
                && small_enough()
            {
                out.push(p.to_path_buf());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Reads a file lossily as UTF-8.
pub fn read_lossy(path: &Path) -> Option<Arc<str>> {
    let bytes = std::fs::read(path).ok()?;
    Some(Arc::from(String::from_utf8_lossy(&bytes).as_ref()))
}

/// Discovers, reads, parses and summarises every Python file under `roots` (on up to 2
/// threads) and returns a host holding them.
pub fn load_workspace(roots: &[PathBuf]) -> AnalysisHost {
    let files = discover_python_files(roots);
    let mut host = AnalysisHost::new();
    host.set_roots(roots.to_vec());
    host.insert_files(load_files(&files));
    host
}

/// Reads and summarises `files` in parallel (2 workers).
pub fn load_files(files: &[PathBuf]) -> Vec<FileData> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 2);
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut parser = crate::syntax::new_parser();
                    part.iter()
                        .filter_map(|p| {
                            let text = read_lossy(p)?;
                            let tree = if text.len() <= crate::analysis::MAX_ANALYSED_FILE_BYTES {
                                parser.parse(text.as_bytes(), None)
                            } else {
                                None
                            };
                            Some(FileData::build(p.clone(), text, tree.as_ref()))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}
