//! Typed messages of the warm-helper JSON-lines protocol (v1).
//!
//! `docs/helper-protocol.md` is the contract; every struct here mirrors one object described
//! there. Deserialisation is deliberately lenient (`#[serde(default)]` on optional parts, an
//! `Other` fallback on enums) so that a helper that adds a field or a kind does not break an
//! older server: unknown data must degrade, never fail a whole validation.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The protocol version this client speaks; the helper announces its own in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// A request the helper understands: ties the method name to its params and result types, so
/// calls are typed: `helper.request::<Validate>(params, timeout)`.
pub trait HelperRequest {
    const METHOD: &'static str;
    /// Whether the helper forks a child to answer it (everything but `ping` and `shutdown`):
    /// such requests count against the cap on concurrently running children.
    const FORKS_CHILD: bool = true;
    type Params: Serialize + Send + Sync;
    type Result: DeserializeOwned + Send;
}

// ---------------------------------------------------------------------------------------------
// Events

/// First line the helper writes, before importing planai.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HelloEvent {
    pub protocol: u32,
    /// `platform.python_version()` of the helper's interpreter, e.g. "3.11.7".
    pub python: String,
    pub executable: String,
    pub pid: u32,
}

/// Written once the helper has tried to import planai.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadyEvent {
    #[serde(default)]
    pub planai: Option<String>,
    #[serde(default)]
    pub pydantic: Option<String>,
    #[serde(default)]
    pub llm_interface: Option<String>,
    /// Set when `import planai` failed, e.g. "ModuleNotFoundError: No module named 'planai'".
    #[serde(default)]
    pub import_error: Option<String>,
    #[serde(default)]
    pub import_seconds: f64,
    /// Whether the helper forks per request (false where `os.fork` is unavailable).
    #[serde(default)]
    pub fork: bool,
}

impl ReadyEvent {
    /// planai imported successfully (the helper can serve planai-dependent requests).
    pub fn planai_available(&self) -> bool {
        self.planai.is_some() && self.import_error.is_none()
    }
}

/// One line read from the helper's stdout.
#[derive(Clone, Debug, PartialEq)]
pub enum IncomingMessage {
    Hello(HelloEvent),
    Ready(ReadyEvent),
    /// An event this client does not know; logged and ignored.
    UnknownEvent(String),
    Response {
        id: u64,
        outcome: Result<serde_json::Value, HelperError>,
    },
}

impl IncomingMessage {
    /// Parses one protocol line. Errors describe what was wrong, for the log.
    pub fn parse(line: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
        let object = value
            .as_object()
            .ok_or_else(|| "not a JSON object".to_string())?;
        if let Some(event) = object.get("event").and_then(|e| e.as_str()) {
            let parse_err = |e: serde_json::Error| format!("malformed {event} event: {e}");
            return match event {
                "hello" => serde_json::from_value(value.clone())
                    .map(IncomingMessage::Hello)
                    .map_err(parse_err),
                "ready" => serde_json::from_value(value.clone())
                    .map(IncomingMessage::Ready)
                    .map_err(parse_err),
                other => Ok(IncomingMessage::UnknownEvent(other.to_string())),
            };
        }
        let id = object
            .get("id")
            .and_then(|id| id.as_u64())
            .ok_or_else(|| "neither an event nor a response with a numeric id".to_string())?;
        if let Some(error) = object.get("error") {
            let error: HelperError = serde_json::from_value(error.clone())
                .map_err(|e| format!("malformed error of response {id}: {e}"))?;
            return Ok(IncomingMessage::Response {
                id,
                outcome: Err(error),
            });
        }
        let result = object.get("result").cloned().unwrap_or_default();
        Ok(IncomingMessage::Response {
            id,
            outcome: Ok(result),
        })
    }
}

/// The envelope of a request line.
#[derive(Debug, Serialize)]
pub struct RequestEnvelope<'a, P: Serialize> {
    pub id: u64,
    pub method: &'a str,
    pub params: &'a P,
}

