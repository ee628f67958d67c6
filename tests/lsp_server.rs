//! In-process LSP tests over `tokio::io::duplex`: the server foundation's guardrails.

mod lsp_client;

use lsp_client::*;
use serde_json::{json, Value};

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_is_negotiated_when_offered_and_utf16_otherwise() {
    let neovim = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start()
        .await;
    assert_eq!(
        neovim.initialize_result["capabilities"]["positionEncoding"],
        "utf-8"
    );
    let helix = WorkspaceBuilder::new()
        .capabilities(helix_capabilities())
        .start()
        .await;
    assert_eq!(
        helix.initialize_result["capabilities"]["positionEncoding"],
        "utf-8"
    );
    let vscode = WorkspaceBuilder::new()
        .capabilities(vscode_capabilities())
        .start()
        .await;
    assert_eq!(
        vscode.initialize_result["capabilities"]["positionEncoding"],
        "utf-16"
    );
    let bare = WorkspaceBuilder::new()
        .capabilities(json!({}))
        .start()
        .await;
    assert_eq!(
        bare.initialize_result["capabilities"]["positionEncoding"],
        "utf-16"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_rapid_edits_apply_in_order_and_the_last_version_is_published() {
    let mut client = WorkspaceBuilder::new().start().await;
    let uri = client.open("rapid.py", "", 0).await;
    let mut oracle = String::new();
    for version in 1..=200i64 {
        // Alternate appends and in-place replacements so order really matters.
        if version % 3 == 0 && !oracle.is_empty() {
            client
                .change(
                    &uri,
                    version,
                    json!([{"range": range(0, 0, 0, 1), "text": "#"}]),
                )
                .await;
            oracle.replace_range(0..1, "#");
        } else {
            let line = oracle.matches('\n').count() as u32;
            let text = format!("x{version} = {version}\n");
            client
                .change(
                    &uri,
                    version,
                    json!([{"range": range(line, 0, line, 0), "text": text}]),
                )
                .await;
            oracle.push_str(&text);
        }
    }
    let document = client.server_document(&uri).await;
    assert_eq!(document["version"], 200);
    assert_eq!(document["text"].as_str().unwrap(), oracle);
    client.await_diagnostics(&uri, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf16_and_utf8_edits_land_on_the_same_characters() {
    let text = "s = \"😀é\"\nt = 1\n";
    // Replace the `=` after `s`'s string... i.e. insert "X" right after the closing quote.
    let quote_end_utf16 = "s = \"😀é\"".encode_utf16().count() as u32;
    let quote_end_utf8 = "s = \"😀é\"".len() as u32;

    let mut vscode = WorkspaceBuilder::new().start().await;
    let uri = vscode.open("u.py", text, 1).await;
    vscode
        .change(
            &uri,
            2,
            json!([{"range": range(0, quote_end_utf16, 0, quote_end_utf16), "text": "X"}]),
        )
        .await;
    assert_eq!(
        vscode.server_document(&uri).await["text"],
        "s = \"😀é\"X\nt = 1\n"
    );

    let mut neovim = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start()
        .await;
    let uri = neovim.open("u.py", text, 1).await;
    neovim
        .change(
            &uri,
            2,
            json!([{"range": range(0, quote_end_utf8, 0, quote_end_utf8), "text": "X"}]),
        )
        .await;
    assert_eq!(
        neovim.server_document(&uri).await["text"],
        "s = \"😀é\"X\nt = 1\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syntax_errors_are_published_with_the_document_version() {
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start()
        .await;
    let uri = client
        .open("broken.py", "class A(Task)\n    pass\n", 7)
        .await;
    let diagnostics = client.await_diagnostics(&uri, 7).await;
    assert!(!diagnostics.is_empty(), "expected a syntax error");
    assert_eq!(diagnostics[0]["source"], "planai-syntax");
    assert_eq!(diagnostics[0]["range"]["start"]["line"], 0);

    let fixed = client.edit(&uri, 8, range(0, 13, 0, 13), ":").await;
    assert!(fixed.is_empty(), "fixed file still has {fixed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_gets_an_error_reply_and_the_server_keeps_serving() {
    let mut client = WorkspaceBuilder::new().start().await;
    let id = client.send_request("planai/debug/panic", json!({})).await;
    let reply = client.response(id).await;
    assert_eq!(reply["error"]["code"], -32603, "reply: {reply}");
    let uri = client.open("after_panic.py", "x = (\n", 1).await;
    assert!(!client.await_diagnostics(&uri, 1).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_are_answered_and_the_next_request_still_works() {
    let mut client = WorkspaceBuilder::new().start().await;
    client.send_raw(&encode("{this is not json")).await;
    let parse_error = client
        .await_message(|m| m["error"]["code"] == -32700)
        .await
        .expect("parse error reply");
    assert_eq!(parse_error["id"], Value::Null);

    client.send_raw(b"Content-Length: abc\r\n\r\n").await;
    client
        .await_message(|m| m["error"]["code"] == -32700)
        .await
        .expect("bad header reply");

    client
        .send_raw(&encode(
            r#"{"jsonrpc":"2.0","id":99,"neither":"request nor response"}"#,
        ))
        .await;
    let invalid = client
        .await_message(|m| m["error"]["code"] == -32600)
        .await
        .expect("invalid request reply");
    assert_eq!(invalid["id"], 99);

    let result = client
        .request("planai/debug/state", json!({"uri": "file:///nowhere.py"}))
        .await;
    assert_eq!(result["document"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_client_requests_never_block_handlers() {
    let mut client = WorkspaceBuilder::new().start().await;
    client
        .silent
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // Each empty didChangeConfiguration makes the server pull workspace/configuration, which
    // this client never answers. More than the concurrency limit, to prove nothing jams.
    for _ in 0..40 {
        client
            .notify(
                "workspace/didChangeConfiguration",
                json!({"settings": null}),
            )
            .await;
    }
    let uri = client.open("still_alive.py", "def f(:\n", 1).await;
    assert!(!client.await_diagnostics(&uri, 1).await.is_empty());
    let state = client
        .request("planai/debug/state", json!({"uri": uri}))
        .await;
    assert_eq!(state["document"]["version"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_documents_are_handled() {
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start()
        .await;
    let empty = client.open("empty.py", "", 1).await;
    assert!(client.await_diagnostics(&empty, 1).await.is_empty());

    let bom = client.open("bom.py", "\u{feff}", 1).await;
    client.await_diagnostics(&bom, 1).await;

    let nul = client.open("nul.py", "x = 1\0\0\ny = \0", 1).await;
    client.await_diagnostics(&nul, 1).await;

    let mut big = String::with_capacity(5 * 1024 * 1024 + 100);
    while big.len() < 5 * 1024 * 1024 {
        big.push_str("value_0123456789 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]\n");
    }
    let huge = client.open("huge.py", &big, 1).await;
    assert!(client.await_diagnostics(&huge, 1).await.is_empty());
    client
        .change(
            &huge,
            2,
            json!([{"range": range(3, 0, 3, 5), "text": "renamed"}]),
        )
        .await;
    client.await_diagnostics(&huge, 2).await;

    // Out-of-range positions are clamped, not rejected.
    let small = client.open("small.py", "a = 1\n", 1).await;
    client
        .change(
            &small,
            2,
            json!([{"range": range(99, 99, 120, 0), "text": "b = 2\n"}]),
        )
        .await;
    client
        .change(
            &small,
            3,
            json!([{"range": range(0, 500, 0, 900), "text": "  # tail"}]),
        )
        .await;
    assert_eq!(
        client.server_document(&small).await["text"],
        "a = 1  # tail\nb = 2\n"
    );
    client.await_diagnostics(&small, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_changes_are_accepted() {
    let mut client = WorkspaceBuilder::new().start().await;
    let uri = client.open("full.py", "x = (", 1).await;
    assert!(!client.await_diagnostics(&uri, 1).await.is_empty());
    client.change(&uri, 2, json!([{"text": "x = 1\n"}])).await;
    assert!(client.await_diagnostics(&uri, 2).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_document_clears_its_diagnostics() {
    let mut client = WorkspaceBuilder::new().start().await;
    let uri = client.open("closing.py", "def (:\n", 1).await;
    assert!(!client.await_diagnostics(&uri, 1).await.is_empty());
    client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let uri_clone = uri.clone();
    let cleared = client
        .await_notification("textDocument/publishDiagnostics", move |p| {
            p["uri"] == uri_clone.as_str()
                && p["diagnostics"].as_array().is_some_and(|d| d.is_empty())
        })
        .await;
    assert_eq!(cleared["version"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_and_exit_end_the_session() {
    let client = WorkspaceBuilder::new().start().await;
    // Panics unless the session task ends within the harness's timeout.
    let (code, _) = client.shutdown_and_exit().await;
    assert_eq!(code, 0, "shutdown came before exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_graph_renders_the_edges_a_file_builds() {
    let source = "from typing import List, Type\nfrom planai import Graph, Task, TaskWorker\n\n\nclass Page(Task):\n    url: str\n\n\nclass Summary(Task):\n    text: str\n\n\nclass Fetcher(TaskWorker):\n    output_types: List[Type[Task]] = [Page]\n\n    def consume_work(self, task: Page):\n        self.publish_work(Page(url=task.url), input_task=task)\n\n\nclass Summarizer(TaskWorker):\n    output_types: List[Type[Task]] = [Summary]\n\n    def consume_work(self, task: Page):\n        self.publish_work(Summary(text=task.url), input_task=task)\n\n\ndef main():\n    graph = Graph(name=\"demo\")\n    fetcher = Fetcher()\n    summarizer = Summarizer()\n    graph.add_workers(fetcher, summarizer)\n    graph.set_dependency(fetcher, summarizer)\n    graph.set_sink(summarizer, Summary)\n";
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start()
        .await;
    let uri = client.open("flow.py", source, 1).await;
    client.await_diagnostics(&uri, 1).await;
    let graph = client
        .request(
            "workspace/executeCommand",
            json!({"command": "planai.showGraph", "arguments": [uri]}),
        )
        .await;
    let mermaid = graph["mermaid"].as_str().unwrap();
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    assert!(mermaid.contains("-->|Page| main_Summarizer"), "{mermaid}");
    assert!(mermaid.contains("sink: Summary"), "{mermaid}");
    assert_eq!(graph["edges"][0]["upstream"], "Fetcher");
    assert_eq!(graph["edges"][0]["range"]["start"]["line"], 31);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_name_completion_answers_without_python_in_an_untrusted_workspace() {
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .initialization_options(json!({"untrustedWorkspace": true}))
        .start()
        .await;
    assert!(client.initialize_result["capabilities"]["completionProvider"].is_object());
    let source = "from planai import llm_from_config\n\nllm = llm_from_config(provider=\"openai\", model_name=\"gp\")\nx = 1\n";
    let uri = client.open("llm.py", source, 1).await;
    client.await_diagnostics(&uri, 1).await;
    let inside = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 55}}),
        )
        .await;
    assert_eq!(
        inside,
        json!([]),
        "no Python may run, so no models: {inside}"
    );
    let elsewhere = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 3, "character": 5}}),
        )
        .await;
    assert_eq!(elsewhere, Value::Null);
}

/// Typing inside one definition takes the statement-level path; what is published must be
/// what a full analysis of that text gives: diagnostics after the edit move with it, and a
/// mistake typed into the definition appears at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystrokes_inside_a_definition_keep_every_diagnostic_in_place() {
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start()
        .await;
    let text = "from typing import List, Type\nfrom planai import Task, TaskWorker\n\n\nclass A(Task):\n    x: int = 0\n\n\ndef helper(value):\n    return value\n\n\nclass W(TaskWorker):\n    output_types = [A]\n\n    def consume_work(self, task: A):\n        pass\n";
    let uri = client.open("typing_inside.py", text, 1).await;
    let before = client.await_diagnostics(&uri, 1).await;
    assert_eq!(static_codes(&before), vec!["CD1"], "{before:?}");
    assert_eq!(line_of(&before, "CD1"), 13);

    // A new line inside `helper` moves W's diagnostic down by one line.
    let moved = client
        .edit(&uri, 2, range(9, 16, 9, 16), "\n    value = value + 1")
        .await;
    assert_eq!(static_codes(&moved), vec!["CD1"], "{moved:?}");
    assert_eq!(line_of(&moved, "CD1"), 14);

    // Typing a syntax error inside `helper` reports it; removing it again restores the rest.
    let broken = client.edit(&uri, 3, range(9, 16, 9, 16), "(").await;
    assert!(
        static_codes(&broken).contains(&"syntax".to_string()),
        "{broken:?}"
    );
    let repaired = client.edit(&uri, 4, range(9, 16, 9, 17), "").await;
    assert_eq!(static_codes(&repaired), vec!["CD1"], "{repaired:?}");
    assert_eq!(line_of(&repaired, "CD1"), 14);
}

/// Polls the server's state until `uri` holds a syntax tree (the whole tree parsed after an
/// open in parts); fails after 20 s.
async fn await_whole_tree(client: &mut TestClient, uri: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while client.server_document(uri).await["hasTree"] != true {
        assert!(
            std::time::Instant::now() < deadline,
            "the whole tree never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A large module is parsed in two parts side by side when it is opened (its diagnostics
/// come sooner); the whole tree, the base of later incremental parses, follows in the
/// background. Until then and after, every edit gives the diagnostics a fresh open gives, and
/// the retention rules are the same: opening another large module takes the tree's place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_module_parsed_in_parts_gets_its_whole_tree_after_its_diagnostics() {
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start()
        .await;
    let mut text = planai_lsp::testing::generate_wired_module(160);
    assert!(text.len() >= planai_lsp::syntax::PARSE_IN_PARTS_MIN_BYTES);
    text.push_str("\nif True:\n    pass\n");
    let if_line = text.lines().count() as u32 - 2;
    let uri = client.open("parts.py", &text, 1).await;
    let opened = client.await_diagnostics(&uri, 1).await;
    assert_eq!(static_codes(&opened), Vec::<String>::new(), "{opened:?}");
    await_whole_tree(&mut client, &uri).await;

    // A module-level syntax error and its repair take the full path from that tree.
    let broken = client
        .edit(&uri, 2, range(if_line, 7, if_line, 8), "")
        .await;
    assert_eq!(static_codes(&broken), vec!["syntax"], "{broken:?}");
    assert_eq!(line_of(&broken, "syntax"), i64::from(if_line));
    let repaired = client
        .edit(&uri, 3, range(if_line, 7, if_line, 7), ":")
        .await;
    assert_eq!(
        static_codes(&repaired),
        Vec::<String>::new(),
        "{repaired:?}"
    );

    // Another large module opened: it takes the place of the last opened document, and the
    // edited one keeps its tree.
    let other = client.open("other.py", &text, 1).await;
    client.await_diagnostics(&other, 1).await;
    await_whole_tree(&mut client, &other).await;
    assert!(
        client.server_document(&uri).await["hasTree"] == true,
        "an edited document"
    );
}

/// Of the documents not edited yet, only the one opened last keeps its syntax tree, and only if
/// it is large (most open documents are never edited, a tree costs ~0.5 MB per 600 lines, and
/// small files parse from scratch in a few milliseconds). Another document's first
/// module-level edit parses from scratch, gives the same diagnostics as always, and from then
/// on the document keeps its tree for incremental reparses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_edited_documents_and_the_last_opened_keep_a_syntax_tree() {
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start()
        .await;
    let text = "from planai import Task, TaskWorker\n\n\nclass A(Task):\n    x: int = 0\n\n\nclass W(TaskWorker):\n    output_types = [A]\n\n    def consume_work(self, task: A):\n        pass\n\n\nif True:\n    pass\n";
    let uri = client.open("trees.py", text, 1).await;
    let opened = client.await_diagnostics(&uri, 1).await;
    assert_eq!(static_codes(&opened), vec!["CD1"], "{opened:?}");
    assert_eq!(
        client.server_document(&uri).await["hasTree"],
        false,
        "a small file"
    );
    let large_text = planai_lsp::testing::generate_planai_module(2_000);
    let large = client.open("large.py", &large_text, 1).await;
    client.await_diagnostics(&large, 1).await;
    assert_eq!(client.server_document(&large).await["hasTree"], true);
    let later = client.open("later.py", &large_text, 1).await;
    client.await_diagnostics(&later, 1).await;
    assert_eq!(client.server_document(&later).await["hasTree"], true);
    assert_eq!(client.server_document(&large).await["hasTree"], false);

    // Removing the `:` of the module-level `if` takes the full path: a syntax error.
    let broken = client.edit(&uri, 2, range(14, 7, 14, 8), "").await;
    assert_eq!(static_codes(&broken), vec!["syntax", "CD1"], "{broken:?}");
    assert_eq!(line_of(&broken, "syntax"), 14);
    assert_eq!(client.server_document(&uri).await["hasTree"], true);
    assert_eq!(
        client.server_document(&later).await["hasTree"],
        true,
        "an edit elsewhere does not take the last opened document's tree"
    );

    // Restoring it reparses incrementally from the kept tree.
    let repaired = client.edit(&uri, 3, range(14, 7, 14, 7), ":").await;
    assert_eq!(static_codes(&repaired), vec!["CD1"], "{repaired:?}");
    assert_eq!(client.server_document(&uri).await["text"], text);
}

/// Each diagnostic links to its code's section of docs/diagnostics.md (`codeDescription`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_link_to_their_section_of_the_docs() {
    let source = "from typing import List, Type\nfrom planai import Graph, Task, TaskWorker\n\n\nclass Page(Task):\n    url: str\n\n\nclass Summary(Task):\n    text: str\n\n\nclass Fetcher(TaskWorker):\n    output_types: List[Type[Task]] = [Page]\n\n    def consume_work(self, task: Page):\n        pass\n\n\nclass Summarizer(TaskWorker):\n    output_types: List[Type[Task]] = [Summary]\n\n    def consume_work(self, task: Summary):\n        pass\n\n\ndef main():\n    graph = Graph(name=\"demo\")\n    fetcher = Fetcher()\n    summarizer = Summarizer()\n    graph.add_workers(fetcher, summarizer)\n    graph.set_dependency(fetcher, summarizer)\n";
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .start()
        .await;
    let uri = client.open("flow.py", source, 1).await;
    let diagnostics = client.await_diagnostics(&uri, 1).await;
    assert_eq!(static_codes(&diagnostics), vec!["GC7"], "{diagnostics:?}");
    let gc7 = diagnostics.iter().find(|d| d["code"] == "GC7").unwrap();
    let href = gc7["codeDescription"]["href"].as_str().expect("a link");
    match planai_lsp::diagnostics::DOCS_URL {
        Some(base) => assert_eq!(href, format!("{base}#gc7")),
        None => {
            // The embedded reference, written to the cache: the very text this build has,
            // with the section's anchor.
            let (file, anchor) = href.split_once('#').expect("an anchor");
            assert_eq!(anchor, "gc7");
            let uri: tower_lsp_server::ls_types::Uri = file.parse().unwrap();
            let path = uri.to_file_path().expect("a file: URL");
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text, planai_lsp::diagnostics::DOCS_MARKDOWN);
            assert!(text.contains("<a id=\"gc7\"></a>"));
        }
    }
}

/// `planai.docsUrl` points the links elsewhere, and an empty one turns them off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_url_setting_moves_or_removes_the_links() {
    let source = "from planai import Graph, Task, TaskWorker\n\n\nclass Page(Task):\n    url: str\n\n\nclass Fetcher(TaskWorker):\n    def consume_work(self, task: Page):\n        pass\n\n\ndef main():\n    graph = Graph(name=\"demo\")\n    graph.set_dependency(Fetcher(), Fetcher())\n";
    let mut client = WorkspaceBuilder::new()
        .capabilities(neovim_capabilities())
        .initialization_options(json!({"planai": {"docsUrl": "https://docs.example/diagnostics"}}))
        .start()
        .await;
    let uri = client.open("flow.py", source, 1).await;
    let diagnostics = client.await_diagnostics(&uri, 1).await;
    let first = diagnostics.first().expect("a diagnostic");
    let code = first["code"].as_str().unwrap().to_ascii_lowercase();
    assert_eq!(
        first["codeDescription"]["href"],
        format!("https://docs.example/diagnostics#{code}"),
        "{first}"
    );
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"planai": {"docsUrl": ""}}}),
        )
        .await;
    let diagnostics = client
        .edit(
            &uri,
            2,
            json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}),
            "\n",
        )
        .await;
    assert!(!diagnostics.is_empty());
    assert!(
        diagnostics
            .iter()
            .all(|d| d.get("codeDescription").is_none()),
        "{diagnostics:?}"
    );
}

/// Codes of the diagnostics computed in Rust (venv and environment notices arrive on their own
/// schedule).
fn static_codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .filter(|d| d["source"] == "planai" || d["source"] == "planai-syntax")
        .map(|d| d["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn line_of(diagnostics: &[Value], code: &str) -> i64 {
    diagnostics
        .iter()
        .find(|d| d["code"] == code)
        .and_then(|d| d["range"]["start"]["line"].as_i64())
        .unwrap_or(-1)
}

const APP_USING_WORKERS_MOD: &str = "from planai import Graph\nfrom workers_mod import Consumer, Producer\n\n\ndef build():\n    graph = Graph(name=\"g\")\n    producer = Producer()\n    consumer = Consumer()\n    graph.add_workers(producer, consumer)\n    graph.set_dependency(producer, consumer)\n    return graph\n";

const WORKERS_MOD: &str = "from typing import List, Type\n\nfrom planai import Task, TaskWorker\n\n\nclass A(Task):\n    x: str\n\n\nclass B(Task):\n    x: str\n\n\nclass Producer(TaskWorker):\n    output_types: List[Type[Task]] = [A]\n\n    def consume_work(self, task: B):\n        self.publish_work(A(x=task.x), input_task=task)\n\n\nclass Consumer(TaskWorker):\n    output_types: List[Type[Task]] = [B]\n\n    def consume_work(self, task: B):\n        self.publish_work(B(x=task.x), input_task=task)\n";

/// A module that reaches the index after an open document was checked (created on disk later,
/// or indexed after the document's first check) changes that document's results: the document
/// is checked again and sees it, whatever its cached facts say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_that_appears_on_disk_after_the_first_check_is_seen_by_open_documents() {
    let mut client = WorkspaceBuilder::new().start().await;
    let uri = client.open("app.py", APP_USING_WORKERS_MOD, 1).await;
    let first = client.await_diagnostics(&uri, 1).await;
    assert!(!codes(&first).contains(&"GC7".to_string()), "{first:?}");

    std::fs::write(client.path("workers_mod.py"), WORKERS_MOD).unwrap();
    let created = client.uri("workers_mod.py");
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": created, "type": 1}]}),
        )
        .await;
    let watched = uri.clone();
    let published = client
        .await_notification_within(
            "textDocument/publishDiagnostics",
            std::time::Duration::from_secs(30),
            move |p| {
                p["uri"] == watched.as_str()
                    && p["diagnostics"]
                        .as_array()
                        .is_some_and(|d| d.iter().any(|d| d["code"] == "GC7"))
            },
        )
        .await;
    assert!(
        published.is_some(),
        "app.py was not checked again with workers_mod.py"
    );
}
