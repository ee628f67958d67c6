//! Environment discovery and probing against this machine's real interpreters.

mod venv_and_processes;

use planai_lsp::python::envs::{
    discover, probe, probe_launches, probe_unknown, render_table, select_default,
    select_default_index, DiscoveryOptions, EnvKind, InterpreterSetting,
};
use std::time::Duration;

#[test]
fn discovery_reads_the_test_venv_without_launching_it() {
    let python = venv_and_processes::test_venv_python();
    let setting = InterpreterSetting::Path(python.display().to_string());
    let opts = DiscoveryOptions::from_process(Some(setting), vec![]);
    // `discover` reads the filesystem only: it is synchronous, and launching an interpreter
    // is the async `probe`'s job, so it cannot launch one. Versions come from the files.
    let envs = discover(&opts);
    let chosen = select_default(&envs).unwrap();
    assert_eq!(chosen.kind, EnvKind::Setting);
    assert!(chosen.exists);
    assert_eq!(chosen.planai.as_deref(), Some("0.7.1"), "{chosen:?}");
    assert!(chosen.pydantic.is_some() && chosen.llm_interface.is_some());
    assert!(chosen.python_version.as_deref().unwrap().starts_with("3."));
    let table = render_table(&envs, Some(0));
    assert!(table.lines().nth(1).unwrap().starts_with('*'), "{table}");
    eprintln!("discovered {} environments:\n{table}", envs.len());
}

#[tokio::test]
async fn probe_reports_versions_and_is_cached() {
    let python = venv_and_processes::test_venv_python();
    let opts = DiscoveryOptions::from_process(
        Some(InterpreterSetting::Path(python.display().to_string())),
        vec![],
    );
    let env = discover(&opts).remove(0);
    let info = probe(&env, true, Duration::from_secs(30)).await.unwrap();
    assert_eq!(info.planai.as_deref(), Some("0.7.1"));
    assert_eq!(Some(info.python.as_str()), env.python_version.as_deref());

    let launched = probe_launches(&env.interpreter);
    assert!(launched >= 1);
    let again = probe(&env, true, Duration::from_secs(30)).await.unwrap();
    assert_eq!(again, info);
    assert_eq!(
        probe_launches(&env.interpreter),
        launched,
        "not cached: the interpreter ran again"
    );

    let mut probed = env.clone();
    probed.planai = None;
    probed.apply_probe(&info);
    assert_eq!(probed.planai.as_deref(), Some("0.7.1"));

    // An argv interpreter is only known after probing.
    let argv = DiscoveryOptions::from_process(
        Some(InterpreterSetting::Argv(vec![
            "env".into(),
            python.display().to_string(),
        ])),
        vec![],
    );
    let mut envs = discover(&argv);
    assert_eq!(envs[0].planai, None);
    probe_unknown(&mut envs[..1], true, Duration::from_secs(30)).await;
    assert_eq!(envs[0].planai.as_deref(), Some("0.7.1"));
    assert_eq!(select_default_index(&envs), Some(0));
}

#[cfg(unix)]
#[tokio::test]
async fn probe_of_a_hanging_argv_interpreter_times_out() {
    // `sh -c 'sleep 30' -I -c <script>`: argv settings get the probe flags appended.
    let opts = DiscoveryOptions::from_process(
        Some(InterpreterSetting::Argv(vec![
            "sh".into(),
            "-c".into(),
            "sleep 30".into(),
        ])),
        vec![],
    );
    let env = discover(&opts).remove(0);
    assert!(env.exists, "sh is on PATH");
    // The 500 ms timeout ends the probe (the guard only turns a hang into a failure).
    let err = tokio::time::timeout(
        Duration::from_secs(60),
        probe(&env, true, Duration::from_millis(500)),
    )
    .await
    .expect("the probe's own timeout ends it")
    .unwrap_err();
    assert!(err.0.contains("did not answer"), "{err}");

    let not_python = DiscoveryOptions::from_process(
        Some(InterpreterSetting::Argv(vec![
            "sh".into(),
            "-c".into(),
            "echo hi".into(),
        ])),
        vec![],
    );
    let env = discover(&not_python).remove(0);
    let err = probe(&env, true, Duration::from_secs(5)).await.unwrap_err();
    assert!(err.0.contains("not a working Python interpreter"), "{err}");
}