/// `{"method": "cancel", "params": {"id": N}}`: a notification (no id of its own) that kills
/// request N's process tree; the helper answers request N with kind `cancelled`.
/// Reads `null` as the type's default: the helper sends `null` for "not known".
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

pub fn cancel_line(id: u64) -> Vec<u8> {
    let mut line = serde_json::json!({"method": "cancel", "params": {"id": id}})
        .to_string()
        .into_bytes();
    line.push(b'\n');
    line
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a request failed. The first six kinds come from the helper; the rest are raised by this
/// client when the helper could not answer at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HelperErrorKind {
    /// The helper rejected the params.
    BadRequest,
    /// planai is not importable in the helper's interpreter.
    PlanaiMissing,
    /// The forked child exceeded `timeout_ms` and was killed; the helper itself is fine.
    Timeout,
    /// The child died without a result, or the helper process itself exited.
    Crashed,
    /// An unexpected exception inside the helper (also provider errors of `list_models`).
    Internal,
    /// The request was cancelled (`cancel`) and its child's process tree killed.
    Cancelled,
    /// Client side: the workspace is untrusted, so no interpreter is launched.
    Untrusted,
    /// Client side: the helper could not be started (interpreter missing, spawn failure,
    /// waiting out a restart backoff) or has been shut down.
    Unavailable,
    /// Client side: the helper did not answer within the client timeout; it is restarted.
    Unresponsive,
    /// Client side: the helper answered something that does not match the protocol.
    Protocol,
    /// A kind introduced by a newer helper.
    #[serde(other)]
    Other,
}

impl HelperErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HelperErrorKind::BadRequest => "bad_request",
            HelperErrorKind::PlanaiMissing => "planai_missing",
            HelperErrorKind::Timeout => "timeout",
            HelperErrorKind::Crashed => "crashed",
            HelperErrorKind::Internal => "internal",
            HelperErrorKind::Cancelled => "cancelled",
            HelperErrorKind::Untrusted => "untrusted",
            HelperErrorKind::Unavailable => "unavailable",
            HelperErrorKind::Unresponsive => "unresponsive",
            HelperErrorKind::Protocol => "protocol",
            HelperErrorKind::Other => "other",
        }
    }
}

/// `{"kind": "...", "message": "..."}`, as sent by the helper or made up by the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelperError {
    pub kind: HelperErrorKind,
    #[serde(default)]
    pub message: String,
    /// `timeout`/`crashed`: what the child printed before it was killed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    /// `internal`: the helper's own traceback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
}

impl HelperError {
    pub fn new(kind: HelperErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            stdout: None,
            stderr: None,
            traceback: None,
        }
    }
}

impl fmt::Display for HelperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for HelperError {}

// ---------------------------------------------------------------------------------------------
// Shared result parts

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemSeverity {
    #[default]
    Error,
    Warning,
    #[serde(other)]
    Other,
}

/// At which stage running the module failed: compiling it, executing its body, in a logged
/// record or a warning (how errors reach us; see docs/helper-protocol.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Syntax,
    Import,
    ClassDefinition,
    GraphConstruction,
    #[default]
    Execute,
    Warning,
    /// `validate_tool`: bare `@tool`, function not found, `create_tool` failing.
    Tool,
    #[serde(other)]
    Other,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Syntax => "syntax",
            ProblemKind::Import => "import",
            ProblemKind::ClassDefinition => "class_definition",
            ProblemKind::GraphConstruction => "graph_construction",
            ProblemKind::Execute => "execute",
            ProblemKind::Warning => "warning",
            ProblemKind::Tool => "tool",
            ProblemKind::Other => "other",
        }
    }
}

