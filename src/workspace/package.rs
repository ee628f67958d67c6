//! Where a module sits in a package on disk, so the helper can run it the way Python would
//! import it.

use std::path::{Path, PathBuf};

/// A module inside a package: its dotted name and the directory to import it from.
#[derive(Debug, PartialEq, Eq)]
pub struct PackagedModule {
    pub module_name: String,
    pub import_root: PathBuf,
}

/// The dotted module name of `path` when it lives in a package (its directory has an
/// `__init__.py`), so it runs as `__main__` *within that package* and relative imports work;
/// `None` for a plain script. Reads the disk: call it off the async runtime's hot paths.
pub fn package_of(path: &Path) -> Option<PackagedModule> {
    let stem = path.file_stem()?.to_str()?;
    let mut parts: Vec<String> = Vec::new();
    let mut directory = path.parent()?;
    while directory.join("__init__.py").is_file() {
        parts.push(directory.file_name()?.to_str()?.to_string());
        directory = directory.parent()?;
    }
    if parts.is_empty() {
        return None;
    }
    parts.reverse();
    if stem != "__init__" {
        parts.push(stem.to_string());
    }
    Some(PackagedModule {
        module_name: parts.join("."),
        import_root: directory.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_in_packages_get_their_dotted_name() {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("app/pipeline");
        std::fs::create_dir_all(&package).unwrap();
        std::fs::write(dir.path().join("app/__init__.py"), "").unwrap();
        std::fs::write(package.join("__init__.py"), "").unwrap();
        assert_eq!(
            package_of(&package.join("graph.py")),
            Some(PackagedModule {
                module_name: "app.pipeline.graph".into(),
                import_root: dir.path().to_path_buf(),
            })
        );
        assert_eq!(
            package_of(&package.join("__init__.py")).map(|p| p.module_name),
            Some("app.pipeline".to_string())
        );
        assert_eq!(package_of(&dir.path().join("script.py")), None);
    }
}
