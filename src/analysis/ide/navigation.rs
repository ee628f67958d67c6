//! Definition, references, document highlights and rename of Task classes, worker classes,
//! worker and graph variables and `@tool` functions.
//!
//! References are found by reading every identifier of a file that spells the name (files
//! that do not contain it are skipped with one substring search) and keeping those that
//! resolve to the same thing (`referent_of`): an unrelated class of the same name in another
//! module, a local variable that shadows it, or a keyword argument are not references.

use std::path::Path;
use std::sync::Arc;

use super::{names, referent_of, Referent, Scope};
use crate::analysis::resolve::{ClassRef, Ctx};
use crate::analysis::AnalysisHost;
use crate::diagnostics::TextRange;

/// One place that names the symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub path: Arc<Path>,
    pub range: TextRange,
    /// The name of the definition itself (`class X`, the first assignment of a variable).
    pub is_definition: bool,
}

/// Where the symbol at `offset` is defined.
pub fn definition(
    host: &AnalysisHost,
    path: &Path,
    offset: usize,
) -> Option<(Arc<Path>, TextRange)> {
    let (_, referent) = super::referent_at(host, path, offset)?;
    let mut ctx = Ctx::new(host);
    definition_of(&mut ctx, &referent)
}

fn definition_of(ctx: &mut Ctx, referent: &Referent) -> Option<(Arc<Path>, TextRange)> {
    match referent {
        Referent::Class(class) => super::class_definition(ctx, class),
        Referent::Variable {
            path, scope, name, ..
        } => {
            let file = ctx.file(path)?;
            let text = file.text.clone();
            let idents = names::identifiers(&text);
            let summary = file.summary.as_deref()?;
            let variables = super::scope_variables(ctx, path, summary, *scope, &text, &idents);
            let variable = variables.iter().find(|v| &v.name == name)?;
            Some((path.clone(), variable.name_range))
        }
        Referent::Tool { path, function } => {
            let summary = ctx.summary(path)?;
            Some((path.clone(), summary.functions.get(*function)?.name_range))
        }
    }
}

/// The name a referent is spelled with.
fn spelling(ctx: &Ctx, referent: &Referent) -> Option<String> {
    match referent {
        Referent::Class(class) => Some(ctx.class_name(class)),
        Referent::Variable { name, .. } => Some(name.clone()),
        Referent::Tool { path, function } => Some(
            ctx.summary(path)?
                .functions
                .get(*function)?
                .name
                .to_string(),
        ),
    }
}

/// Every reference to the symbol at `offset` (the definition included), files in path order.
pub fn references(host: &AnalysisHost, path: &Path, offset: usize) -> Vec<Reference> {
    let Some((_, referent)) = super::referent_at(host, path, offset) else {
        return Vec::new();
    };
    references_of(host, &referent)
}

/// Every reference to `referent`.
pub fn references_of(host: &AnalysisHost, referent: &Referent) -> Vec<Reference> {
    let mut ctx = Ctx::new(host);
    let Some(name) = spelling(&ctx, referent) else {
        return Vec::new();
    };
    let definition = definition_of(&mut ctx, referent);
    let files: Vec<Arc<Path>> = match referent {
        // A class can be named from any module; a variable or a tool only in its own.
        Referent::Class(ClassRef::User(..)) | Referent::Class(ClassRef::Builtin(_)) => {
            let mut files: Vec<Arc<Path>> = host
                .files
                .values()
                .filter(|f| f.summary.is_some() && f.text.contains(name.as_str()))
                .map(|f| f.path.clone())
                .collect();
            files.sort();
            files
        }
        Referent::Variable { path, .. } | Referent::Tool { path, .. } => vec![path.clone()],
    };
    let mut out = Vec::new();
    for path in files {
        let Some(file) = ctx.file(&path) else {
            continue;
        };
        let text = file.text.clone();
        let idents = names::identifiers(&text);
        for (index, ident) in idents.iter().enumerate() {
            if text[ident.range.start()..ident.range.end()] != name {
                continue;
            }
            if !in_scope_of(&ctx, referent, &path, ident.range) {
                continue;
            }
            if referent_of(&mut ctx, &path, &text, &idents, index).as_ref() != Some(referent) {
                continue;
            }
            out.push(Reference {
                is_definition: definition
                    .as_ref()
                    .is_some_and(|(p, r)| *p == path && *r == ident.range),
                path: path.clone(),
                range: ident.range,
            });
        }
    }
    out
}

