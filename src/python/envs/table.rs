//! The `planai-lsp envs` table and the JSON of `planai.listEnvironments`.

use super::{no_interpreter_message, PythonEnvironment};
use std::fmt::Write as _;

/// Environments as JSON (what `planai.listEnvironments` and `planai-lsp envs --json` print),
/// each with a `selected` flag.
pub fn environments_json(envs: &[PythonEnvironment], selected: Option<usize>) -> serde_json::Value {
    let items = envs
        .iter()
        .enumerate()
        .map(|(index, environment)| {
            let mut value = serde_json::to_value(environment).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("selected".into(), (Some(index) == selected).into());
            }
            value
        })
        .collect();
    serde_json::Value::Array(items)
}

/// A plain-text table of environments; `selected` (an index into `envs`) is marked with `*`.
pub fn render_table(envs: &[PythonEnvironment], selected: Option<usize>) -> String {
    if envs.is_empty() {
        return format!("{}\n", no_interpreter_message());
    }
    let header = ["", "#", "kind", "python", "planai", "path", "source"];
    let rows: Vec<[String; 7]> = envs
        .iter()
        .enumerate()
        .map(|(i, env)| {
            let mut path = env.display_interpreter();
            if !env.exists {
                path.push_str(" (missing)");
            }
            let planai = match (&env.planai, env.site_packages.is_empty()) {
                (Some(v), _) => v.clone(),
                (None, true) => "?".to_string(),
                (None, false) => "-".to_string(),
            };
            [
                if Some(i) == selected { "*" } else { "" }.to_string(),
                (i + 1).to_string(),
                env.kind.as_str().to_string(),
                env.python_version.clone().unwrap_or_else(|| "?".into()),
                planai,
                path,
                env.source.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &[&str]| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        push_row(&cells);
    }
    out.push_str("\n* = selected; planai \"-\" = not installed, \"?\" = unknown until probed\n");
    out
}
