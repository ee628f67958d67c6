//! Syntax-error accuracy against CPython (`cargo bench --bench syntax_accuracy`).
//!
//! Takes valid Python files (by default the installed `planai` package, else 40 files of the
//! standard library), mutates them the way people mistype — one mistake per case, chosen with
//! a fixed seed — and compares the *first* syntax error we report with CPython's (one
//! long-lived `python` process compiling each case, read as JSON lines). Mutations CPython
//! accepts are skipped. When `ruff` is found, the same cases are checked with
//! `ruff check --output-format json` and its first syntax error's line is compared too.
//!
//! Prints, per kind of mistake: the number of cases, how often our first error is on
//! CPython's line, how often it also has CPython's exact message, and ruff's line agreement.
//!
//! Environment:
//! - `SYNTAX_ACCURACY_PYTHON`: the oracle interpreter (default `python3`); CPython 3.11 is what
//!   our messages follow.
//! - `SYNTAX_ACCURACY_DIR`: a directory of Python files to mutate instead of the default.
//! - `SYNTAX_ACCURACY_SEED` (default 10), `SYNTAX_ACCURACY_PER_FILE` (sites per kind per
//!   file, default 3).
//! - `RUFF`: the ruff executable (default: `ruff` on `PATH`; `RUFF=none` skips it).
//! - `SYNTAX_ACCURACY_SHOW`: print the cases where we miss CPython's line (`line`) or its
//!   line or wording (`all`), optionally only for one kind (`line:colon`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use planai_lsp::syntax::{parse, syntax_diagnostics};
use planai_lsp::testing::Random;
use tree_sitter::Node;

/// Lists the corpus (first output line, JSON), then compiles each JSON-line source it reads.
const ORACLE: &str = r#"
import importlib.util, json, os, sys, sysconfig, warnings
warnings.simplefilter("ignore")
root = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None
limit = 10**9
if root is None:
    spec = importlib.util.find_spec("planai")
    if spec and spec.submodule_search_locations:
        root = list(spec.submodule_search_locations)[0]
    else:
        root, limit = sysconfig.get_paths()["stdlib"], 40
files = []
for d, dirs, names in os.walk(root):
    dirs[:] = sorted(x for x in dirs if x not in ("__pycache__", "site-packages", "test", "tests"))
    for n in sorted(names):
        p = os.path.join(d, n)
        if not n.endswith(".py") or len(files) >= limit:
            continue
        try:
            src = open(p, "rb").read()
            src.decode("utf-8")
            compile(src, p, "exec", dont_inherit=True)
        except Exception:
            continue
        files.append(p)
print(json.dumps({"root": root, "files": files}), flush=True)
for line in sys.stdin:
    src = json.loads(line)
    try:
        compile(src.encode("utf-8"), "<case>", "exec", dont_inherit=True)
        out = None
    except SyntaxError as e:
        out = [e.msg, e.lineno or 0]
    except ValueError as e:
        out = [str(e), 0]
    print(json.dumps(out), flush=True)
"#;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Colon,
    Keyword,
    Unclosed,
    ExtraParen,
    Indent,
    Equals,
    String,
    TripleString,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Colon => "missing `:` after a header",
            Kind::Keyword => "keyword typo (`dfe f():`)",
            Kind::Unclosed => "unclosed bracket",
            Kind::ExtraParen => "extra `)`",
            Kind::Indent => "extra indent",
            Kind::Equals => "missing `=`",
            Kind::String => "unterminated string",
            Kind::TripleString => "unterminated triple-quoted string",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Kind::Colon => "colon",
            Kind::Keyword => "keyword",
            Kind::Unclosed => "unclosed",
            Kind::ExtraParen => "paren",
            Kind::Indent => "indent",
            Kind::Equals => "equals",
            Kind::String => "string",
            Kind::TripleString => "triple",
        }
    }
}

/// One mutation site: replace `start..end` of the file with `insert`.
#[derive(Clone)]
struct Site {
    kind: Kind,
    /// The header kind for missing colons (`def`, `method`, `class`, `if`, ...).
    sub: &'static str,
    start: usize,
    end: usize,
    insert: String,
}

struct Case {
    file: usize,
    kind: Kind,
    sub: &'static str,
    text: String,
    /// 1-based line of the mutation.
    line: usize,
}

