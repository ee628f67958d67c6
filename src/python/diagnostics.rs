//! Turns helper [`Problem`]s (1-based line, 0-based code-point column) into
//! [`Diagnostic`]s with byte ranges into the text the validation was made from.
//!
//! The conversion never fails and never panics: positions past the end of a line or of the
//! text are clamped, because the buffer may have changed shape between request and answer
//! only in ways the server guards against by document version, and Python's own positions
//! are sometimes approximate.

use super::protocol::{Problem, ProblemKind, ProblemSeverity};
use crate::diagnostics::{
    Code, Diagnostic, DiagnosticCode, DiagnosticSource, Identity, Severity, Subject, TextRange,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Diagnostics for the validated document, and problems located in other files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VenvDiagnostics {
    /// Diagnostics on the validated document. A problem raised in another file also gets one
    /// here, at the document's own traceback frame (e.g. the `import` line), so the user sees it.
    pub document: Vec<Diagnostic>,
    /// Problems whose location is another file, keyed by that file's path. Convert them with
    /// [`problem_to_diagnostic`] given that file's text (the server may publish them there or
    /// attach them as related information).
    pub other_files: BTreeMap<PathBuf, Vec<Problem>>,
}

/// Converts a validation's problems; `document_path` is the `path` the request was sent with
/// and `text` the exact `source` it was sent with.
pub fn problems_to_diagnostics(
    problems: &[Problem],
    document_path: &Path,
    text: &str,
) -> VenvDiagnostics {
    let mut out = VenvDiagnostics::default();
    for problem in problems {
        if is_same_file(&problem.path, document_path) {
            out.document.push(problem_to_diagnostic(problem, text));
            continue;
        }
        let other = PathBuf::from(&problem.path);
        out.document
            .push(anchor_in_document(problem, &other, document_path, text));
        out.other_files
            .entry(other)
            .or_default()
            .push(problem.clone());
    }
    out
}

/// Converts one problem, given the text of the file it points into.
pub fn problem_to_diagnostic(problem: &Problem, text: &str) -> Diagnostic {
    let range = problem_range(
        text,
        problem.line,
        problem.column,
        problem.end_line,
        problem.end_column,
    );
    identify(
        problem,
        Diagnostic::new(
            DiagnosticSource::PlanaiVenv,
            severity(problem),
            code(problem),
            range,
            message(problem),
        ),
    )
}

/// The PlanAI check `problem` is: the one the helper recognised (when it named a registered
/// code and a complete subject), else the one its message names ([`identity_from_message`]).
pub fn problem_identity(problem: &Problem) -> Option<Identity> {
    let Some(check) = problem.check.as_ref() else {
        return identity_from_message(&problem.exception, &problem.message);
    };
    let code: Code = check.code.parse().ok()?;
    let subject = match (
        &check.upstream,
        &check.downstream,
        &check.class,
        &check.field,
    ) {
        (Some(upstream), Some(downstream), _, _) => Subject::edge(upstream, downstream),
        (_, _, Some(class), Some(field)) => Subject::field(class, field),
        (_, _, Some(class), None) => Subject::class(class),
        _ => Subject::name(check.name.as_ref()?),
    };
    Some(Identity {
        check: code,
        subject,
    })
}

/// The PlanAI check an exception is by what its message says, for the checks the helper cannot
/// recognise from a PlanAI frame (`identify_check` in `helper.py`): CPython raises IN1 (an
/// abstract `consume_work`) and IN4 (positional arguments) before any PlanAI code runs, and
/// pydantic reports SubGraphWorker's own validation (IN6–IN8) without a field. The messages are
/// those of PlanAI 0.7.1 with pydantic 2 on CPython 3.10–3.13 (see `docs/diagnostics.md`); the
/// subject is what the message names, as the static checks name it: the abstract class (IN1),
/// the class whose `__init__` refused the arguments (IN4: `Graph`, `TaskWorker`,
/// `LLMTaskWorker`, `BaseModel` …, or `SubGraphWorker`), the model title (IN6–IN8: the
/// `name=` given, else `SubGraphWorker`).
pub fn identity_from_message(exception: &str, message: &str) -> Option<Identity> {
    let (check, class) = match exception {
        "TypeError" => abstract_consume_work(message)
            .map(|class| (Code::In1, class))
            .or_else(|| positional_arguments(message).map(|owner| (Code::In4, owner)))?,
        "ValidationError" => subgraph_validation(message)?,
        _ => return None,
    };
    Some(Identity {
        check,
        subject: Subject::class(class),
    })
}

/// IN1: `Can't instantiate abstract class W with abstract method consume_work` (3.10, 3.11;
/// `methods a, b` when several) or `… W without an implementation for abstract method
/// 'consume_work'` (3.12+), about `consume_work` or `consume_work_joined`.
fn abstract_consume_work(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("Can't instantiate abstract class ")?;
    let (class, methods) = rest
        .split_once(" without an implementation for abstract method")
        .or_else(|| rest.split_once(" with abstract method"))?;
    let methods = methods.trim_start_matches('s');
    let consume = methods
        .split(',')
        .map(|m| m.trim().trim_matches('\''))
        .any(|m| m == "consume_work" || m == "consume_work_joined");
    (consume && is_identifier(class)).then_some(class)
}

/// IN4: `Graph.__init__() takes 1 positional argument but 2 were given` (the owner of the
/// `__init__`: `TaskWorker`, `BaseModel` …) or `SubGraphWorker() takes 0 positional arguments
/// but 1 was given` (a function).
fn positional_arguments(message: &str) -> Option<&str> {
    let (callee, rest) = message.split_once("() takes ")?;
    let owner = callee.strip_suffix(".__init__").unwrap_or(callee);
    let (_, given) = rest.split_once(" positional argument")?;
    let given = given.trim_start_matches('s');
    let counted = given.strip_prefix(" but ").and_then(|g| {
        g.strip_suffix(" were given")
            .or_else(|| g.strip_suffix(" was given"))
    });
    (counted.is_some_and(|n| n.parse::<u32>().is_ok()) && is_identifier(owner)).then_some(owner)
}

/// IN6–IN8: `1 validation error for <title>` followed by SubGraphWorker's own value error.
fn subgraph_validation(message: &str) -> Option<(Code, &str)> {
    let mut lines = message.lines();
    let title = lines
        .next()?
        .strip_prefix("1 validation error for ")?
        .trim();
    let error = lines.next()?.trim_start().strip_prefix("Value error, ")?;
    let check = if error.starts_with("Graph must have exactly one entry worker, got ") {
        Code::In6
    } else if error.starts_with("Graph must have a defined exit worker") {
        Code::In7
    } else if error.starts_with("Exit worker must have exactly one output type, got ") {
        Code::In8
    } else {
        return None;
    };
    (!title.is_empty()).then_some((check, title))
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn identify(problem: &Problem, diagnostic: Diagnostic) -> Diagnostic {
    match problem_identity(problem) {
        Some(identity) => diagnostic.identified_as(identity),
        None => diagnostic,
    }
}

/// Byte range for a 1-based `line` and 0-based code-point `column`. With an end, the range
/// ends there; without one, it covers the rest of the line's non-whitespace text. Everything
/// is clamped into the text.
pub fn problem_range(
    text: &str,
    line: u32,
    column: u32,
    end_line: Option<u32>,
    end_column: Option<u32>,
) -> TextRange {
    let lines = LineTable::new(text);
    let (line_start, line_text) = lines.line(line);
    let start = line_start + byte_offset_of_column(line_text, column);

    if let (Some(end_line), Some(end_column)) = (end_line, end_column) {
        if end_line >= line.max(1) {
            let (end_line_start, end_line_text) = lines.line(end_line);
            let end = end_line_start + byte_offset_of_column(end_line_text, end_column);
            if end > start {
                return TextRange::new(start, end);
            }
        }
    }

    // No usable end: from the column (skipping indentation) to the last non-whitespace
    // character of the line; if the column is past that, the whole trimmed line.
    let content_start = line_text.len() - line_text.trim_start().len();
    let content_end = line_text.trim_end().len();
    let from = (start - line_start).max(content_start);
    if from < content_end {
        TextRange::new(line_start + from, line_start + content_end)
    } else if content_start < content_end {
        TextRange::new(line_start + content_start, line_start + content_end)
    } else {
        TextRange::empty(start)
    }
}

fn severity(problem: &Problem) -> Severity {
    match problem.severity {
        ProblemSeverity::Warning => Severity::Warning,
        ProblemSeverity::Error | ProblemSeverity::Other => Severity::Error,
    }
}

fn code(problem: &Problem) -> DiagnosticCode {
    DiagnosticCode::Venv(if problem.exception.is_empty() {
        problem.kind.as_str().to_string()
    } else {
        problem.exception.clone()
    })
}

/// The exception message, prefixed with the stage it happened in where that helps the user
/// understand why the line is flagged (a graph error is raised at the constructor line).
fn message(problem: &Problem) -> String {
    let text = if problem.message.trim().is_empty() {
        if problem.exception.is_empty() {
            "Validation failed".to_string()
        } else {
            problem.exception.clone()
        }
    } else {
        problem.message.clone()
    };
    match problem.kind {
        ProblemKind::Import => format!("Import failed: {text}"),
        ProblemKind::ClassDefinition => format!("Class definition failed: {text}"),
        ProblemKind::GraphConstruction => format!("Graph construction failed: {text}"),
        ProblemKind::Execute => format!("Running the module failed: {text}"),
        ProblemKind::Syntax | ProblemKind::Warning | ProblemKind::Tool | ProblemKind::Other => text,
    }
}

/// A diagnostic on the document for a problem raised in `other`: at the helper's `origin`
/// (the deepest frame in the document), else the last traceback frame in the document, else
/// line 1.
fn anchor_in_document(
    problem: &Problem,
    other: &Path,
    document_path: &Path,
    text: &str,
) -> Diagnostic {
    let range = match problem.origin {
        Some(origin) => problem_range(
            text,
            origin.line,
            origin.column,
            origin.end_line,
            origin.end_column,
        ),
        None => {
            let line = last_frame_line_in(&problem.traceback, document_path).unwrap_or(1);
            problem_range(text, line, 0, None, None)
        }
    };
    let shown = other
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| other.display().to_string());
    identify(
        problem,
        Diagnostic::new(
            DiagnosticSource::PlanaiVenv,
            severity(problem),
            code(problem),
            range,
            format!("{} (in {shown}, line {})", message(problem), problem.line),
        ),
    )
}

/// The line of the last `File "<path>", line N` traceback entry for `path`.
fn last_frame_line_in(traceback: &str, path: &Path) -> Option<u32> {
    traceback
        .lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("File \"")?;
            let (file, rest) = rest.split_once("\", line ")?;
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            Some((file, digits.parse::<u32>().ok()?))
        })
        .filter(|(file, _)| is_same_file(file, path))
        .map(|(_, line)| line)
        .fold(None, |_, line| Some(line))
}

