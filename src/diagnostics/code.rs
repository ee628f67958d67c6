//! The registry of diagnostic codes (like ruff's rule registry): one [`Code`] variant per code
//! planai-lsp itself decides, each with its string, default severity and section in
//! `docs/diagnostics.md`. Codes the Python environment chooses (exception and warning class
//! names) are [`DiagnosticCode::Venv`].

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use super::Severity;

/// Where `docs/diagnostics.md` is published, when the build says so: each code's section is
/// `#<anchor>` on it (the LSP `codeDescription` of a diagnostic). Set `PLANAI_LSP_DOCS_URL`
/// when building to point the links at a docs site, a fork or a pinned tag. Without it the
/// server links to a copy of the document this binary embeds (`DOCS_MARKDOWN`, see
/// `server::docs_link`), so a link always opens the text of the version that reported the
/// diagnostic, offline too.
pub const DOCS_URL: Option<&str> = option_env!("PLANAI_LSP_DOCS_URL");

/// `docs/diagnostics.md` as this binary was built with it.
pub const DOCS_MARKDOWN: &str = include_str!("../../docs/diagnostics.md");

/// The anchor of the section on diagnostics the venv reports under a Python class name.
const VENV_ANCHOR: &str = "venv";

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal, $severity:ident;)*) => {
        /// A diagnostic code planai-lsp decides (static checks, syntax, and the fixed codes of
        /// the venv validation). The string is stable: it is the LSP `code` and what
        /// `planai-lsp check` prints.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in the order of `docs/diagnostics.md`.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// The severity every diagnostic of this code has.
            pub const fn severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }
        }
    };
}

codes! {
    /// Python syntax error.
    Syntax => "syntax", Error;
    Im1 => "IM1", Error;
    Cd1 => "CD1", Error;
    Cd2 => "CD2", Error;
    Cd3 => "CD3", Error;
    Cd4 => "CD4", Warning;
    Cd5 => "CD5", Warning;
    Cd7 => "CD7", Error;
    In1 => "IN1", Error;
    In2 => "IN2", Error;
    In3 => "IN3", Error;
    In4 => "IN4", Error;
    In5 => "IN5", Error;
    In6 => "IN6", Error;
    In7 => "IN7", Error;
    In8 => "IN8", Error;
    In9 => "IN9", Warning;
    Gc1 => "GC1", Error;
    Gc2 => "GC2", Error;
    Gc3 => "GC3", Error;
    Gc4 => "GC4", Error;
    Gc5 => "GC5", Error;
    Gc6 => "GC6", Error;
    Gc7 => "GC7", Error;
    Gc8 => "GC8", Error;
    Gc9 => "GC9", Error;
    Gc11 => "GC11", Error;
    Gc12 => "GC12", Error;
    Gc13 => "GC13", Error;
    Ex1 => "EX1", Error;
    Ex2 => "EX2", Error;
    Rt1 => "RT1", Error;
    Rt3 => "RT3", Error;
    Rt4 => "RT4", Error;
    Rt6 => "RT6", Error;
    Rt8 => "RT8", Error;
    Rt11 => "RT11", Error;
    Rt12 => "RT12", Error;
    Rt18 => "RT18", Error;
    /// Venv: a `@tool(...)` function with a missing or generic description.
    ToolDescription => "tool-description", Warning;
    /// Venv: the selected interpreter is missing or has no planai.
    PlanaiEnvironment => "planai-environment", Warning;
    /// Venv: validation took longer than `planai.validation.timeoutMs`.
    VenvTimeout => "venv-timeout", Warning;
    /// Venv: the validating Python process died.
    VenvCrashed => "venv-crashed", Warning;
}

impl Code {
    /// The id of the code's section in `docs/diagnostics.md` (an `<a id="…"></a>` there).
    pub fn anchor(self) -> String {
        self.as_str().to_ascii_lowercase()
    }

    /// PlanAI's check family: the letters before the number (`"GC"` for GC7); `None` for codes
    /// without a number (`syntax`, the venv codes).
    pub fn family(self) -> Option<&'static str> {
        let s = self.as_str();
        let letters = s.trim_end_matches(|c: char| c.is_ascii_digit());
        (letters.len() < s.len()).then_some(letters)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCode;

impl FromStr for Code {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or(UnknownCode)
    }
}

/// The code of a [`super::Diagnostic`]: a registered [`Code`], or a code the venv validation
/// chose.
///
/// Equality, hashing and order are those of the string, so sorting diagnostics by code is the
/// same as when codes were strings.
#[derive(Clone, Debug)]
pub enum DiagnosticCode {
    Known(Code),
    /// The Python exception or warning class name (`ValueError`, `UserWarning` …) from the
    /// helper, or `venv-<kind>` for a helper failure other than a timeout or a crash.
    Venv(String),
}

impl DiagnosticCode {
    pub fn as_str(&self) -> &str {
        match self {
            DiagnosticCode::Known(code) => code.as_str(),
            DiagnosticCode::Venv(name) => name,
        }
    }

    pub fn known(&self) -> Option<Code> {
        match self {
            DiagnosticCode::Known(code) => Some(*code),
            DiagnosticCode::Venv(_) => None,
        }
    }

