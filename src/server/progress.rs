//! Work-done progress the server starts itself (runs, the helper's start): creating a token
//! with the client and sending `$/progress` values for it.
//!
//! Architecture Invariant: `create` is a server-to-client request, so it is only ever awaited
//! from a background task, and never longer than [`CREATE_TIMEOUT`].

use std::time::Duration;

use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::request::WorkDoneProgressCreate;
use tower_lsp_server::ls_types::{
    ProgressParams, ProgressParamsValue, ProgressToken, WorkDoneProgress,
    WorkDoneProgressCreateParams,
};

use crate::server::state::Session;

/// How long the client may take to create a progress token.
pub const CREATE_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the client to create `token` (`window/workDoneProgress/create`); true when it did in
/// time. Only from a background task, never from a handler.
pub async fn create(session: &Session, token: &ProgressToken) -> bool {
    let created = tokio::time::timeout(
        CREATE_TIMEOUT,
        session
            .client
            .send_request::<WorkDoneProgressCreate>(WorkDoneProgressCreateParams {
                token: token.clone(),
            }),
    )
    .await;
    matches!(created, Ok(Ok(())))
}

/// Sends one `$/progress` value for `token`.
pub async fn send(session: &Session, token: &ProgressToken, value: WorkDoneProgress) {
    session
        .client
        .send_notification::<Progress>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        })
        .await;
}
