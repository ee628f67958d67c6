//! PlanAI completions: Task classes where a Task type is expected (`output_types`,
//! `llm_input_type`, `llm_output_type`, `consume_work` annotations, `set_sink`), worker
//! variables in graph wiring calls, worker classes in `join_type`, providers in
//! `llm_from_config(provider=…)`, the fields of `task.` inside `consume_work`, keyword
//! arguments (`name=`) in constructor calls of Tasks, workers and `Graph`, and snippets for new
//! Tasks, workers and graph builders.
//!
//! The context is read from the text before the cursor, since the code being typed is rarely
//! valid Python yet; names are resolved in the host's last analysis of the file.

use std::path::Path;

use super::{names, Scope, VariableValue};
use crate::analysis::checks::unknown_keywords::fields_of_model;
use crate::analysis::resolve::{ClassRef, Ctx, Symbol};
use crate::analysis::summary::Expr;
use crate::analysis::AnalysisHost;
use crate::diagnostics::TextRange;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionKind {
    TaskClass,
    WorkerClass,
    WorkerVariable,
    Provider,
    Field,
    /// `name=` in a constructor call of a Task, worker or Graph.
    Keyword,
    Snippet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
    /// What replaces `replace`: plain text, or a snippet with `$1` placeholders.
    pub new_text: String,
    pub is_snippet: bool,
    /// 0 for items that fit the context's types (e.g. workers that consume what the upstream
    /// worker produces), 1 for the others: clients sort by it first.
    pub rank: u8,
    pub replace: TextRange,
}

/// LLM providers `llm_from_config` accepts (llm-interface's `provider` literal).
pub const PROVIDERS: &[&str] = &[
    "ollama",
    "remote_ollama",
    "openai",
    "anthropic",
    "gemini",
    "openrouter",
];

/// The calls whose arguments are worker variables.
const WIRING_CALLS: &[&str] = &[
    "set_dependency",
    "next",
    "set_entry",
    "add_workers",
    "add_worker",
];

/// What the cursor is in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Context {
    TaskClass {
        upstream: Option<String>,
    },
    WorkerClass,
    WorkerVariable {
        upstream: Option<String>,
    },
    Provider {
        in_string: bool,
    },
    Field {
        receiver: String,
    },
    /// The keyword arguments of a constructor call `callee(…, |`, without those `typed`.
    Keyword {
        callee: String,
        typed: Vec<String>,
    },
    Snippets,
}

