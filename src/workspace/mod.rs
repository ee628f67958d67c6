//! Workspace file discovery and loading: the only place that reads the workspace from disk
//! for the analysis (which itself does no I/O).

mod package;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use package::{package_of, PackagedModule};

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
    discover(roots).files
}

/// What [`discover`] found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Regular `.py` files of at most [`MAX_FILE_BYTES`], sorted and de-duplicated.
    pub files: Vec<PathBuf>,
    /// `.py` entries and folders that could not be taken, with the reason (too large, not a
    /// regular file, unreadable).
    pub skipped: Vec<(PathBuf, String)>,
}

/// [`discover_python_files`], also reporting what was passed over and why.
pub fn discover(roots: &[PathBuf]) -> Discovered {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
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
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                // Unreadable folders and files; ignore-file syntax errors are not skips.
                Err(error) if error.is_io() => {
                    let path = walk_error_path(&error).unwrap_or_else(|| root.clone());
                    skipped.push((path, error.to_string()));
                    continue;
                }
                Err(error) => {
                    tracing::debug!("while listing {}: {error}", root.display());
                    continue;
                }
            };
            let p = entry.path();
            if p.extension().is_none_or(|e| e != "py") {
                continue;
            }
            // The walker does not follow symlinks, so a link shows as neither file nor
            // folder: ask for its target's type (never reading it).
            let metadata = if entry.path_is_symlink() {
                std::fs::metadata(p)
            } else {
                std::fs::symlink_metadata(p)
            };
            match metadata {
                Ok(m) if m.is_dir() => {}
                Ok(m) if !m.is_file() => {
                    skipped.push((p.to_path_buf(), ReadError::NotRegular.to_string()))
                }
                Ok(m) if m.len() > MAX_FILE_BYTES => {
                    skipped.push((p.to_path_buf(), ReadError::TooLarge(m.len()).to_string()))
                }
                Ok(_) => out.push(p.to_path_buf()),
                Err(error) => skipped.push((p.to_path_buf(), error.to_string())),
            }
        }
    }
    out.sort();
    out.dedup();
    skipped.sort();
    skipped.dedup();
    Discovered {
        files: out,
        skipped,
    }
}

fn walk_error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// A FIFO, socket, device (also through a symlink, e.g. to `/dev/zero`) or folder:
    /// reading one could block forever or never end.
    NotRegular,
    /// Larger than [`MAX_FILE_BYTES`].
    TooLarge(u64),
    Io(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotRegular => f.write_str("not a regular file"),
            ReadError::TooLarge(size) => write!(
                f,
                "{size} bytes is larger than the {} MiB limit",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            ReadError::Io(error) => f.write_str(error),
        }
    }
}

/// Reads a regular file of at most [`MAX_FILE_BYTES`] lossily as UTF-8, with lone `\r`
/// line breaks made `\n` (see [`crate::text::normalize_lone_cr`]).
///
/// Never blocks on special files: the file is opened non-blocking (opening a FIFO with no
/// writer would otherwise wait forever), then its type is checked on the open descriptor, so
/// a symlink swapped between a check and the open cannot lead to a device. At most the limit
/// plus one byte is ever read, whatever the file claims its size is.
pub fn read_file(path: &Path) -> Result<Arc<str>, ReadError> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options
        .open(path)
        .map_err(|error| ReadError::Io(error.to_string()))?;
    let metadata = file
        .metadata()
        .map_err(|error| ReadError::Io(error.to_string()))?;
    if !metadata.is_file() {
        return Err(ReadError::NotRegular);
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| ReadError::Io(error.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Arc::from(crate::text::normalize_lone_cr(text)))
}

/// [`read_file`], for callers that only need to know whether it worked.
pub fn read_lossy(path: &Path) -> Option<Arc<str>> {
    read_file(path).ok()
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
