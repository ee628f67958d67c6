//! PythonService: selection, switching interpreters on configuration changes, trust.

mod venv_and_processes;

use planai_lsp::python::envs::{DiscoveryOptions, EnvKind, InterpreterSetting};
use planai_lsp::python::helper::{HelperStatus, SupervisorSettings};
use planai_lsp::python::protocol::{HelperErrorKind, Ping, PingParams};
use planai_lsp::python::service::PythonService;
use std::path::Path;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

fn options(setting: Option<&Path>, home: &Path) -> DiscoveryOptions {
    DiscoveryOptions {
        setting: setting.map(|p| InterpreterSetting::Path(p.display().to_string())),
        workspace_roots: vec![home.join("ws")],
        env: Default::default(),
        home: Some(home.to_path_buf()),
        system_locations: false,
        workspace_envs_need_selection: false,
    }
}

async fn wait_for(service: &PythonService, want: impl Fn(&HelperStatus) -> bool) -> HelperStatus {
    let mut status = service.subscribe();
    tokio::time::timeout(TIMEOUT, async {
        loop {
            let current = status.borrow_and_update().clone();
            if want(&current) {
                return current;
            }
            status.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("status stuck at {:?}", service.status()))
}

#[cfg(unix)]
/// Waits until no process `pid` exists (the old helper was killed and reaped).
async fn wait_gone(pid: u32) {
    let alive = || unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        while alive() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "process {pid} still exists");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_changes_switch_the_interpreter() {
    let home = tempfile::tempdir().unwrap();
    let venv_python = venv_and_processes::test_venv_python();
    let service = PythonService::new(SupervisorSettings::default());

    let selection = service
        .configure(options(Some(&venv_python), home.path()), true)
        .await;
    let env = selection.environment.unwrap();
    assert_eq!(env.kind, EnvKind::Setting);
    assert_eq!(env.planai.as_deref(), Some("0.7.1"));
    assert_eq!(selection.message, None);
    assert_eq!(service.status(), HelperStatus::Idle);

    service.start().await;
    wait_for(&service, |s| matches!(s, HelperStatus::Ready { .. })).await;
    let first = service.supervisor().await.unwrap();
    let first_pid = first.pid().await.unwrap();
    let (envs, selected) = service.list_environments().await;
    assert_eq!(selected, Some(0), "{envs:?}");

    // Same configuration again: same helper.
    service
        .configure(options(Some(&venv_python), home.path()), true)
        .await;
    assert_eq!(
        service.supervisor().await.unwrap().pid().await,
        Some(first_pid)
    );

    // Another interpreter: the old helper goes away, the new one starts on its own.
    let plain =
        venv_and_processes::python_without_planai().expect("python3 on PATH without planai");
    let selection = service
        .configure(options(Some(&plain), home.path()), true)
        .await;
    assert!(selection.environment.is_some());
    let status = wait_for(&service, |s| {
        matches!(s, HelperStatus::PlanaiMissing { .. })
    })
    .await;
    assert!(status
        .user_message()
        .unwrap()
        .contains("pip install planai"));
    assert_eq!(first.status(), HelperStatus::Stopped);
    wait_gone(first_pid).await;

    // planai.selectEnvironment wins over discovery until the setting changes.
    let selection = service
        .select_environment(InterpreterSetting::Path(venv_python.display().to_string()))
        .await;
    assert_eq!(
        selection.environment.unwrap().path.as_deref(),
        Some(venv_python.as_path())
    );
    // ... and is listed as the selected environment, although discovery does not find it.
    let (envs, selected) = service.list_environments().await;
    let selected = selected.expect("an environment is marked selected");
    assert_eq!(envs[selected].path.as_deref(), Some(venv_python.as_path()));
    assert_eq!(envs[selected].planai.as_deref(), Some("0.7.1"));
    assert!(
        service
            .request::<Ping>(PingParams {}, Duration::from_secs(30))
            .await
            .unwrap()
            .pong
    );

    // Untrusted: the helper is stopped and nothing is launched any more.
    let selection = service
        .configure(options(Some(&venv_python), home.path()), false)
        .await;
    assert!(selection.message.unwrap().contains("not trusted"));
    assert_eq!(service.status(), HelperStatus::Untrusted);
    let err = service
        .request::<Ping>(PingParams {}, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.kind, HelperErrorKind::Untrusted);

    service.shutdown().await;
    assert_eq!(service.status(), HelperStatus::Stopped);
}

#[tokio::test]
async fn no_interpreter_is_explained() {
    let home = tempfile::tempdir().unwrap();
    let service = PythonService::new(SupervisorSettings::default());
    let selection = service.configure(options(None, home.path()), true).await;
    assert_eq!(selection.environment, None);
    assert!(selection
        .message
        .unwrap()
        .contains("No Python interpreter was found"));
    assert!(matches!(service.status(), HelperStatus::Failed { .. }));
    let err = service
        .request::<Ping>(PingParams {}, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.kind, HelperErrorKind::Unavailable);
    assert!(err.message.contains("python3 -m venv"), "{err}");

    // A setting pointing at a deleted interpreter: selected anyway, with a message.
    let gone = home.path().join("gone/bin/python");
    let selection = service
        .configure(options(Some(&gone), home.path()), true)
        .await;
    assert!(!selection.environment.unwrap().exists);
    assert!(selection.message.unwrap().contains("does not exist"));
    let err = service
        .request::<Ping>(PingParams {}, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(err.kind, HelperErrorKind::Unavailable);
    assert!(err.message.contains("planai.selectEnvironment"), "{err}");
}