/// Problems without a usable path (`<string>`, empty) belong to the validated document.
fn is_same_file(problem_path: &str, document_path: &Path) -> bool {
    if problem_path.is_empty() || problem_path.starts_with('<') {
        return true;
    }
    let problem_path = Path::new(problem_path);
    problem_path == document_path || (problem_path.components().eq(document_path.components()))
}

/// Lines of a text as CPython and ropey (with `cr_lines`) count them: `\r\n`, a lone `\r` and
/// `\n` each end a line.
struct LineTable<'a> {
    text: &'a str,
    /// (byte start, byte end without the line ending) of every line.
    lines: Vec<(usize, usize)>,
}

impl<'a> LineTable<'a> {
    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut lines = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    lines.push((start, i));
                    start = i + 1;
                }
                b'\r' => {
                    lines.push((start, i));
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        lines.push((start, bytes.len()));
        Self { text, lines }
    }

    /// (byte start, text without line ending) of 1-based `line`, clamped to the last line.
    fn line(&self, line: u32) -> (usize, &'a str) {
        let index = (line.max(1) as usize - 1).min(self.lines.len() - 1);
        let (start, end) = self.lines[index];
        (start, &self.text[start..end])
    }
}

/// Byte offset of code-point `column` within `line`, clamped to the line's end.
fn byte_offset_of_column(line: &str, column: u32) -> usize {
    line.char_indices()
        .nth(column as usize)
        .map(|(offset, _)| offset)
        .unwrap_or(line.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::protocol::ProblemCheck;

    fn problem(path: &str, line: u32, column: u32) -> Problem {
        Problem {
            path: path.into(),
            line,
            column,
            severity: ProblemSeverity::Error,
            kind: ProblemKind::GraphConstruction,
            exception: "ValueError".into(),
            message: "boom".into(),
            ..Default::default()
        }
    }

    #[test]
    fn maps_code_point_columns_to_bytes() {
        let text = "x = 1\n    café = Wörker(näme='ü')  \ny = 2\n";
        // Column 11 (code points) is the `W` of `Wörker`; `é` takes two bytes.
        let range = problem_range(text, 2, 11, None, None);
        assert_eq!(&text[range.start()..range.end()], "Wörker(näme='ü')");
        // With an explicit end (column 17 is the `(`).
        let range = problem_range(text, 2, 11, Some(2), Some(17));
        assert_eq!(&text[range.start()..range.end()], "Wörker");
        // Column 0 skips the indentation.
        let range = problem_range(text, 2, 0, None, None);
        assert_eq!(&text[range.start()..range.end()], "café = Wörker(näme='ü')");
    }

    #[test]
    fn clamps_out_of_range_positions() {
        let text = "a = 1\r\nbb = 2";
        let range = problem_range(text, 99, 99, Some(120), Some(3));
        assert_eq!(&text[range.start()..range.end()], "bb = 2");
        let range = problem_range(text, 0, 0, None, None);
        assert_eq!(&text[range.start()..range.end()], "a = 1");
        // The \r is not part of the line.
        let range = problem_range(text, 1, 2, Some(1), Some(50));
        assert_eq!(&text[range.start()..range.end()], "= 1");
        // End before start → fall back to the rest of the line.
        let range = problem_range(text, 1, 4, Some(1), Some(1));
        assert_eq!(&text[range.start()..range.end()], "1");
        assert_eq!(problem_range("", 3, 3, None, None), TextRange::empty(0));
        assert_eq!(
            problem_range("\n\n   \n", 3, 1, None, None),
            TextRange::empty(3)
        );
    }

    #[test]
    fn lone_carriage_returns_end_lines_like_ropey_and_cpython() {
        let text = "a = 1\rbb = 2\r\ncc = 3\n\r\rdd = é\r";
        let range = problem_range(text, 2, 0, None, None);
        assert_eq!(&text[range.start()..range.end()], "bb = 2");
        let range = problem_range(text, 3, 5, Some(3), Some(6));
        assert_eq!(&text[range.start()..range.end()], "3");
        let range = problem_range(text, 6, 5, None, None);
        assert_eq!(&text[range.start()..range.end()], "é");
        // Every line starts where ropey says it does.
        let rope = ropey::Rope::from_str(text);
        let table = LineTable::new(text);
        assert_eq!(table.lines.len(), rope.len_lines());
        for (index, &(start, end)) in table.lines.iter().enumerate() {
            assert_eq!(start, rope.line_to_byte(index), "line {index}");
            let line = rope.line(index).to_string();
            assert_eq!(&text[start..end], line.trim_end_matches(['\r', '\n']));
        }
    }

    #[test]
    fn converts_problems_and_separates_other_files() {
        let doc = Path::new("/ws/flow.py");
        let text = "import helpers\n\ngraph = Graph(name='ä')\n";
        let mut here = problem("/ws/flow.py", 3, 8);
        here.end_line = Some(3);
        here.end_column = Some(13);
        let mut warning = problem("/ws/flow.py", 1, 0);
        warning.severity = ProblemSeverity::Warning;
        warning.kind = ProblemKind::Warning;
        warning.exception = "DeprecationWarning".into();
        warning.message = "old".into();
        let mut elsewhere = problem("/ws/helpers.py", 7, 4);
        elsewhere.kind = ProblemKind::Import;
        elsewhere.traceback = "Traceback (most recent call last):\n  File \"/ws/flow.py\", line 1, in <module>\n    import helpers\n  File \"/ws/helpers.py\", line 7, in <module>\n    raise ValueError('boom')\nValueError: boom\n".into();

        let out = problems_to_diagnostics(&[here, warning, elsewhere.clone()], doc, text);
        assert_eq!(out.document.len(), 3);
        let d = &out.document[0];
        assert_eq!(&text[d.range.start()..d.range.end()], "Graph");
        assert_eq!(d.code.as_str(), "ValueError");
        assert_eq!(d.source, DiagnosticSource::PlanaiVenv);
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(d.message, "Graph construction failed: boom");
        let w = &out.document[1];
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!(w.code.as_str(), "DeprecationWarning");
        assert_eq!(w.message, "old");
        let anchored = &out.document[2];
        assert_eq!(
            &text[anchored.range.start()..anchored.range.end()],
            "import helpers"
        );
        assert_eq!(
            anchored.message,
            "Import failed: boom (in helpers.py, line 7)"
        );
        assert_eq!(
            out.other_files.get(Path::new("/ws/helpers.py")),
            Some(&vec![elsewhere])
        );
    }

    #[test]
    fn a_recognised_check_identifies_the_diagnostic() {
        let text = "g.set_dependency(a, b)\n";
        let mut edge = problem("/ws/flow.py", 1, 0);
        edge.check = Some(ProblemCheck {
            code: "GC7".into(),
            upstream: Some("Enricher".into()),
            downstream: Some("Store".into()),
            ..Default::default()
        });
        let mut field = problem("/ws/flow.py", 1, 0);
        field.check = Some(ProblemCheck {
            code: "CD2".into(),
            class: Some("Excerpter".into()),
            field: Some("max_words".into()),
            ..Default::default()
        });
        let mut class = problem("/ws/other.py", 1, 0);
        class.check = Some(ProblemCheck {
            code: "GC1".into(),
            class: Some("Fetcher".into()),
            ..Default::default()
        });
        let mut name = problem("/ws/flow.py", 1, 0);
        name.check = Some(ProblemCheck {
            code: "IM1".into(),
            name: Some("planai.llm_interface".into()),
            ..Default::default()
        });
        let out =
            problems_to_diagnostics(&[edge, field, class, name], Path::new("/ws/flow.py"), text);
        let identities: Vec<Option<Identity>> =
            out.document.iter().map(|d| d.identity.clone()).collect();
        assert_eq!(
            identities,
            vec![
                Some(Identity {
                    check: Code::Gc7,
                    subject: Subject::edge("Enricher", "Store")
                }),
                Some(Identity {
                    check: Code::Cd2,
                    subject: Subject::field("Excerpter", "max_words")
                }),
                // Anchored in the document for a problem raised in another file.
                Some(Identity {
                    check: Code::Gc1,
                    subject: Subject::class("Fetcher")
                }),
                Some(Identity {
                    check: Code::Im1,
                    subject: Subject::name("planai.llm_interface")
                }),
            ]
        );
        // Still shown under the exception's name.
        assert_eq!(out.document[0].code.as_str(), "ValueError");
    }

    #[test]
    fn an_unknown_code_or_an_incomplete_subject_identifies_nothing() {
        let mut unknown = problem("/a.py", 1, 0);
        unknown.check = Some(ProblemCheck {
            code: "GC99".into(),
            class: Some("A".into()),
            ..Default::default()
        });
        let mut no_subject = problem("/a.py", 1, 0);
        no_subject.check = Some(ProblemCheck {
            code: "GC7".into(),
            upstream: Some("A".into()),
            ..Default::default()
        });
        let plain = problem("/a.py", 1, 0);
        for p in [unknown, no_subject, plain] {
            assert_eq!(problem_identity(&p), None, "{p:?}");
            assert_eq!(problem_to_diagnostic(&p, "x\n").identity, None);
        }
    }

    /// Messages as planai 0.7.1 in the test venv (CPython 3.11, pydantic 2) raises them, and
    /// CPython 3.12's wording of the abstract-class error.
    #[test]
    fn checks_without_a_planai_frame_are_identified_by_their_message() {
        let identity = |exception: &str, message: &str| {
            let mut p = problem("/a.py", 1, 0);
            p.exception = exception.into();
            p.message = message.into();
            problem_identity(&p).map(|i| (i.check, i.subject))
        };
        let class = |code: Code, name: &str| Some((code, Subject::class(name)));
        for message in [
            "Can't instantiate abstract class InvoiceBuilder with abstract method consume_work",
            "Can't instantiate abstract class InvoiceBuilder without an implementation for abstract method 'consume_work'",
            "Can't instantiate abstract class InvoiceBuilder with abstract methods consume_work, describe",
        ] {
            assert_eq!(identity("TypeError", message), class(Code::In1, "InvoiceBuilder"), "{message}");
        }
        assert_eq!(
            identity(
                "TypeError",
                "Can't instantiate abstract class J with abstract method consume_work_joined"
            ),
            class(Code::In1, "J")
        );
        for (message, owner) in [
            (
                "Graph.__init__() takes 1 positional argument but 2 were given",
                "Graph",
            ),
            (
                "TaskWorker.__init__() takes 1 positional argument but 2 were given",
                "TaskWorker",
            ),
            (
                "LLMTaskWorker.__init__() takes 1 positional argument but 2 were given",
                "LLMTaskWorker",
            ),
            (
                "BaseModel.__init__() takes 1 positional argument but 2 were given",
                "BaseModel",
            ),
            (
                "SubGraphWorker() takes 0 positional arguments but 2 were given",
                "SubGraphWorker",
            ),
            (
                "SubGraphWorker() takes 0 positional arguments but 1 was given",
                "SubGraphWorker",
            ),
        ] {
            assert_eq!(
                identity("TypeError", message),
                class(Code::In4, owner),
                "{message}"
            );
        }
        let in6 = "1 validation error for SubGraphWorker\n  Value error, Graph must have exactly one entry worker, got [Searcher(output_types=[<class '__main__.Q'>], num_retries=0), Ranker(output_types=[<class '__main__.Hit'>], num_retries=0)] [type=value_error, input_value={'graph': Graph: s with 3...ne, 'exit_worker': None}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.14/v/value_error";
        assert_eq!(
            identity("ValidationError", in6),
            class(Code::In6, "SubGraphWorker")
        );
        let in7 = "1 validation error for Search\n  Value error, Graph must have a defined exit worker [type=value_error, input_value={'graph': Graph: s with 2...ne, 'exit_worker': None}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.14/v/value_error";
        assert_eq!(identity("ValidationError", in7), class(Code::In7, "Search"));
        let in8 = "1 validation error for Search\n  Value error, Exit worker must have exactly one output type, got [<class '__main__.Hit'>, <class '__main__.Miss'>] [type=value_error, input_value={'graph': Graph: s with 2...ne, 'exit_worker': None}, input_type=dict]\n    For further information visit https://errors.pydantic.dev/2.14/v/value_error";
        assert_eq!(identity("ValidationError", in8), class(Code::In8, "Search"));

        // Other messages of the same exceptions are not these checks.
        for (exception, message) in [
            ("TypeError", "Can't instantiate abstract class Base with abstract method describe"),
            ("TypeError", "build() missing 1 required positional argument: 'llm'"),
            ("TypeError", "unsupported operand type(s) for +: 'int' and 'str'"),
            ("ValueError", "Graph.__init__() takes 1 positional argument but 2 were given"),
            ("ValidationError", "1 validation error for Reading\nsensor\n  Input should be a valid string [type=string_type, input_value=7, input_type=int]"),
            ("ValidationError", "1 validation error for Search\n  Value error, something else"),
        ] {
            assert_eq!(identity(exception, message), None, "{message}");
        }
    }

    #[test]
    fn string_paths_belong_to_the_document() {
        let out = problems_to_diagnostics(&[problem("<string>", 1, 0)], Path::new("/a.py"), "x\n");
        assert_eq!(out.document.len(), 1);
        assert!(out.other_files.is_empty());
    }

    #[test]
    fn origin_anchors_other_file_problems() {
        let text = "x = 1\nfrom pkg import mod  # ü\n";
        let mut p = problem("/ws/pkg/mod.py", 3, 0);
        p.origin = Some(crate::python::protocol::ProblemOrigin {
            line: 2,
            column: 0,
            end_line: Some(2),
            end_column: Some(19),
        });
        let out = problems_to_diagnostics(&[p], Path::new("/ws/flow.py"), text);
        let d = &out.document[0];
        assert_eq!(&text[d.range.start()..d.range.end()], "from pkg import mod");
        assert_eq!(out.other_files.len(), 1);
    }
}
