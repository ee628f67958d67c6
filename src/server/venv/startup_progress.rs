//! Work-done progress while the helper starts (importing planai takes 3–11 s, during which
//! nothing else tells the user why venv results have not come yet): `begin` when the helper's
//! status becomes `Starting`, `end` with what came of it.

use std::sync::Arc;

use tower_lsp_server::ls_types::{
    NumberOrString, WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressEnd,
};

use crate::python::helper::HelperStatus;
use crate::server::panic_guard::spawn_guarded;
use crate::server::progress::{create, send};
use crate::server::state::Session;

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
                    if create(&session, &token).await {
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