/// Whether an identifier at `range` of `path` can name `referent`: a function's variable is
/// only named inside that function.
fn in_scope_of(ctx: &Ctx, referent: &Referent, path: &Path, range: TextRange) -> bool {
    match referent {
        Referent::Variable {
            scope: scope @ (Scope::Function(_) | Scope::Method(..)),
            ..
        } => ctx
            .summary(path)
            .and_then(|s| scope.function(s))
            .is_some_and(|f| f.range.start() <= range.start() && range.end() <= f.range.end()),
        _ => true,
    }
}

/// The references to the symbol at `offset` inside `path` only.
pub fn highlights(host: &AnalysisHost, path: &Path, offset: usize) -> Vec<Reference> {
    let Some((_, referent)) = super::referent_at(host, path, offset) else {
        return Vec::new();
    };
    let mut ctx = Ctx::new(host);
    let Some(name) = spelling(&ctx, &referent) else {
        return Vec::new();
    };
    let Some(file) = ctx.file(path) else {
        return Vec::new();
    };
    let file_path = file.path.clone();
    let text = file.text.clone();
    let definition = definition_of(&mut ctx, &referent);
    let idents = names::identifiers(&text);
    let mut out = Vec::new();
    for (index, ident) in idents.iter().enumerate() {
        if text[ident.range.start()..ident.range.end()] != name
            || !in_scope_of(&ctx, &referent, &file_path, ident.range)
            || referent_of(&mut ctx, &file_path, &text, &idents, index).as_ref() != Some(&referent)
        {
            continue;
        }
        out.push(Reference {
            is_definition: definition
                .as_ref()
                .is_some_and(|(p, r)| *p == file_path && *r == ident.range),
            path: file_path.clone(),
            range: ident.range,
        });
    }
    out
}

/// What can be renamed at `offset`: the identifier's range and current name. Task and worker
/// classes of the workspace and worker or graph variables; PlanAI's own classes and other
/// names are refused with the reason.
pub fn prepare_rename(
    host: &AnalysisHost,
    path: &Path,
    offset: usize,
) -> Result<(TextRange, String), String> {
    let Some((range, referent)) = super::referent_at(host, path, offset) else {
        return Err("Only PlanAI Task and worker classes and worker or graph variables can be renamed here.".into());
    };
    let mut ctx = Ctx::new(host);
    match &referent {
        Referent::Class(ClassRef::Builtin(_)) => {
            return Err("PlanAI's own classes cannot be renamed.".into())
        }
        Referent::Class(class) => {
            if !super::is_task(&mut ctx, class) && !super::is_worker(&mut ctx, class) {
                return Err("Only PlanAI Task and worker classes can be renamed here.".into());
            }
        }
        Referent::Variable { .. } => {}
        Referent::Tool { .. } => {
            return Err(
                "Renaming a @tool function changes the tool name the LLM sees; rename it by hand."
                    .into(),
            )
        }
    }
    let name = spelling(&ctx, &referent).unwrap_or_default();
    Ok((range, name))
}

/// The edits renaming the symbol at `offset` to `new_name`: every reference, in every file.
pub fn rename(
    host: &AnalysisHost,
    path: &Path,
    offset: usize,
    new_name: &str,
) -> Result<Vec<Reference>, String> {
    prepare_rename(host, path, offset)?;
    if !is_identifier(new_name) {
        return Err(format!("`{new_name}` is not a valid Python identifier."));
    }
    Ok(references(host, path, offset))
}