/// The completions at byte `offset` of `text`, the current text of `path`.
pub fn completions(host: &AnalysisHost, path: &Path, text: &str, offset: usize) -> Vec<Completion> {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let prefix_start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(offset, |(i, _)| i);
    let replace = TextRange::new(prefix_start, offset);
    let Some(context) = context(text, prefix_start) else {
        return Vec::new();
    };
    // While a call is being typed, the definition around it does not parse, and the host's
    // summary of it is unusable: analyse the text with the open brackets closed at the cursor.
    let repaired;
    let host = match repaired_host(host, path, text, offset, prefix_start < offset) {
        Some(fixed) => {
            repaired = fixed;
            &repaired
        }
        None => host,
    };
    let Some(file) = host.files.get(path) else {
        return match context {
            Context::Snippets => snippets(replace),
            Context::Provider { in_string } => providers(replace, in_string),
            _ => Vec::new(),
        };
    };
    let mut ctx = Ctx::new(host);
    let file_path = file.path.clone();
    // The host's text may lag the editor's by the keystrokes being checked: scopes are looked
    // up at the cursor's place in the host's text.
    let offset = if *file.text == *text {
        offset
    } else {
        crate::text::Edit::between(text, &file.text).map(offset)
    };
    match context {
        Context::Snippets => snippets(replace),
        Context::Provider { in_string } => providers(replace, in_string),
        Context::TaskClass { upstream } => {
            let preferred = upstream
                .and_then(|name| variable_class(&mut ctx, &file_path, offset, &name))
                .and_then(|class| super::output_classes(&mut ctx, &class))
                .unwrap_or_default();
            visible_classes(&mut ctx, &file_path)
                .into_iter()
                .filter(|(_, c)| {
                    // PlanAI's own `Task` is never a useful answer.
                    matches!(c, ClassRef::User(..))
                        && super::is_task(&mut ctx, c)
                        && !super::is_worker(&mut ctx, c)
                })
                .map(|(name, c)| Completion {
                    rank: u8::from(!preferred.contains(&c)),
                    detail: Some("Task".into()),
                    new_text: name.clone(),
                    label: name,
                    kind: CompletionKind::TaskClass,
                    is_snippet: false,
                    replace,
                })
                .collect()
        }
        Context::WorkerClass => {
            let workers: Vec<(String, ClassRef)> = visible_classes(&mut ctx, &file_path)
                .into_iter()
                .filter(|(_, c)| super::is_worker(&mut ctx, c))
                .collect();
            workers
                .into_iter()
                .map(|(name, c)| Completion {
                    rank: u8::from(
                        matches!(c, ClassRef::Builtin(_)) && name != "InitialTaskWorker",
                    ),
                    detail: Some(super::hover::worker_kind(&mut ctx, &c).to_string()),
                    new_text: name.clone(),
                    label: name,
                    kind: CompletionKind::WorkerClass,
                    is_snippet: false,
                    replace,
                })
                .collect()
        }
        Context::WorkerVariable { upstream } => {
            let produced = upstream
                .and_then(|name| variable_class(&mut ctx, &file_path, offset, &name))
                .and_then(|class| super::output_classes(&mut ctx, &class));
            let Some(summary) = ctx.summary(&file_path) else {
                return Vec::new();
            };
            let host_text = file.text.clone();
            let idents = names::identifiers(&host_text);
            let scope = Scope::at(summary, offset.min(host_text.len()));
            let variables =
                super::scope_variables(&mut ctx, &file_path, summary, scope, &host_text, &idents);
            variables
                .into_iter()
                .filter_map(|v| match v.value {
                    VariableValue::Worker(class) => Some((v.name, class)),
                    VariableValue::Graph => None,
                })
                .map(|(name, class)| {
                    let fits = match &produced {
                        Some(produced) => super::consumed_classes(&mut ctx, &class)
                            .is_some_and(|consumed| consumed.iter().any(|c| produced.contains(c))),
                        None => true,
                    };
                    Completion {
                        rank: u8::from(!fits),
                        detail: Some(format!(
                            "{}: {}",
                            ctx.class_name(&class),
                            super::flow_label(&mut ctx, &class)
                        )),
                        new_text: name.clone(),
                        label: name,
                        kind: CompletionKind::WorkerVariable,
                        is_snippet: false,
                        replace,
                    }
                })
                .collect()
        }
        Context::Keyword { callee, typed } => {
            let Symbol::Class(class) = ctx.resolve_global(&file_path, &callee, 0) else {
                return Vec::new();
            };
            let Some(fields) = fields_of_model(&mut ctx, &class) else {
                return Vec::new();
            };
            fields
                .into_iter()
                .filter(|f| !typed.contains(&f.name))
                .map(|f| Completion {
                    label: format!("{}=", f.name),
                    detail: Some(if f.required {
                        format!("required field of {}", f.owner)
                    } else {
                        format!("field of {}", f.owner)
                    }),
                    new_text: format!("{}=", f.name),
                    kind: CompletionKind::Keyword,
                    is_snippet: false,
                    // Required fields first, then the class's own, then PlanAI's.
                    rank: u8::from(!f.required),
                    replace,
                })
                .collect()
        }
        Context::Field { receiver } => {
            let Some(task) = parameter_class(&mut ctx, &file_path, offset, &receiver) else {
                return Vec::new();
            };
            super::hover::task_fields(&mut ctx, &task)
                .into_iter()
                .map(|f| Completion {
                    detail: Some(f.annotation.clone()),
                    new_text: f.name.clone(),
                    label: f.name,
                    kind: CompletionKind::Field,
                    is_snippet: false,
                    rank: 0,
                    replace,
                })
                .collect()
        }
    }
}

