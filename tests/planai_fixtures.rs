//! Data-driven PlanAI fixtures: `tests/fixtures/planai/` (each also proven against real planai
//! by `tests/fixtures/verify_fixtures.py`) and `tests/fixtures/planai_static/` (cases only a
//! static checker can show, such as several mistakes in one function).
//!
//! * every `*.py` directly in the folder is a single-file workspace;
//! * every sub-directory is a multi-file workspace (all its `.py` files, rooted there);
//! * expected diagnostics are trailing comments on the line where they must appear:
//!   `# expect: GC7` or `# expect: GC7, RT1`; any other line must have none;
//! * files named `ok_*.py` must have no diagnostics at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use planai_lsp::analysis::AnalysisHost;
use planai_lsp::workspace;

fn fixtures_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `# expect: A, B` on a line → ["A", "B"].
fn expected_codes(line: &str) -> Vec<String> {
    let Some(idx) = line.find("# expect:") else {
        return Vec::new();
    };
    line[idx + "# expect:".len()..]
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take_while(|s| s.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_string)
        .collect()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Checks one workspace; returns human-readable mismatches.
fn check_workspace(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut host = AnalysisHost::new();
    host.set_roots(vec![root.to_path_buf()]);
    host.insert_files(workspace::load_files(files));
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut expected: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let codes = expected_codes(line);
            if !codes.is_empty() {
                expected.insert(i + 1, codes);
            }
        }
        let ok_file = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("ok_"));
        let mut got: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
        for d in host.file_diagnostics(file) {
            got.entry(line_of(&text, d.range.start()))
                .or_default()
                .push((d.code.to_string(), d.message.clone()));
        }
        let rel = file
            .strip_prefix(fixtures_dir(""))
            .unwrap_or(file)
            .display()
            .to_string();
        if ok_file && !got.is_empty() {
            for (line, ds) in &got {
                for (code, msg) in ds {
                    problems.push(format!("{rel}:{line}: ok_ file has {code}: {msg}"));
                }
            }
            continue;
        }
        let lines: std::collections::BTreeSet<usize> =
            expected.keys().chain(got.keys()).copied().collect();
        for line in lines {
            let mut want = expected.get(&line).cloned().unwrap_or_default();
            let mut have: Vec<String> = got
                .get(&line)
                .map(|v| v.iter().map(|(c, _)| c.clone()).collect())
                .unwrap_or_default();
            want.sort();
            have.sort();
            if want != have {
                let msgs: Vec<String> = got
                    .get(&line)
                    .map(|v| v.iter().map(|(c, m)| format!("    {c}: {m}")).collect())
                    .unwrap_or_default();
                problems.push(format!(
                    "{rel}:{line}: expected [{}], got [{}]\n{}",
                    want.join(", "),
                    have.join(", "),
                    msgs.join("\n")
                ));
            }
        }
    }
    problems
}

#[test]
fn planai_fixtures() {
    run_fixture_dir(&fixtures_dir("planai"));
}

#[test]
fn static_only_fixtures() {
    run_fixture_dir(&fixtures_dir("planai_static"));
}

fn run_fixture_dir(dir: &Path) {
    let dir = dir.to_path_buf();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the fixture folder exists")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut problems = Vec::new();
    let mut cases = 0;
    for entry in entries {
        if entry.is_dir() {
            let files = workspace::discover_python_files(std::slice::from_ref(&entry));
            if files.is_empty() {
                continue;
            }
            cases += 1;
            problems.extend(check_workspace(&entry, &files));
        } else if entry.extension().is_some_and(|e| e == "py") {
            cases += 1;
            problems.extend(check_workspace(&dir, std::slice::from_ref(&entry)));
        }
    }
    assert!(cases > 0, "no fixtures found in {}", dir.display());
    assert!(
        problems.is_empty(),
        "{} fixture mismatch(es) in {cases} cases:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
