//! Where a diagnostic's `codeDescription` links: the user's `planai.docsUrl` (an empty string:
//! no links), else the URL the build named (`PLANAI_LSP_DOCS_URL`), else a copy of
//! `docs/diagnostics.md` as this binary embeds it, written once into the user's cache
//! directory. The project publishes its docs nowhere yet, and a link to a guessed web address
//! would open a missing page; the local copy opens the reference of the very version that
//! reported the diagnostic, offline too (each code's section has an `<a id>` anchor, which
//! Markdown previews follow).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::diagnostics::{DOCS_MARKDOWN, DOCS_URL};

/// The base URL of the diagnostics reference (each code's section is `#<anchor>` on it), or
/// `None` for no links.
pub fn docs_base(setting: Option<&str>) -> Option<Arc<str>> {
    match setting {
        Some("") => None,
        Some(url) => Some(Arc::from(url)),
        None => match DOCS_URL {
            Some(url) => Some(Arc::from(url)),
            None => local_copy_url(),
        },
    }
}

/// The `file:` URL of the embedded reference, written on first use; `None` when no cache
/// directory can take it (then diagnostics carry no link rather than a broken one).
fn local_copy_url() -> Option<Arc<str>> {
    static URL: OnceLock<Option<Arc<str>>> = OnceLock::new();
    URL.get_or_init(|| {
        let written = write_local_copy(&cache_root());
        if let Err(e) = &written {
            tracing::warn!("no local copy of the diagnostics reference: {e}");
        }
        let uri = super::state::path_to_uri(&written.ok()?)?;
        Some(Arc::from(uri.as_str()))
    })
    .clone()
}

/// `$XDG_CACHE_HOME`, else `~/.cache`, else the temp dir.
fn cache_root() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir)
}

/// Writes the embedded reference under `root` unless an identical copy is there; returns its
/// path. The directory is named by version and content, so two builds never share a stale
/// copy, and the write is a rename, so a concurrent server never reads half a file.
fn write_local_copy(root: &Path) -> std::io::Result<PathBuf> {
    let dir = root.join("planai-lsp").join(format!(
        "docs-{}-{:016x}",
        env!("CARGO_PKG_VERSION"),
        crate::analysis::memo::text_hash(DOCS_MARKDOWN)
    ));
    let path = dir.join("diagnostics.md");
    if std::fs::read(&path).is_ok_and(|on_disk| on_disk == DOCS_MARKDOWN.as_bytes()) {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir)?;
    let mut file = tempfile::NamedTempFile::new_in(&dir)?;
    std::io::Write::write_all(&mut file, DOCS_MARKDOWN.as_bytes())?;
    file.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_setting_wins_and_an_empty_one_turns_links_off() {
        assert_eq!(
            docs_base(Some("https://docs.example/diagnostics")).as_deref(),
            Some("https://docs.example/diagnostics")
        );
        assert_eq!(docs_base(Some("")), None);
    }

    #[test]
    fn the_local_copy_is_the_embedded_reference_written_once() {
        let root = tempfile::tempdir().unwrap();
        let path = write_local_copy(root.path()).unwrap();
        assert!(path.starts_with(root.path()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), DOCS_MARKDOWN);
        assert!(DOCS_MARKDOWN.contains("<a id=\"gc7\"></a>"));
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(write_local_copy(root.path()).unwrap(), path);
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            written,
            "an identical copy is not written again"
        );
        // A damaged copy is replaced.
        std::fs::write(&path, "half").unwrap();
        write_local_copy(root.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), DOCS_MARKDOWN);
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temp file is left beside the copy");
    }

    #[test]
    fn an_unwritable_cache_gives_no_link_rather_than_a_broken_one() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("not-a-dir");
        std::fs::write(&file, "").unwrap();
        assert!(write_local_copy(&file).is_err());
    }
}