/// A host holding `text` repaired at `offset` (a placeholder name where none is typed yet,
/// and the brackets open there closed), when the host's summary of the definition around the
/// cursor has a syntax error (else `None`: the host is good as it is).
fn repaired_host(
    host: &AnalysisHost,
    path: &Path,
    text: &str,
    offset: usize,
    typed: bool,
) -> Option<AnalysisHost> {
    let file = host.files.get(path)?;
    let summary = file.summary.as_deref()?;
    let host_offset = crate::text::Edit::between(text, &file.text).map(offset);
    let enclosing = summary
        .def_spans
        .iter()
        .find(|(range, _)| range.start() <= host_offset && host_offset <= range.end());
    let broken = match enclosing {
        Some((_, def)) => summary.erroneous_defs.contains(def),
        None => summary.module_error,
    };
    if !broken {
        return None;
    }
    // Brackets opened on the cursor's line and still open at its end are closed there.
    let line_start = line_start_of(text, offset);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let open: Vec<u8> = open_brackets(text, line_end)
        .into_iter()
        .filter(|(at, _)| *at >= line_start)
        .map(|(_, bracket)| bracket)
        .collect();
    let mut fixed = String::with_capacity(text.len() + open.len() + 1);
    fixed.push_str(&text[..offset]);
    if !typed {
        fixed.push('_');
    }
    fixed.push_str(&text[offset..line_end]);
    for bracket in open.iter().rev() {
        fixed.push(match bracket {
            b'(' => ')',
            b'[' => ']',
            _ => '}',
        });
    }
    fixed.push_str(&text[line_end..]);
    let mut host = host.clone();
    host.set_file(
        path.to_path_buf(),
        std::sync::Arc::from(fixed.as_str()),
        None,
    );
    Some(host)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The innermost bracket still open at `end`: its byte offset and character. Strings and
/// comments are skipped. The scan starts at the top of the text: starting anywhere else could
/// start inside a triple-quoted string (a linear byte scan, well under a millisecond for a
/// large module).
fn open_bracket(text: &str, end: usize) -> Option<(usize, u8)> {
    open_brackets(text, end).pop()
}

/// Every bracket still open at `end`, outermost first.
fn open_brackets(text: &str, end: usize) -> Vec<(usize, u8)> {
    let b = text.as_bytes();
    let mut stack: Vec<(usize, u8)> = Vec::new();
    let mut i = 0;
    while i < end {
        match b[i] {
            b'#' => {
                while i < end && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            quote @ (b'"' | b'\'') => {
                let triple = b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote);
                i += if triple { 3 } else { 1 };
                while i < end {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == quote
                        && (!triple
                            || (b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote)))
                    {
                        i += if triple { 3 } else { 1 };
                        break;
                    }
                    if b[i] == b'\n' && !triple {
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            open @ (b'(' | b'[' | b'{') => stack.push((i, open)),
            b')' | b']' | b'}' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    stack
}

/// The dotted name just before byte `end` (`graph.set_dependency` before its `(`).
fn callee_before(text: &str, end: usize) -> &str {
    let before = text[..end].trim_end();
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '.')
        .last()
        .map_or(before.len(), |(i, _)| i);
    &before[start..]
}

/// The arguments typed so far between an open bracket and the cursor, split at top-level
/// commas (nested brackets and strings are kept whole).
fn arguments(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim());
    out
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Reads the completion context before `prefix_start`.
fn context(text: &str, prefix_start: usize) -> Option<Context> {
    let before = &text[..prefix_start];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &before[line_start..];
    // `receiver.` with an identifier receiver: a field of a Task parameter.
    if let Some(receiver) = line.strip_suffix('.') {
        let receiver = callee_before(receiver, receiver.len());
        return is_identifier(receiver).then(|| Context::Field {
            receiver: receiver.to_string(),
        });
    }
    // Inside a string: only `provider="…` of llm_from_config.
    let in_string = line.ends_with('"') || line.ends_with('\'');
    let bracket = open_bracket(
        text,
        if in_string {
            prefix_start - 1
        } else {
            prefix_start
        },
    );
    if let Some((at, kind)) = bracket {
        let inside = &text[at + 1..if in_string {
            prefix_start - 1
        } else {
            prefix_start
        }];
        let args = arguments(inside);
        let current = args.last().copied().unwrap_or("");
        let index = args.len() - 1;
        let callee = callee_before(text, at);
        let method = callee.rsplit('.').next().unwrap_or(callee);
        if kind == b'(' {
            if let Some((keyword, value)) = current.split_once('=') {
                let keyword = keyword.trim();
                if value.trim().is_empty() {
                    return match keyword {
                        "provider" if method == "llm_from_config" => {
                            Some(Context::Provider { in_string })
                        }
                        "llm_input_type" | "llm_output_type" if !in_string => {
                            Some(Context::TaskClass { upstream: None })
                        }
                        "join_type" if !in_string => Some(Context::WorkerClass),
                        _ => None,
                    };
                }
            }
            if in_string {
                return None;
            }
            let defines = text[..at].trim_end().ends_with(method)
                && text[line_start_of(text, at)..at]
                    .trim_start()
                    .starts_with("def ");
            if defines && (method == "consume_work" || method == "consume_work_joined") {
                return current
                    .contains(':')
                    .then_some(Context::TaskClass { upstream: None });
            }
            if method == "set_sink" {
                return Some(if index == 0 {
                    Context::WorkerVariable { upstream: None }
                } else {
                    Context::TaskClass {
                        upstream: Some(args[0].to_string()).filter(|a| is_identifier(a)),
                    }
                });
            }
            if WIRING_CALLS.contains(&method) {
                let upstream = match method {
                    "set_dependency" if index == 1 => Some(args[0].to_string()),
                    "next" => upstream_of_next(text, at, callee),
                    _ => None,
                };
                return Some(Context::WorkerVariable {
                    upstream: upstream.filter(|u| is_identifier(u)),
                });
            }
            // `Responder(tone="x", |`: a keyword of a constructor (whether `callee` is a
            // PlanAI model class is known only once it is resolved).
            let new_line = text[line_start_of(text, at)..at].trim_start();
            let is_def = new_line.starts_with("def ") || new_line.starts_with("class ");
            if !is_def && is_identifier(callee) && (current.is_empty() || is_identifier(current)) {
                let typed = args[..index]
                    .iter()
                    .filter_map(|a| a.split_once('=').map(|(k, _)| k.trim().to_string()))
                    .collect();
                return Some(Context::Keyword {
                    callee: callee.to_string(),
                    typed,
                });
            }
            return None;
        }
        if in_string {
            return None;
        }
        // `output_types: List[Type[Task]] = [A, |`.
        if kind == b'[' {
            let statement = &text[line_start_of(text, at)..at];
            if statement.trim_start().starts_with("output_types") && statement.contains('=') {
                return Some(Context::TaskClass { upstream: None });
            }
            // `def consume_work_joined(self, tasks: List[|`.
            if let Some((paren, b'(')) = open_bracket(text, at) {
                let method = callee_before(text, paren);
                if (method == "consume_work" || method == "consume_work_joined")
                    && text[line_start_of(text, paren)..paren]
                        .trim_start()
                        .starts_with("def ")
                {
                    return Some(Context::TaskClass { upstream: None });
                }
            }
        }
        return None;
    }
    if in_string {
        return None;
    }
    // `llm_input_type: Type[Task] = |` and friends, in a class body.
    if let Some((target, value)) = line.split_once('=') {
        let name = target.split(':').next().unwrap_or("").trim();
        if value.trim().is_empty() {
            return match name {
                "llm_input_type" | "llm_output_type" => Some(Context::TaskClass { upstream: None }),
                "join_type" => Some(Context::WorkerClass),
                _ => None,
            };
        }
        return None;
    }
    // At the start of a module-level line: snippets.
    line.is_empty().then_some(Context::Snippets)
}

fn line_start_of(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// For `….set_dependency(a, b).next(` or `….next(b).next(`: the last worker before `.next`.
fn upstream_of_next(text: &str, at: usize, callee: &str) -> Option<String> {
    // The callee read back stops at `)`: what precedes `.next` is a call's closing bracket.
    let callee_end = text[..at].trim_end().len();
    let before_dot = text[..callee_end.checked_sub(callee.len())? + callee.len() - "next".len()]
        .trim_end()
        .strip_suffix('.')?
        .trim_end();
    let inner = before_dot.strip_suffix(')')?;
    let (open, _) = open_bracket(inner, inner.len())?;
    let args = arguments(&inner[open + 1..]);
    args.last().map(|a| a.to_string())
}

/// The classes visible by name at `path`'s module scope, sorted by name.
fn visible_classes(ctx: &mut Ctx, path: &std::sync::Arc<Path>) -> Vec<(String, ClassRef)> {
    let Some(summary) = ctx.summary(path) else {
        return Vec::new();
    };
    let mut out: Vec<(String, ClassRef)> = summary
        .bindings
        .keys()
        .filter_map(|name| match ctx.resolve_global(path, name, 0) {
            Symbol::Class(c) => Some((name.to_string(), c)),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The worker class of variable `name` in the scope at `offset`.
fn variable_class(
    ctx: &mut Ctx,
    path: &std::sync::Arc<Path>,
    offset: usize,
    name: &str,
) -> Option<ClassRef> {
    let file = ctx.file(path)?;
    let text = file.text.clone();
    let summary = file.summary.as_deref()?;
    let idents = names::identifiers(&text);
    let scope = Scope::at(summary, offset.min(text.len()));
    super::scope_variables(ctx, path, summary, scope, &text, &idents)
        .into_iter()
        .find(|v| v.name == name)
        .and_then(|v| match v.value {
            VariableValue::Worker(c) => Some(c),
            VariableValue::Graph => None,
        })
}

/// The Task class of parameter `name` of the method or function at `offset`, from its
/// annotation (`task: Question`).
fn parameter_class(
    ctx: &mut Ctx,
    path: &std::sync::Arc<Path>,
    offset: usize,
    name: &str,
) -> Option<ClassRef> {
    let summary = ctx.summary(path)?;
    let function = Scope::at(summary, offset).function(summary)?;
    let annotation: &Expr = function
        .params
        .iter()
        .find(|p| p.name == name)?
        .annotation
        .as_ref()?;
    let class = ctx.resolve_class(path, annotation)?;
    super::is_task(ctx, &class).then_some(class)
}

fn providers(replace: TextRange, in_string: bool) -> Vec<Completion> {
    PROVIDERS
        .iter()
        .map(|p| Completion {
            label: p.to_string(),
            kind: CompletionKind::Provider,
            detail: Some("llm_from_config provider".into()),
            new_text: if in_string {
                p.to_string()
            } else {
                format!("\"{p}\"")
            },
            is_snippet: false,
            rank: 0,
            replace,
        })
        .collect()
}

/// Snippets for new PlanAI definitions.
const SNIPPETS: &[(&str, &str, &str)] = &[
    (
        "Task",
        "a new Task class",
        "class ${1:MyTask}(Task):\n    ${2:field}: ${3:str}\n",
    ),
    (
        "TaskWorker",
        "a new TaskWorker",
        "class ${1:MyWorker}(TaskWorker):\n    output_types: List[Type[Task]] = [${2:OutputTask}]\n\n    def consume_work(self, task: ${3:InputTask}):\n        ${0:self.publish_work(${2:OutputTask}(), input_task=task)}\n",
    ),
    (
        "LLMTaskWorker",
        "a new LLMTaskWorker",
        "class ${1:MyLLMWorker}(LLMTaskWorker):\n    output_types: List[Type[Task]] = [${2:OutputTask}]\n    llm_input_type: Type[Task] = ${3:InputTask}\n    prompt: str = dedent(\n        \"\"\"\n        ${0:Describe what the LLM should do.}\n        \"\"\"\n    ).strip()\n",
    ),
    (
        "JoinedTaskWorker",
        "a new JoinedTaskWorker",
        "class ${1:MyJoiner}(JoinedTaskWorker):\n    output_types: List[Type[Task]] = [${2:OutputTask}]\n    join_type: Type[TaskWorker] = ${3:InitialTaskWorker}\n\n    def consume_work_joined(self, tasks: List[${4:InputTask}]):\n        ${0:pass}\n",
    ),
    (
        "graph builder",
        "a function that builds a Graph",
        "def ${1:build_graph}() -> Graph:\n    graph = Graph(name=\"${2:graph}\")\n    ${3:first} = ${4:FirstWorker}()\n    ${5:second} = ${6:SecondWorker}()\n    graph.add_workers(${3:first}, ${5:second})\n    graph.set_dependency(${3:first}, ${5:second})\n    graph.set_sink(${5:second}, ${7:OutputTask})\n    return graph\n",
    ),
];

fn snippets(replace: TextRange) -> Vec<Completion> {
    SNIPPETS
        .iter()
        .map(|(label, detail, body)| Completion {
            label: label.to_string(),
            kind: CompletionKind::Snippet,
            detail: Some(detail.to_string()),
            new_text: body.to_string(),
            is_snippet: true,
            rank: 0,
            replace,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    const EDITED: &str = "graph.py";

    /// Completions with `|` as the cursor in `source`, the host holding `GRAPH` for graph.py
    /// (as after the last check) and `source` being what the editor holds now.
    fn complete(file: &str, source: &str) -> Vec<(String, u8)> {
        let host = qa_host();
        let offset = source.find('|').unwrap();
        let text = source.replacen('|', "", 1);
        let mut items = completions(
            &host,
            &std::path::PathBuf::from("/ws").join(file),
            &text,
            offset,
        );
        items.sort_by(|a, b| (a.rank, &a.label).cmp(&(b.rank, &b.label)));
        items.into_iter().map(|c| (c.label, c.rank)).collect()
    }

    fn labels(items: &[(String, u8)]) -> Vec<&str> {
        items.iter().map(|(l, _)| l.as_str()).collect()
    }

    fn graph_with(line: &str) -> String {
        GRAPH.replace(
            "    return graph\n",
            &format!("    {line}\n    return graph\n"),
        )
    }

    #[test]
    fn wiring_calls_offer_worker_variables_consumers_of_the_upstream_first() {
        let items = complete(EDITED, &graph_with("graph.set_dependency(responder, |"));
        // Asker consumes Answer, which Responder produces: first.
        assert_eq!(items, vec![("asker".into(), 0), ("responder".into(), 1)]);
        let items = complete(EDITED, &graph_with("graph.set_dependency(asker, res|"));
        assert_eq!(items, vec![("responder".into(), 0), ("asker".into(), 1)]);
        let items = complete(
            EDITED,
            &graph_with("graph.set_dependency(asker, responder).next(|"),
        );
        assert_eq!(items, vec![("asker".into(), 0), ("responder".into(), 1)]);
        for call in [
            "graph.add_workers(|",
            "graph.set_entry(|",
            "graph.set_sink(|",
        ] {
            assert_eq!(
                labels(&complete(EDITED, &graph_with(call))),
                vec!["asker", "responder"],
                "{call}"
            );
        }
    }

    #[test]
    fn task_positions_offer_task_classes() {
        let items = complete(EDITED, &graph_with("graph.set_sink(asker, |"));
        assert!(
            items.is_empty(),
            "graph.py imports no Task class by name: {items:?}"
        );
        let workers = |line: &str| {
            WORKERS.replace("class Responder(", &format!("{line}\n\nclass Responder("))
        };
        for line in [
            "class X(TaskWorker):\n    output_types: List[Type[Task]] = [|",
            "class X(LLMTaskWorker):\n    llm_output_type: Type[Task] = |",
            "class X(TaskWorker):\n    def consume_work(self, task: |",
            "class X(TaskWorker):\n    def consume_work(self, task: Q|",
            "w = Responder(llm_output_type=|",
        ] {
            assert_eq!(
                labels(&complete("workers.py", &workers(line))),
                vec!["Answer", "Question"],
                "{line}"
            );
        }
        // A module that imports the Task classes: the upstream worker's outputs come first.
        let importing = "from tasks import Answer, Question\n".to_string() + GRAPH;
        let host = host(&[
            ("tasks.py", TASKS),
            ("workers.py", WORKERS),
            ("graph.py", &importing),
        ]);
        let sink = importing.replace(
            "    return graph\n",
            "    graph.set_sink(responder, \n    return graph\n",
        );
        let offset = sink.find("responder, ").unwrap() + "responder, ".len();
        let mut items = completions(&host, Path::new("/ws/graph.py"), &sink, offset);
        items.sort_by(|a, b| (a.rank, &a.label).cmp(&(b.rank, &b.label)));
        let ranked: Vec<(&str, u8)> = items.iter().map(|c| (c.label.as_str(), c.rank)).collect();
        assert_eq!(ranked, vec![("Answer", 0), ("Question", 1)]);
    }

    #[test]
    fn join_type_offers_worker_classes_and_providers_complete_in_llm_from_config() {
        let text = WORKERS.to_string()
            + "\nclass J(JoinedTaskWorker):\n    join_type: Type[TaskWorker] = |";
        assert_eq!(
            complete("workers.py", &text),
            vec![
                ("Asker".into(), 0),
                ("Responder".into(), 0),
                ("LLMTaskWorker".into(), 1),
                ("TaskWorker".into(), 1)
            ]
        );
        let text = "llm = llm_from_config(provider=\"op|\")\n";
        let mut providers = PROVIDERS.to_vec();
        providers.sort();
        assert_eq!(labels(&complete("new.py", text)), providers);
        let host = qa_host();
        let quoted = completions(
            &host,
            Path::new("/ws/new.py"),
            "llm_from_config(provider=",
            25,
        );
        assert_eq!(quoted[0].new_text, "\"ollama\"");
    }

    #[test]
    fn constructor_calls_offer_the_fields_as_keywords_required_first() {
        // Responder is an LLMTaskWorker: `llm` has no default; its own `prompt` and the
        // inherited fields follow. What is typed already is not offered again.
        let items = complete(EDITED, &graph_with("other = Responder(|"));
        assert_eq!(items[0], ("llm=".into(), 0), "{items:?}");
        let offered = labels(&items);
        for field in ["prompt=", "output_types=", "num_retries=", "temperature="] {
            assert!(offered.contains(&field), "{field} missing: {offered:?}");
        }
        let items = complete(EDITED, &graph_with("other = Responder(llm=llm, num|"));
        assert!(!labels(&items).contains(&"llm="), "{items:?}");
        // A Task: its fields.
        let items = complete(EDITED, &graph_with("q = tasks.Question(|"));
        assert!(
            items.is_empty(),
            "a dotted callee is not resolved: {items:?}"
        );
        let importing =
            "from tasks import Question\n".to_string() + &graph_with("q = Question(rank=1, |");
        let offset = importing.find('|').unwrap();
        let text = importing.replacen('|', "", 1);
        // As after the check of the text with the import (the call itself is still open).
        let analysed = "from tasks import Question\n".to_string() + GRAPH;
        let host = host(&[
            ("tasks.py", TASKS),
            ("workers.py", WORKERS),
            ("graph.py", &analysed),
        ]);
        let got = completions(&host, Path::new("/ws/graph.py"), &text, offset);
        let got: Vec<(&str, Option<&str>)> = got
            .iter()
            .map(|c| (c.label.as_str(), c.detail.as_deref()))
            .collect();
        // `text: str = Field(description=...)` has no default: required, as IN2 knows.
        assert_eq!(got, vec![("text=", Some("required field of Question"))]);
        // `Graph(`: PlanAI's own fields.
        assert_eq!(
            labels(&complete(EDITED, &graph_with("g2 = Graph(|"))),
            vec!["name=", "dependencies=", "strict=", "workers="]
        );
        // Not in definitions, nor for a value being typed, nor for functions.
        for line in ["x = Responder(llm=|", "x = print(|", "x = build_graph(|"] {
            assert_eq!(complete(EDITED, &graph_with(line)), vec![], "{line}");
        }
        let def = WORKERS.to_string() + "\ndef make(|";
        assert_eq!(complete("workers.py", &def), vec![]);
    }

    #[test]
    fn task_attribute_offers_the_fields_of_the_annotated_task() {
        let text = WORKERS.replace("Question(text=task.text)", "Question(text=task.|)");
        assert_eq!(labels(&complete("workers.py", &text)), vec!["text"]);
        // Also once the host has analysed the broken text being typed.
        let typing = WORKERS.replace(
            "self.publish_work(Question(text=task.text), input_task=task)",
            "x = task.",
        );
        let host = host(&[("tasks.py", TASKS), ("workers.py", &typing)]);
        let offset = typing.find("task.\n").unwrap() + "task.".len();
        let fields = completions(&host, Path::new("/ws/workers.py"), &typing, offset);
        assert_eq!(
            fields.iter().map(|f| f.label.as_str()).collect::<Vec<_>>(),
            vec!["text"]
        );
    }

    #[test]
    fn a_module_level_line_start_offers_snippets() {
        let items = complete("new.py", "from planai import Task\n\n|");
        assert_eq!(
            labels(&items),
            vec![
                "JoinedTaskWorker",
                "LLMTaskWorker",
                "Task",
                "TaskWorker",
                "graph builder"
            ]
        );
        assert!(complete("new.py", "x = 1\n    |").is_empty());
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    #[test]
    fn wiring_in_the_text_pipeline_example() {
        let original = include_str!("../../../examples/text_pipeline.py");
        let text = original.replace(
            "    return graph, splitter\n",
            "    graph.set_dependency(counter, \n    return graph, splitter\n",
        );
        let offset = text.find("(counter, ").unwrap() + "(counter, ".len();
        let host = super::super::test_support::host(&[("text_pipeline.py", &text)]);
        let items = completions(&host, Path::new("/ws/text_pipeline.py"), &text, offset);
        let mut ranked: Vec<(&str, u8)> =
            items.iter().map(|c| (c.label.as_str(), c.rank)).collect();
        ranked.sort();
        assert_eq!(
            ranked,
            vec![
                ("aggregator", 0),
                ("counter", 1),
                ("splitter", 1),
                ("spotter", 1)
            ]
        );
    }
}