/// An exception, warning or error log record from running user code, located in a file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Absolute path of the file the problem is in (may differ from the validated file).
    /// Empty when the helper knows no file (a module imported by name that does not exist is
    /// sent with `"path": null`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub path: String,
    /// 1-based line.
    #[serde(default)]
    pub line: u32,
    /// 0-based column in code points.
    #[serde(default)]
    pub column: u32,
    #[serde(default)]
    pub end_line: Option<u32>,
    #[serde(default)]
    pub end_column: Option<u32>,
    #[serde(default)]
    pub severity: ProblemSeverity,
    #[serde(default)]
    pub kind: ProblemKind,
    /// Exception type name ("ValueError") or warning category ("UserWarning").
    #[serde(default, deserialize_with = "null_as_default")]
    pub exception: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub traceback: String,
    /// When `path` is another file: the deepest frame in the validated file (e.g. the `import`
    /// line that led there).
    #[serde(default)]
    pub origin: Option<ProblemOrigin>,
    /// The PlanAI check the helper recognised the exception as, from its type and the frame
    /// that raised it; absent when it could not tell.
    #[serde(default)]
    pub check: Option<ProblemCheck>,
}

/// A recognised PlanAI check (`"GC7"`, `"CD2"`, ...) and its subject, by class names: a worker
/// or task `class` (with a `field` for CD1–CD5), an `upstream` → `downstream` dependency, or
/// the dotted `name` planai lacks (IM1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemCheck {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downstream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A position in the validated file (same conventions as [`Problem`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemOrigin {
    pub line: u32,
    #[serde(default)]
    pub column: u32,
    #[serde(default)]
    pub end_line: Option<u32>,
    #[serde(default)]
    pub end_column: Option<u32>,
}

// ---------------------------------------------------------------------------------------------
// ping / shutdown

#[derive(Clone, Debug, Default, Serialize)]
pub struct PingParams {}

#[derive(Clone, Debug, Deserialize)]
pub struct PingResult {
    #[serde(default)]
    pub pong: bool,
}

