//! Analysis types to LSP types: byte ranges to positions in the negotiated encoding, and
//! diagnostics with their related information.

use std::path::PathBuf;

use crate::text::SourceText;
use tower_lsp_server::ls_types::{
    self as lsp, CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Uri,
};

use crate::diagnostics::{Diagnostic, Severity};
use crate::server::state::{path_to_uri, Session};
use crate::text::{offset_to_position, PositionEncoding};

pub fn to_lsp_severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Information => DiagnosticSeverity::INFORMATION,
        Severity::Hint => DiagnosticSeverity::HINT,
    }
}

pub fn to_lsp_range(
    source: &SourceText,
    range: crate::diagnostics::TextRange,
    encoding: PositionEncoding,
) -> lsp::Range {
    let start = offset_to_position(source, range.start(), encoding);
    let end = offset_to_position(source, range.end(), encoding);
    lsp::Range {
        start: lsp::Position {
            line: start.line,
            character: start.character,
        },
        end: lsp::Position {
            line: end.line,
            character: end.character,
        },
    }
}

/// `diagnostic` of the document `uri` (whose text is `source`); related information in other
/// files is converted with the open document's text, else with `other_files`.
pub fn to_lsp_diagnostic(
    session: &Session,
    uri: &Uri,
    source: &SourceText,
    diagnostic: &Diagnostic,
    encoding: PositionEncoding,
    other_files: &[(PathBuf, SourceText)],
) -> lsp::Diagnostic {
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .related
        .iter()
        .filter_map(|info| {
            let (target_uri, range) = match &info.path {
                None => (uri.clone(), to_lsp_range(source, info.range, encoding)),
                Some(path) => {
                    let target_uri = path_to_uri(path)?;
                    let open = session
                        .documents
                        .get(&target_uri)
                        .map(|entry| to_lsp_range(entry.document.source(), info.range, encoding));
                    let range = match open {
                        Some(range) => range,
                        None => {
                            let (_, text) = other_files.iter().find(|(p, _)| p == path)?;
                            to_lsp_range(text, info.range, encoding)
                        }
                    };
                    (target_uri, range)
                }
            };
            Some(DiagnosticRelatedInformation {
                location: Location {
                    uri: target_uri,
                    range,
                },
                message: info.message.clone(),
            })
        })
        .collect();
    lsp::Diagnostic {
        range: to_lsp_range(source, diagnostic.range, encoding),
        severity: Some(to_lsp_severity(diagnostic.severity)),
        code: Some(NumberOrString::String(diagnostic.code.to_string())),
        code_description: session
            .docs_base()
            .and_then(|base| diagnostic.code.docs_url(&base).parse().ok())
            .map(|href| CodeDescription { href }),
        source: Some(diagnostic.source.as_str().to_string()),
        message: diagnostic.message.clone(),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}