    /// The URL of the code's section in `docs/diagnostics.md` published at `base` (venv class
    /// names: the section on venv-backed diagnostics).
    pub fn docs_url(&self, base: &str) -> String {
        match self {
            DiagnosticCode::Known(code) => format!("{base}#{}", code.anchor()),
            DiagnosticCode::Venv(_) => format!("{base}#{VENV_ANCHOR}"),
        }
    }
}

impl From<Code> for DiagnosticCode {
    fn from(code: Code) -> Self {
        DiagnosticCode::Known(code)
    }
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for DiagnosticCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for DiagnosticCode {}

impl PartialEq<Code> for DiagnosticCode {
    fn eq(&self, other: &Code) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Hash for DiagnosticCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for DiagnosticCode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DiagnosticCode {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str = DOCS_MARKDOWN;

    fn anchors() -> Vec<&'static str> {
        DOCS.split("<a id=\"")
            .skip(1)
            .filter_map(|rest| rest.split_once("\"></a>").map(|(id, _)| id))
            .collect()
    }

    #[test]
    fn every_code_has_a_section_in_the_docs() {
        let anchors = anchors();
        for code in Code::ALL {
            assert!(
                anchors.contains(&code.anchor().as_str()),
                "docs/diagnostics.md has no <a id=\"{}\"></a> for {code}",
                code.anchor()
            );
        }
        assert!(anchors.contains(&VENV_ANCHOR));
        // Each anchor once, so a link lands on one section.
        let mut sorted = anchors.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            anchors.len(),
            "duplicate anchors: {anchors:?}"
        );
    }

    #[test]
    fn codes_are_unique_and_parse_back() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(code.as_str().parse::<Code>(), Ok(*code));
            assert!(!Code::ALL[..i].iter().any(|c| c.as_str() == code.as_str()));
        }
        assert_eq!("GC10".parse::<Code>(), Err(UnknownCode));
        assert_eq!(Code::Gc11.family(), Some("GC"));
        assert_eq!(Code::Syntax.family(), None);
        assert_eq!(Code::VenvTimeout.family(), None);
    }

    /// The static codes the docs' "At a glance" table says are reported statically are exactly
    /// the registered static codes.
    #[test]
    fn the_docs_table_lists_the_static_codes() {
        let table = DOCS
            .split("## At a glance")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").find(|p| p.starts_with("| Code")))
            .expect("the At a glance table");
        let mut documented = Vec::new();
        for row in table.lines().skip(2) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let (codes, reported_by) = (cells[1], cells[4]);
            if !reported_by.starts_with("static") {
                continue;
            }
            for code in codes.split(", ") {
                let code = code.trim_matches('`');
                match code.split_once('–') {
                    Some((first, last)) => {
                        let family = first.trim_end_matches(|c: char| c.is_ascii_digit());
                        let from: u32 = first[family.len()..].parse().unwrap();
                        let to: u32 = last[family.len()..].parse().unwrap();
                        documented.extend((from..=to).map(|n| format!("{family}{n}")));
                    }
                    None => documented.push(code.to_string()),
                }
            }
        }
        let mut registered: Vec<String> = Code::ALL
            .iter()
            .filter(|c| c.family().is_some() || **c == Code::Syntax)
            .map(|c| c.to_string())
            .collect();
        documented.sort();
        registered.sort();
        assert_eq!(documented, registered);
    }

    /// Every static code is emitted by some check, and no check emits a code as a string
    /// literal (which would bypass the registry).
    #[test]
    fn every_registered_code_is_emitted_and_checks_use_the_registry() {
        // Every source file of the analysis and syntax layers, read at test time so a new
        // or split file cannot be missed.
        fn rust_files(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("source directory") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    rust_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(std::fs::read_to_string(&path).expect("source file"));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut sources = Vec::new();
        rust_files(&root.join("analysis"), &mut sources);
        rust_files(&root.join("syntax"), &mut sources);
        // Non-test code only.
        let code: Vec<&str> = sources
            .iter()
            .map(|s| s.split("#[cfg(test)]").next().unwrap())
            .collect();
        for c in Code::ALL {
            if c.family().is_none() && *c != Code::Syntax {
                continue; // the venv codes, emitted by the server
            }
            let variant = format!("Code::{c:?}");
            assert!(
                code.iter().any(|s| s.contains(&variant)),
                "no check emits {variant}"
            );
        }
        for c in Code::ALL.iter().filter(|c| c.family().is_some()) {
            let literal = format!("\"{c}\"");
            assert!(
                !code.iter().any(|s| s.contains(&literal)),
                "{literal} written as a string in a check; use Code::{c:?}"
            );
        }
    }

    #[test]
    fn strings_order_and_compare_codes() {
        let venv = DiagnosticCode::Venv("ValueError".into());
        let [gc7, gc8, gc11] = [Code::Gc7, Code::Gc8, Code::Gc11].map(DiagnosticCode::from);
        assert!(
            gc7 < gc8 && gc11 < gc7,
            "string order, as before codes were an enum"
        );
        assert_eq!(DiagnosticCode::Venv("GC7".into()), Code::Gc7);
        assert_eq!(venv.as_str(), "ValueError");
        assert_eq!(
            DiagnosticCode::from(Code::Gc7).docs_url("file:///d.md"),
            "file:///d.md#gc7"
        );
        assert_eq!(venv.docs_url("file:///d.md"), "file:///d.md#venv");
    }
}