/// A Python identifier that is not a keyword.
fn is_identifier(name: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
        "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
        "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
        "try", "while", "with", "yield",
    ];
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
        && !KEYWORDS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn spelled(refs: &[Reference]) -> Vec<(String, usize, bool)> {
        let host = qa_host();
        refs.iter()
            .map(|r| {
                let text = host.file_text(&r.path).unwrap();
                (
                    r.path.file_name().unwrap().to_string_lossy().into_owned(),
                    text[..r.range.start()].matches('\n').count() + 1,
                    r.is_definition,
                )
            })
            .collect()
    }

    #[test]
    fn a_task_class_is_defined_once_and_referenced_across_files() {
        let host = qa_host();
        let graph = Path::new("/ws/graph.py");
        let at_answer = offset_of(GRAPH, "Answer)", 0) + 1;
        let (path, range) = definition(&host, graph, at_answer).unwrap();
        assert_eq!(&*path, Path::new("/ws/tasks.py"));
        assert_eq!(&TASKS[range.start()..range.end()], "Answer");
        let refs = references(&host, graph, at_answer);
        assert_eq!(
            spelled(&refs),
            vec![
                ("graph.py".into(), 10, false),
                ("tasks.py".into(), 9, true),
                ("workers.py".into(), 4, false),
                ("workers.py".into(), 8, false),
                ("workers.py".into(), 12, false),
            ]
        );
    }

    #[test]
    fn a_shadowing_local_or_a_keyword_argument_is_not_a_reference() {
        let other = "from tasks import Question\n\ndef f(Question):\n    return Question\n\ndef g():\n    return dict(Question=1)\n";
        let host = host(&[("tasks.py", TASKS), ("other.py", other)]);
        let refs = references(
            &host,
            Path::new("/ws/tasks.py"),
            offset_of(TASKS, "Question(Task)", 0),
        );
        let lines: Vec<(String, usize)> = refs
            .iter()
            .map(|r| {
                let text = host.file_text(&r.path).unwrap();
                (
                    r.path.file_name().unwrap().to_string_lossy().into_owned(),
                    text[..r.range.start()].matches('\n').count() + 1,
                )
            })
            .collect();
        assert_eq!(lines, vec![("other.py".into(), 1), ("tasks.py".into(), 4)]);
    }

    #[test]
    fn worker_variables_are_referenced_within_their_function() {
        let host = qa_host();
        let graph = Path::new("/ws/graph.py");
        let at = offset_of(GRAPH, "asker, responder)", 0);
        let (_, range) = definition(&host, graph, at).unwrap();
        assert_eq!(range.start(), offset_of(GRAPH, "asker, responder =", 0));
        let refs = highlights(&host, graph, at);
        assert_eq!(refs.len(), 3);
        assert!(refs[0].is_definition);
    }

    #[test]
    fn rename_covers_imports_and_refuses_planai_classes_and_bad_names() {
        let host = qa_host();
        let workers = Path::new("/ws/workers.py");
        let at_asker = offset_of(WORKERS, "Asker(TaskWorker)", 0);
        let edits = rename(&host, workers, at_asker, "Questioner").unwrap();
        let files: Vec<&str> = edits
            .iter()
            .map(|r| r.path.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(files, vec!["graph.py", "graph.py", "workers.py"]);
        assert!(rename(&host, workers, at_asker, "class").is_err());
        assert!(prepare_rename(&host, workers, offset_of(WORKERS, "TaskWorker)", 0)).is_err());
        let (range, name) = prepare_rename(&host, workers, at_asker).unwrap();
        assert_eq!(
            (&WORKERS[range.start()..range.end()], name.as_str()),
            ("Asker", "Asker")
        );
    }
}
