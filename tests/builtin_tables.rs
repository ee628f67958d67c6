//! The table of PlanAI's own classes (`analysis::builtins`) against real planai 0.7.1: every
//! pydantic model in it has exactly the fields planai's `model_fields` lists (its own and
//! inherited). IN2 trusts the required ones and IN9 trusts the whole set: a field missing from
//! the table would make IN9 flag a keyword PlanAI accepts.

mod venv_and_processes;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use planai_lsp::analysis::builtins;

/// `{class: [field, ...]}` for each `(module, class)`, read from the test venv's planai.
fn planai_fields(classes: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    let spec: Vec<String> = classes.iter().map(|(m, c)| format!("{m}:{c}")).collect();
    let scratch = tempfile::tempdir().expect("scratch dir");
    // `import planai` writes ./logs: run from a scratch directory.
    let output = Command::new(venv_and_processes::test_venv_python())
        .current_dir(scratch.path())
        .args([
            "-c",
            "import importlib, json, sys\n\
             out = {}\n\
             for spec in sys.argv[1:]:\n\
             \x20   module, name = spec.split(':')\n\
             \x20   cls = getattr(importlib.import_module(module), name)\n\
             \x20   out[name] = sorted(cls.model_fields)\n\
             print(json.dumps(out))\n",
        ])
        .args(&spec)
        .output()
        .expect("run the test venv's python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(last).expect("JSON from the probe")
}

/// The fields our table gives `name`, its own and its bases' (as the MRO collects them).
fn table_fields(name: &str) -> BTreeSet<String> {
    let id = builtins::class_by_name(name).expect("a builtin class");
    builtins::mro(id)
        .into_iter()
        .flat_map(|k| builtins::class(k).fields.iter().map(|f| f.name.to_string()))
        .collect()
}

#[test]
fn every_pydantic_builtin_has_exactly_planais_fields() {
    let models: Vec<(&str, &str)> = builtins::CLASSES
        .iter()
        .filter(|c| c.pydantic && c.module.starts_with("planai"))
        .map(|c| (c.module, c.name))
        .collect();
    assert!(
        models.len() >= 10,
        "expected PlanAI's models in the table, got {models:?}"
    );
    let real = planai_fields(&models);
    let mut mismatches = Vec::new();
    for (_, name) in &models {
        let ours = table_fields(name);
        let theirs = &real[*name];
        if &ours != theirs {
            mismatches.push(format!(
                "{name}: table {ours:?}, planai {theirs:?} (missing {:?}, extra {:?})",
                theirs.difference(&ours).collect::<Vec<_>>(),
                ours.difference(theirs).collect::<Vec<_>>()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
