//! Crash isolation: a panic in a handler or a background task becomes an error reply and a
//! log line, never the end of the process. tower-lsp-server has no `catch_unwind` of its own.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::FutureExt;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Request, Response};

/// Renders a panic payload (usually a `&str` or `String`) for the log.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// A tower service wrapper that catches panics of the wrapped service's calls and futures.
pub struct CatchPanic<S> {
    inner: S,
}

impl<S> CatchPanic<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn internal_error_reply(
    request_id: Option<tower_lsp_server::jsonrpc::Id>,
    method: &str,
    message: String,
) -> Option<Response> {
    tracing::error!(method, "handler panicked: {message}");
    request_id.map(|id| {
        Response::from_error(
            id,
            Error {
                code: ErrorCode::InternalError,
                message: format!("planai-lsp: the {method} handler failed: {message}").into(),
                data: None,
            },
        )
    })
}

impl<S> tower::Service<Request> for CatchPanic<S>
where
    S: tower::Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Option<Response>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Option<Response>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let request_id = request.id().cloned();
        let method = request.method().to_string();
        let call = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request)));
        match call {
            Ok(future) => {
                Box::pin(AssertUnwindSafe(future).catch_unwind().map(
                    move |outcome| match outcome {
                        Ok(result) => result,
                        Err(payload) => Ok(internal_error_reply(
                            request_id,
                            &method,
                            panic_message(payload.as_ref()),
                        )),
                    },
                ))
            }
            Err(payload) => {
                let reply =
                    internal_error_reply(request_id, &method, panic_message(payload.as_ref()));
                Box::pin(async move { Ok(reply) })
            }
        }
    }
}

/// Spawns a background task whose panic is logged instead of silently ending the task.
pub fn spawn_guarded<F>(name: &'static str, future: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(payload) = AssertUnwindSafe(future).catch_unwind().await {
            tracing::error!(
                task = name,
                "background task panicked: {}",
                panic_message(payload.as_ref())
            );
        }
    })
}