struct Oracle {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Oracle {
    fn start(python: &str, dir: &str) -> (Oracle, PathBuf, Vec<PathBuf>) {
        let mut child = Command::new(python)
            .args(["-c", ORACLE, dir])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("corpus listing");
        let listing: serde_json::Value = serde_json::from_str(&first).expect("corpus json");
        let root = PathBuf::from(listing["root"].as_str().unwrap_or_default());
        let files = listing["files"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(PathBuf::from))
                    .collect()
            })
            .unwrap_or_default();
        (
            Oracle {
                child,
                stdin,
                stdout,
            },
            root,
            files,
        )
    }

    /// CPython's first error for `src`: (message, line), or `None` when it compiles.
    fn check(&mut self, src: &str) -> Option<(String, usize)> {
        let line = serde_json::to_string(src).expect("json");
        writeln!(self.stdin, "{line}").expect("write to python");
        let mut answer = String::new();
        self.stdout
            .read_line(&mut answer)
            .expect("read from python");
        let v: Option<(String, usize)> = serde_json::from_str(&answer).expect("python answer");
        v
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const KEYWORDS: &[&str] = &[
    "def", "class", "if", "elif", "else", "for", "while", "with", "try", "except", "finally",
    "return", "import", "from", "raise", "async", "await", "pass", "assert", "yield", "lambda",
    "del", "global", "not", "and", "or", "in", "is",
];

fn header_sub(node: Node<'_>) -> Option<&'static str> {
    Some(match node.kind() {
        "function_definition" => {
            let mut p = node.parent();
            if p.is_some_and(|p| p.kind() == "decorated_definition") {
                p = p.and_then(|p| p.parent());
            }
            let in_class = p.is_some_and(|b| {
                b.kind() == "block" && b.parent().is_some_and(|c| c.kind() == "class_definition")
            });
            if in_class {
                "method"
            } else {
                "def"
            }
        }
        "class_definition" => "class",
        "if_statement" => "if",
        "elif_clause" => "elif",
        "else_clause" => "else",
        "for_statement" => "for",
        "while_statement" => "while",
        "with_statement" => "with",
        "try_statement" => "try",
        "except_clause" => "except",
        "finally_clause" => "finally",
        _ => return None,
    })
}

/// Every mutation site of `text` (parsed without errors as `root`).
fn sites(text: &str, root: Node<'_>) -> Vec<Site> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut cursor = root.walk();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        let kind = node.kind();
        if let Some(sub) = header_sub(node) {
            // The `:` that ends the header: the first direct `:` child.
            let mut c = node.walk();
            let colon = node.children(&mut c).find(|ch| ch.kind() == ":");
            if let Some(colon) = colon {
                out.push(Site {
                    kind: Kind::Colon,
                    sub,
                    start: colon.start_byte(),
                    end: colon.end_byte(),
                    insert: String::new(),
                });
            }
        }
        match kind {
            ")" | "]" | "}" if !node.is_named() => {
                out.push(Site {
                    kind: Kind::Unclosed,
                    sub: "",
                    start: node.start_byte(),
                    end: node.end_byte(),
                    insert: String::new(),
                });
                if kind == ")" {
                    out.push(Site {
                        kind: Kind::ExtraParen,
                        sub: "",
                        start: node.end_byte(),
                        end: node.end_byte(),
                        insert: ")".into(),
                    });
                }
            }
            "assignment" => {
                let mut c = node.walk();
                let eq = node.children(&mut c).find(|ch| ch.kind() == "=");
                if let Some(eq) = eq {
                    out.push(Site {
                        kind: Kind::Equals,
                        sub: "",
                        start: eq.start_byte(),
                        end: eq.end_byte(),
                        insert: String::new(),
                    });
                }
            }
            "string" => {
                let count = node.child_count();
                if let (Some(open), Some(close)) =
                    (node.child(0), node.child((count.max(1) - 1) as u32))
                {
                    let delim = &text[open.start_byte()..open.end_byte()];
                    let triple = delim.ends_with("\"\"\"") || delim.ends_with("'''");
                    if close.kind() == "string_end" && close.end_byte() > close.start_byte() {
                        let one_line = node.start_position().row == node.end_position().row;
                        if triple || one_line {
                            out.push(Site {
                                kind: if triple {
                                    Kind::TripleString
                                } else {
                                    Kind::String
                                },
                                sub: "",
                                start: close.start_byte(),
                                end: close.end_byte(),
                                insert: String::new(),
                            });
                        }
                    }
                }
            }
            _ => {}
        }
        // Statements starting a line: extra indent, keyword typos.
        if node.is_named() && is_statement(kind) {
            let start = node.start_byte();
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            if b[line_start..start].iter().all(|&c| c == b' ') {
                if is_simple_statement(kind) {
                    out.push(Site {
                        kind: Kind::Indent,
                        sub: "",
                        start: line_start,
                        end: line_start,
                        insert: "    ".into(),
                    });
                }
                let word_end = start
                    + text[start..]
                        .find(|c: char| !c.is_ascii_alphabetic())
                        .unwrap_or(text.len() - start);
                let word = &text[start..word_end];
                if KEYWORDS.contains(&word) && word.len() >= 2 {
                    out.push(Site {
                        kind: Kind::Keyword,
                        sub: "",
                        start,
                        end: word_end,
                        insert: word.to_string(), // the typo is chosen later
                    });
                }
            }
        }
        stack.extend(node.children(&mut cursor));
    }
    out.sort_by_key(|s| (s.kind, s.start));
    out
}

fn is_statement(kind: &str) -> bool {
    is_simple_statement(kind)
        || matches!(
            kind,
            "function_definition"
                | "class_definition"
                | "if_statement"
                | "for_statement"
                | "while_statement"
                | "with_statement"
                | "try_statement"
                | "decorated_definition"
                | "elif_clause"
                | "else_clause"
                | "except_clause"
                | "finally_clause"
        )
}

fn is_simple_statement(kind: &str) -> bool {
    matches!(
        kind,
        "expression_statement"
            | "return_statement"
            | "import_statement"
            | "import_from_statement"
            | "raise_statement"
            | "pass_statement"
            | "assert_statement"
            | "delete_statement"
            | "global_statement"
            | "nonlocal_statement"
            | "break_statement"
            | "continue_statement"
    )
}

/// A typo of `word`: two adjacent letters swapped (`def` → `dfe`), one dropped or one doubled.
fn typo(word: &str, rng: &mut Random) -> String {
    let chars: Vec<char> = word.chars().collect();
    let n = chars.len();
    let mut out = chars.clone();
    match rng.below(3) {
        0 => {
            let i = rng.below(n - 1);
            out.swap(i, i + 1);
            if out == chars {
                out.remove(i);
            }
        }
        1 => {
            out.remove(rng.below(n));
        }
        _ => {
            let i = rng.below(n);
            out.insert(i, chars[i]);
        }
    }
    out.into_iter().collect()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn find_ruff() -> Option<PathBuf> {
    match env("RUFF").as_deref() {
        Some("none") => return None,
        Some(p) => return Some(PathBuf::from(p)),
        None => {}
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("ruff"))
        .find(|p| p.is_file())
}

/// Ruff's first syntax error line per case file name (`case_<n>.py`).
fn ruff_lines(ruff: &Path, cases: &[(usize, &str)]) -> Option<BTreeMap<usize, usize>> {
    let dir = tempfile::tempdir().ok()?;
    for (i, text) in cases {
        std::fs::write(dir.path().join(format!("case_{i}.py")), text).ok()?;
    }
    let out = Command::new(ruff)
        .args([
            "check",
            "--isolated",
            "--no-cache",
            "--exit-zero",
            "--output-format",
            "json",
        ])
        .arg(dir.path())
        .output()
        .ok()?;
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let mut first: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for d in all.as_array()? {
        let syntax = d["code"].is_null()
            || d["code"] == "E999"
            || d["code"] == "invalid-syntax"
            || d["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("SyntaxError"));
        if !syntax {
            continue;
        }
        let name = Path::new(d["filename"].as_str()?)
            .file_stem()?
            .to_str()?
            .to_string();
        let Some(i) = name
            .strip_prefix("case_")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let row = d["location"]["row"].as_u64()? as usize;
        let col = d["location"]["column"].as_u64()? as usize;
        let e = first.entry(i).or_insert((row, col));
        if (row, col) < *e {
            *e = (row, col);
        }
    }
    Some(first.into_iter().map(|(i, (r, _))| (i, r)).collect())
}

#[derive(Default, Clone, Copy)]
struct Tally {
    n: usize,
    line: usize,
    exact: usize,
    ruff_line: usize,
    ruff_n: usize,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        self.n += o.n;
        self.line += o.line;
        self.exact += o.exact;
        self.ruff_line += o.ruff_line;
        self.ruff_n += o.ruff_n;
    }
}

fn pct(a: usize, n: usize) -> String {
    if n == 0 {
        "–".into()
    } else {
        format!("{:.1}%", 100.0 * a as f64 / n as f64)
    }
}

fn main() {
    let python = env("SYNTAX_ACCURACY_PYTHON").unwrap_or_else(|| "python3".into());
    let dir = env("SYNTAX_ACCURACY_DIR").unwrap_or_default();
    let seed: u64 = env("SYNTAX_ACCURACY_SEED")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let per_file: usize = env("SYNTAX_ACCURACY_PER_FILE")
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let show = env("SYNTAX_ACCURACY_SHOW");
    let (mut oracle, root, files) = Oracle::start(&python, &dir);
    assert!(!files.is_empty(), "no valid Python files under {root:?}");

    // Mutations, per file and kind up to `per_file` sites (missing colons: per header kind).
    let mut rng = Random(seed);
    let mut cases = Vec::new();
    let mut texts = Vec::new();
    for (fi, path) in files.iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Some(tree) = parse(&text) else { continue };
        if tree.root_node().has_error() {
            continue;
        }
        let all = sites(&text, tree.root_node());
        let mut groups: BTreeMap<(Kind, &str), Vec<&Site>> = BTreeMap::new();
        for s in &all {
            groups.entry((s.kind, s.sub)).or_default().push(s);
        }
        for ((kind, sub), mut group) in groups {
            let take = if kind == Kind::Colon {
                per_file.div_ceil(2)
            } else {
                per_file
            };
            for _ in 0..take.min(group.len()) {
                let site = group.swap_remove(rng.below(group.len()));
                let insert = if kind == Kind::Keyword {
                    typo(&site.insert, &mut rng)
                } else {
                    site.insert.clone()
                };
                let mut mutated = String::with_capacity(text.len() + insert.len());
                mutated.push_str(&text[..site.start]);
                mutated.push_str(&insert);
                mutated.push_str(&text[site.end..]);
                let line = text[..site.start].matches('\n').count() + 1;
                cases.push(Case {
                    file: fi,
                    kind,
                    sub,
                    text: mutated,
                    line,
                });
            }
        }
        texts.push(text);
    }

    // The oracle, then us.
    let mut kept = Vec::new();
    for case in cases {
        if let Some(expected) = oracle.check(&case.text) {
            kept.push((case, expected));
        }
    }
    let mut ours_time = Duration::ZERO;
    let mut ours = Vec::with_capacity(kept.len());
    for (case, _) in &kept {
        let started = Instant::now();
        let tree = parse(&case.text).expect("parse");
        let first = syntax_diagnostics(&tree, &case.text).into_iter().next();
        ours_time += started.elapsed();
        ours.push(first.map(|d| {
            let line = case.text[..d.range.start()].matches('\n').count() + 1;
            (d.message, line)
        }));
    }
    let ruff = find_ruff();
    let ruff_first = ruff.as_deref().and_then(|r| {
        let named: Vec<(usize, &str)> = kept
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (i, c.text.as_str()))
            .collect();
        ruff_lines(r, &named)
    });

    let mut by_kind: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut by_sub: BTreeMap<&str, Tally> = BTreeMap::new();
    for (i, ((case, (msg, line)), got)) in kept.iter().zip(&ours).enumerate() {
        let on_line = got.as_ref().is_some_and(|(_, l)| l == line);
        let exact = on_line && got.as_ref().is_some_and(|(m, _)| m == msg);
        let mut t = Tally {
            n: 1,
            line: on_line as usize,
            exact: exact as usize,
            ..Tally::default()
        };
        if let Some(r) = &ruff_first {
            t.ruff_n = 1;
            t.ruff_line = (r.get(&i) == Some(line)) as usize;
        }
        by_kind.entry(case.kind).or_default().add(t);
        if case.kind == Kind::Colon {
            by_sub.entry(case.sub).or_default().add(t);
        }
        let shown = match show.as_deref() {
            None => false,
            Some(s) => {
                let (what, kind) = s.split_once(':').unwrap_or((s, ""));
                let wrong = if what == "all" { !exact } else { !on_line };
                wrong && (kind.is_empty() || kind == case.kind.short())
            }
        };
        if shown {
            let rel = files[case.file]
                .strip_prefix(&root)
                .unwrap_or(&files[case.file]);
            let context: Vec<&str> = case
                .text
                .lines()
                .skip(case.line.saturating_sub(2))
                .take(3)
                .collect();
            println!(
                "--- {} {} {}:{}\n  cpython: {msg:?} line {line}\n  ours:    {got:?}\n  {}",
                case.kind.short(),
                case.sub,
                rel.display(),
                case.line,
                context.join("\n  | ")
            );
        }
    }

    println!(
        "\nSyntax-error accuracy: {} mutated cases of {} files under {} (seed {seed}), CPython {python} as the oracle{}",
        kept.len(),
        files.len(),
        root.display(),
        match &ruff {
            Some(r) if ruff_first.is_some() => format!(", ruff {}", r.display()),
            _ => ", no ruff".into(),
        }
    );
    println!(
        "our parse + diagnostics: {:.2} ms per case on average\n",
        ours_time.as_secs_f64() * 1e3 / kept.len().max(1) as f64
    );
    println!("| mistake | cases | on CPython's line | CPython's line and wording | ruff: on CPython's line |");
    println!("|---|---|---|---|---|");
    let mut total = Tally::default();
    let row = |label: String, t: &Tally| {
        println!(
            "| {label} | {} | {} | {} | {} |",
            t.n,
            pct(t.line, t.n),
            pct(t.exact, t.n),
            pct(t.ruff_line, t.ruff_n)
        );
    };
    for (kind, t) in &by_kind {
        row(kind.label().to_string(), t);
        if *kind == Kind::Colon {
            for (sub, t) in &by_sub {
                row(format!("&nbsp;&nbsp;… after `{sub}`"), t);
            }
        }
        total.add(*t);
    }
    row("**all**".into(), &total);
}