pub enum Ping {}
impl HelperRequest for Ping {
    const METHOD: &'static str = "ping";
    const FORKS_CHILD: bool = false;
    type Params = PingParams;
    type Result = PingResult;
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ShutdownParams {}

#[derive(Clone, Debug, Deserialize)]
pub struct ShutdownResult {
    #[serde(default)]
    pub ok: bool,
}

pub enum Shutdown {}
impl HelperRequest for Shutdown {
    const METHOD: &'static str = "shutdown";
    const FORKS_CHILD: bool = false;
    type Params = ShutdownParams;
    type Result = ShutdownResult;
}

// ---------------------------------------------------------------------------------------------
// validate

#[derive(Clone, Debug, Default, Serialize)]
pub struct ValidateParams {
    /// Absolute path of the document (used as the code's filename and for sys.path).
    pub path: String,
    /// The editor buffer, not the file on disk.
    pub source: String,
    /// Workspace roots (their `src/` is added to sys.path too).
    pub roots: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_name: Option<String>,
    /// Run as `__main__` so `main()` builds the graph (helper default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_main: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidateResult {
    #[serde(default)]
    pub problems: Vec<Problem>,
    /// The graph the module built, captured at `Graph.run`; `None` if none was built.
    #[serde(default)]
    pub graph: Option<GraphCapture>,
    /// What user code printed (captured, never on the protocol stream).
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    /// Root log records at WARNING and above (worker-thread failures show up here).
    #[serde(default)]
    pub logs: Vec<LogRecord>,
    /// The code of a `SystemExit` raised by the module (not a problem), if any.
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub seconds: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub logger: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub exception: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphCapture {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub workers: Vec<GraphWorker>,
    /// `[upstream, downstream]` worker names.
    #[serde(default)]
    pub edges: Vec<(String, String)>,
    /// Workers that received the initial tasks.
    #[serde(default)]
    pub entries: Vec<String>,
    /// `[worker, output type]` pairs that end in a sink.
    #[serde(default)]
    pub sinks: Vec<(String, String)>,
    /// `[worker, task type]` of the initial tasks.
    #[serde(default)]
    pub initial_tasks: Vec<(String, String)>,
    /// True when captured at `run`/`prepare`/`execute`; false when no run happened and this is
    /// the last `Graph` constructed.
    #[serde(default)]
    pub ran: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphWorker {
    pub name: String,
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub module: String,
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default)]
    pub path: Option<String>,
    /// Class names (None if planai raised computing them).
    #[serde(default)]
    pub input_types: Option<Vec<String>>,
    #[serde(default)]
    pub output_types: Option<Vec<String>>,
}

pub enum Validate {}
impl HelperRequest for Validate {
    const METHOD: &'static str = "validate";
    type Params = ValidateParams;
    type Result = ValidateResult;
}

// ---------------------------------------------------------------------------------------------
// introspect_tasks

/// Either `module` (dotted name) or `path` + `source`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IntrospectParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The module name to execute `source` under (so `module` of the tasks is right).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_name: Option<String>,
    pub roots: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntrospectResult {
    #[serde(default)]
    pub tasks: Vec<TaskInfo>,
    /// Errors loading the module (`tasks` is then empty).
    #[serde(default)]
    pub problems: Vec<Problem>,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
}

/// A planai `Task` subclass and its pydantic fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub name: String,
    #[serde(default)]
    pub module: String,
    #[serde(default)]
    pub qualname: String,
    #[serde(default)]
    pub doc: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default)]
    pub fields: Vec<FieldInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldInfo {
    pub name: String,
    /// The annotation as Python renders it, e.g. "str" or "List[int]".
    #[serde(default)]
    pub annotation: String,
    #[serde(default)]
    pub required: bool,
    /// `repr()` of the default, if there is one.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

pub enum IntrospectTasks {}
impl HelperRequest for IntrospectTasks {
    const METHOD: &'static str = "introspect_tasks";
    type Params = IntrospectParams;
    type Result = IntrospectResult;
}

// ---------------------------------------------------------------------------------------------
// validate_tool

#[derive(Clone, Debug, Default, Serialize)]
pub struct ValidateToolParams {
    pub path: String,
    pub source: String,
    /// Name of the `@tool()`-decorated (or plain) function.
    pub function: String,
    pub roots: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidateToolResult {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// JSON schema of the tool's parameters.
    #[serde(default)]
    pub parameters: Option<serde_json::Value>,
    /// llm_interface's warnings about the tool (missing or generic description).
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub problems: Vec<Problem>,
    /// 1-based line of the `def`.
    #[serde(default)]
    pub line: Option<u32>,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
}

pub enum ValidateTool {}
impl HelperRequest for ValidateTool {
    const METHOD: &'static str = "validate_tool";
    type Params = ValidateToolParams;
    type Result = ValidateToolResult;
}

// ---------------------------------------------------------------------------------------------
// validate_task_data

/// Validates `data` against Task class `class_name`, found in `module` or in `path` + `source`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ValidateTaskDataParams {
    pub class_name: String,
    pub data: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub roots: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidateTaskDataResult {
    #[serde(default)]
    pub ok: bool,
    /// pydantic errors, or one of type "module_error", "class_not_found", "not_a_model",
    /// "exception".
    #[serde(default)]
    pub errors: Vec<TaskDataError>,
    /// Errors loading the module (with a "module_error" entry in `errors`).
    #[serde(default)]
    pub problems: Vec<Problem>,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
}

/// One pydantic validation error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskDataError {
    /// Location in the data: field names and list indices, e.g. `["field", 0, "x"]`.
    #[serde(default)]
    pub loc: Vec<serde_json::Value>,
    #[serde(default)]
    pub message: String,
    /// pydantic's error type, e.g. "missing".
    #[serde(default, rename = "type")]
    pub error_type: String,
}

pub enum ValidateTaskData {}
impl HelperRequest for ValidateTaskData {
    const METHOD: &'static str = "validate_task_data";
    type Params = ValidateTaskDataParams;
    type Result = ValidateTaskDataResult;
}

// ---------------------------------------------------------------------------------------------
// list_models

#[derive(Clone, Debug, Default, Serialize)]
pub struct ListModelsParams {
    /// llm_interface provider name, e.g. "openai" or "ollama".
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListModelsResult {
    #[serde(default)]
    pub models: Vec<String>,
}

pub enum ListModels {}
impl HelperRequest for ListModels {
    const METHOD: &'static str = "list_models";
    type Params = ListModelsParams;
    type Result = ListModelsResult;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `planai.introspectTasks` of a module that cannot be imported used to fail with
    /// "invalid type: null, expected a string" instead of showing the ModuleNotFoundError.
    #[test]
    fn a_problem_without_a_file_is_read() {
        let result: IntrospectResult = serde_json::from_str(
            r#"{"tasks": [], "problems": [{"path": null, "line": 1, "column": 0, "end_line": null, "end_column": null, "severity": "error", "kind": "exception", "exception": "ModuleNotFoundError", "message": "No module named 'nowhere'", "traceback": ""}]}"#,
        )
        .unwrap();
        assert_eq!(result.problems[0].path, "");
        assert_eq!(result.problems[0].exception, "ModuleNotFoundError");
    }

    #[test]
    fn parses_events_and_responses() {
        let hello = IncomingMessage::parse(
            r#"{"event":"hello","protocol":1,"python":"3.11.7","executable":"/v/bin/python","pid":7}"#,
        )
        .unwrap();
        assert!(matches!(hello, IncomingMessage::Hello(h) if h.pid == 7));

        let ready = IncomingMessage::parse(
            r#"{"event":"ready","planai":null,"pydantic":null,"llm_interface":null,"import_error":"ModuleNotFoundError: No module named 'planai'","import_seconds":0.1,"fork":true}"#,
        )
        .unwrap();
        match ready {
            IncomingMessage::Ready(r) => assert!(!r.planai_available()),
            other => panic!("{other:?}"),
        }

        let error = IncomingMessage::parse(
            r#"{"id":3,"error":{"kind":"planai_missing","message":"no planai"}}"#,
        )
        .unwrap();
        assert_eq!(
            error,
            IncomingMessage::Response {
                id: 3,
                outcome: Err(HelperError::new(
                    HelperErrorKind::PlanaiMissing,
                    "no planai"
                ))
            }
        );

        let unknown_kind =
            IncomingMessage::parse(r#"{"id":4,"error":{"kind":"brand_new","message":"x"}}"#)
                .unwrap();
        assert!(matches!(
            unknown_kind,
            IncomingMessage::Response {
                outcome: Err(HelperError {
                    kind: HelperErrorKind::Other,
                    ..
                }),
                ..
            }
        ));

        assert!(IncomingMessage::parse("hello world").is_err());
        assert!(IncomingMessage::parse(r#"{"foo":1}"#).is_err());
    }

    #[test]
    fn validate_result_is_lenient() {
        let result: ValidateResult = serde_json::from_str(
            r#"{"problems":[{"path":"/a.py","line":3,"column":4,"severity":"error","kind":"graph_construction","exception":"ValueError","message":"m","traceback":"t","end_line":null,"end_column":null,"extra":1}],
                "graph":{"workers":[{"name":"A","class":"A","module":"m","line":12}],"edges":[["A","B"]],"entries":["A"]},
                "stdout":"","seconds":0.01}"#,
        )
        .unwrap();
        assert_eq!(result.problems[0].kind, ProblemKind::GraphConstruction);
        let graph = result.graph.unwrap();
        assert_eq!(graph.edges, vec![("A".to_string(), "B".to_string())]);
    }

    #[test]
    fn params_omit_unset_options() {
        let params = ValidateParams {
            path: "/a.py".into(),
            source: "x = 1\n".into(),
            roots: vec!["/".into()],
            ..Default::default()
        };
        let line = serde_json::to_string(&RequestEnvelope {
            id: 1,
            method: Validate::METHOD,
            params: &params,
        })
        .unwrap();
        assert_eq!(
            line,
            r#"{"id":1,"method":"validate","params":{"path":"/a.py","source":"x = 1\n","roots":["/"]}}"#
        );
    }
}
