//! Work-done progress while the helper starts (importing planai takes 3–11 s, during which
//! nothing else tells the user why venv results have not come yet): `begin` when the helper's
//! status becomes `Starting`, `end` with what came of it.

use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::request::WorkDoneProgressCreate;
use tower_lsp_server::ls_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressCreateParams, WorkDoneProgressEnd,
};

use crate::python::helper::HelperStatus;
use crate::server::panic_guard::spawn_guarded;
use crate::server::state::Session;

/// How long the client may take to create the progress token.
const CREATE_TIMEOUT: Duration = Duration::from_secs(5);

/// Follows the helper's status for the session (called once, from the first configure).
pub fn watch(session: Arc<Session>) {
    let mut status = session.venv.service.subscribe();
    spawn_guarded("helper startup progress", async move {
        let mut starts = 0u32;
        let mut active: Option<NumberOrString> = None;
        loop {
            let current = status.borrow_and_update().clone();
            match (&current, &active) {
                (HelperStatus::Starting, None) if session.runs.client_progress() => {
                    starts += 1;
                    let token = NumberOrString::String(format!("planai-helper/{starts}"));
                    let created = tokio::time::timeout(
                        CREATE_TIMEOUT,
                        session.client.send_request::<WorkDoneProgressCreate>(
                            WorkDoneProgressCreateParams {
                                token: token.clone(),
                            },
                        ),
                    )
                    .await;
                    if matches!(created, Ok(Ok(()))) {
                        send(
                            &session,
                            &token,
                            WorkDoneProgress::Begin(WorkDoneProgressBegin {
                                title: "PlanAI: starting the Python helper".into(),
                                cancellable: Some(false),
                                message: Some(
                                    "importing planai in the selected environment".into(),
                                ),
                                percentage: None,
                            }),
                        )
                        .await;
                        active = Some(token);
                    }
                }
                (HelperStatus::Starting, _) => {}
                (other, Some(token)) => {
                    let message = match other {
                        HelperStatus::Ready { planai, python } => {
                            format!("ready: planai {planai} on Python {python}")
                        }
                        HelperStatus::PlanaiMissing { .. } => "planai is not installed".into(),
                        HelperStatus::Failed { .. } => "the helper failed to start".into(),
                        _ => "stopped".into(),
                    };
                    send(
                        &session,
                        token,
                        WorkDoneProgress::End(WorkDoneProgressEnd {
                            message: Some(message),
                        }),
                    )
                    .await;
                    active = None;
                }
                _ => {}
            }
            // The status may have moved on while the token was being created.
            if status.has_changed().unwrap_or(false) {
                continue;
            }
            if status.changed().await.is_err() {
                return;
            }
        }
    });
}

async fn send(session: &Session, token: &NumberOrString, value: WorkDoneProgress) {
    session
        .client
        .send_notification::<Progress>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        })
        .await;
}
