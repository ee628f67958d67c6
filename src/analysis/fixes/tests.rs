//! Each fix is checked the way a user meets it: the diagnostic is there, the fix's edits are
//! applied to the text, the file is checked again, and the diagnostic is gone (with no new
//! error in its place).

use super::*;
use std::sync::Arc;

const HEADER: &str = "from typing import List, Type\n\nfrom planai import Graph, LLMTaskWorker, Task, TaskWorker, JoinedTaskWorker, InitialTaskWorker\n\n\n";

fn host_with(files: &[(&str, &str)]) -> AnalysisHost {
    let mut host = AnalysisHost::new();
    host.set_roots(vec![PathBuf::from("/ws")]);
    for (path, text) in files {
        host.set_file(PathBuf::from(*path), Arc::from(*text), None);
    }
    host
}

fn codes(host: &AnalysisHost, path: &str) -> Vec<String> {
    host.file_diagnostics(Path::new(path))
        .iter()
        .map(|d| d.code.to_string())
        .collect()
}

/// Applies `edits` (non-overlapping) to the host's texts.
fn apply(host: &mut AnalysisHost, edits: &[FileEdit]) {
    let mut paths: Vec<&PathBuf> = edits.iter().map(|e| &e.path).collect();
    paths.sort();
    paths.dedup();
    for path in paths {
        let mut text = host.file_text(path).unwrap().to_string();
        let mut mine: Vec<&FileEdit> = edits.iter().filter(|e| &e.path == path).collect();
        // Back to front, so earlier offsets stay valid (fixes merge inserts at one offset).
        mine.sort_by_key(|e| std::cmp::Reverse((e.range.start(), e.range.end())));
        for e in mine {
            text.replace_range(e.range.start()..e.range.end(), &e.new_text);
        }
        host.set_file(path.clone(), Arc::from(text.as_str()), None);
    }
}

/// The fixes offered on the first `code` diagnostic of `path`.
fn fixes_for(host: &AnalysisHost, path: &str, code: Code) -> Vec<Fix> {
    let d = host
        .file_diagnostics(Path::new(path))
        .into_iter()
        .find(|d| d.code == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(host, path)));
    fixes(host, Path::new(path), d.range)
        .into_iter()
        .filter(|f| f.diagnostic.as_ref().is_some_and(|fd| fd.code == code))
        .collect()
}

/// Applies the fix titled `title` for `code` and asserts the code is gone and nothing new
/// appeared; returns the new text.
fn assert_fixed(files: &[(&str, &str)], path: &str, code: Code, title: &str) -> String {
    let mut host = host_with(files);
    let before = codes(&host, path);
    let offered = fixes_for(&host, path, code);
    let fix = offered
        .iter()
        .find(|f| f.title == title)
        .unwrap_or_else(|| {
            panic!(
                "no fix {title:?}; offered: {:?}",
                offered.iter().map(|f| &f.title).collect::<Vec<_>>()
            )
        });
    apply(&mut host, &fix.edits);
    let after = codes(&host, path);
    let text = host.file_text(Path::new(path)).unwrap().to_string();
    assert!(
        !after.contains(&code.to_string()),
        "{code} still there: {after:?}\n{text}"
    );
    for c in &after {
        assert!(
            before.contains(c),
            "the fix introduced {c}: {after:?}\n{text}"
        );
    }
    assert!(
        crate::syntax::parse(&text).is_some_and(|t| !t.root_node().has_error()),
        "{text}"
    );
    text
}

#[test]
fn rt1_adds_the_published_type_to_output_types() {
    let source = format!(
        "{HEADER}class Order(Task):\n    order_id: str\n\n\nclass Approved(Task):\n    order_id: str\n\n\nclass Rejected(Task):\n    order_id: str\n\n\nclass Approver(TaskWorker):\n    output_types: List[Type[Task]] = [Approved]\n\n    def consume_work(self, task: Order):\n        self.publish_work(Rejected(order_id=task.order_id), input_task=task)\n"
    );
    let text = assert_fixed(
        &[("/ws/main.py", &source)],
        "/ws/main.py",
        Code::Rt1,
        "Add Rejected to Approver's output_types",
    );
    assert!(
        text.contains("output_types: List[Type[Task]] = [Approved, Rejected]"),
        "{text}"
    );
}

#[test]
fn rt8_adds_the_llm_output_type_to_output_types() {
    let source = format!(
        "{HEADER}class Article(Task):\n    text: str\n\n\nclass TagSet(Task):\n    tags: List[str]\n\n\nclass RawTags(Task):\n    tags: List[str]\n\n\nclass Tagger(LLMTaskWorker):\n    output_types: List[Type[Task]] = [TagSet]\n    llm_input_type: Type[Task] = Article\n    llm_output_type: Type[Task] = RawTags\n    prompt: str = \"Tag it\"\n"
    );
    assert_fixed(
        &[("/ws/main.py", &source)],
        "/ws/main.py",
        Code::Rt8,
        "Add RawTags to Tagger's output_types",
    );
}

#[test]
fn gc11_adds_the_sunk_type_to_the_declaring_class_in_another_module() {
    let tasks = format!(
        "{HEADER}class Page(Task):\n    url: str\n\n\nclass Summary(Task):\n    text: str\n"
    );
    let workers = "from typing import List, Type\n\nfrom planai import Task, TaskWorker\n\nfrom app.tasks import Page\n\n\nclass Fetcher(TaskWorker):\n    output_types: List[Type[Task]] = [Page]\n\n    def consume_work(self, task: Page):\n        self.publish_work(Page(url=task.url), input_task=task)\n";
    let main = "from planai import Graph\n\nfrom app.tasks import Summary\nfrom app.workers import Fetcher\n\n\ndef main():\n    graph = Graph(name=\"g\")\n    fetcher = Fetcher()\n    graph.add_workers(fetcher)\n    graph.set_sink(fetcher, Summary)\n";
    let mut host = host_with(&[
        ("/ws/app/__init__.py", ""),
        ("/ws/app/tasks.py", &tasks),
        ("/ws/app/workers.py", workers),
        ("/ws/app/main.py", main),
    ]);
    let fix = fixes_for(&host, "/ws/app/main.py", Code::Gc11)
        .into_iter()
        .find(|f| f.title == "Add Summary to Fetcher's output_types")
        .expect("the fix");
    apply(&mut host, &fix.edits);
    assert!(!codes(&host, "/ws/app/main.py").contains(&Code::Gc11.as_str().to_string()));
    let fixed = host.file_text(Path::new("/ws/app/workers.py")).unwrap();
    assert!(
        fixed.contains("from app.tasks import Page\nfrom app.tasks import Summary\n"),
        "{fixed}"
    );
    assert!(fixed.contains("= [Page, Summary]"), "{fixed}");
    assert!(
        codes(&host, "/ws/app/workers.py").is_empty(),
        "{:?}",
        codes(&host, "/ws/app/workers.py")
    );
}

#[test]
fn cd1_annotates_the_overridden_field_and_imports_what_the_annotation_names() {
    let source = "from planai import LLMTaskWorker, Task, TaskWorker\n\n\nclass Summary(Task):\n    text: str\n\n\nclass Summarizer(TaskWorker):\n    output_types = [Summary]\n\n    def consume_work(self, task: Summary):\n        pass\n";
    let text = assert_fixed(
        &[("/ws/main.py", source)],
        "/ws/main.py",
        Code::Cd1,
        "Annotate output_types as List[Type[Task]]",
    );
    assert!(text.contains("from typing import List, Type\n"), "{text}");
    assert!(
        text.contains("output_types: List[Type[Task]] = [Summary]"),
        "{text}"
    );
}

const EDGE_TASKS: &str = "class Recipe(Task):\n    name: str\n\n\nclass Dish(Task):\n    name: str\n\n\nclass Source(TaskWorker):\n    output_types: List[Type[Task]] = [Recipe]\n\n    def consume_work(self, task: Recipe):\n        self.publish_work(Recipe(name=task.name), input_task=task)\n\n\n";

#[test]
fn gc5_renames_the_consume_work_parameter_to_task_with_its_uses() {
    let source = format!(
        "{HEADER}{EDGE_TASKS}class Maker(TaskWorker):\n    output_types: List[Type[Task]] = [Dish]\n\n    def consume_work(self, recipe: Recipe):\n        name = recipe.name\n        self.publish_work(Dish(name=recipe.name), input_task=recipe)\n\n\ndef main():\n    graph = Graph(name=\"g\")\n    source = Source()\n    maker = Maker()\n    graph.add_workers(source, maker)\n    graph.set_dependency(source, maker)\n    graph.set_sink(maker, Dish)\n"
    );
    let text = assert_fixed(
        &[("/ws/main.py", &source)],
        "/ws/main.py",
        Code::Gc5,
        "Rename parameter recipe to task",
    );
    assert!(text.contains("def consume_work(self, task: Recipe):\n        name = task.name\n        self.publish_work(Dish(name=task.name), input_task=task)"), "{text}");
}

#[test]
fn gc5_annotates_consume_work_with_a_type_the_upstream_produces_from_another_module() {
    let tasks = format!("{HEADER}class Recipe(Task):\n    name: str\n");
    let workers = "from typing import List, Type\n\nfrom planai import Task, TaskWorker\n\nfrom app.tasks import Recipe\n\n\nclass Source(TaskWorker):\n    output_types: List[Type[Task]] = [Recipe]\n\n    def consume_work(self, task: Recipe):\n        self.publish_work(Recipe(name=task.name), input_task=task)\n\n\nclass Maker(TaskWorker):\n    def consume_work(self, task):\n        pass\n";
    let main = "from planai import Graph\n\nfrom app.workers import Maker, Source\n\n\ndef main():\n    graph = Graph(name=\"g\")\n    source = Source()\n    maker = Maker()\n    graph.add_workers(source, maker)\n    graph.set_dependency(source, maker)\n";
    let mut host = host_with(&[
        ("/ws/app/__init__.py", ""),
        ("/ws/app/tasks.py", &tasks),
        ("/ws/app/workers.py", workers),
        ("/ws/app/main.py", main),
    ]);
    let fix = fixes_for(&host, "/ws/app/main.py", Code::Gc5)
        .into_iter()
        .find(|f| f.title == "Annotate task as Recipe")
        .expect("an annotation fix");
    assert!(fix
        .edits
        .iter()
        .all(|e| e.path == Path::new("/ws/app/workers.py")));
    apply(&mut host, &fix.edits);
    assert!(!codes(&host, "/ws/app/main.py").contains(&Code::Gc5.as_str().to_string()));
    assert!(host
        .file_text(Path::new("/ws/app/workers.py"))
        .unwrap()
        .contains("def consume_work(self, task: Recipe):\n        pass"));
}

#[test]
fn gc6_wraps_the_joined_parameter_in_list() {
    let source = format!(
        "{HEADER}class Fact(Task):\n    text: str\n\n\nclass Summary(Task):\n    text: str\n\n\nclass Finder(TaskWorker):\n    output_types: List[Type[Task]] = [Fact]\n\n    def consume_work(self, task: Fact):\n        self.publish_work(Fact(text=task.text), input_task=task)\n\n\nclass Joiner(JoinedTaskWorker):\n    output_types: List[Type[Task]] = [Summary]\n    join_type: Type[TaskWorker] = InitialTaskWorker\n\n    def consume_work_joined(self, tasks: Fact):\n        pass\n\n\ndef main():\n    graph = Graph(name=\"g\")\n    finder = Finder()\n    joiner = Joiner()\n    graph.add_workers(finder, joiner)\n    graph.set_dependency(finder, joiner)\n    graph.set_sink(joiner, Summary)\n"
    );
    let text = assert_fixed(
        &[("/ws/main.py", &source)],
        "/ws/main.py",
        Code::Gc6,
        "Change the annotation to List[Fact]",
    );
    assert!(text.contains("tasks: List[Fact]"), "{text}");
}

#[test]
fn in5_sets_llm_output_type_to_an_output_type() {
    let source = format!(
        "{HEADER}class Email(Task):\n    text: str\n\n\nclass Spam(Task):\n    text: str\n\n\nclass Ham(Task):\n    text: str\n\n\nclass SpamFilter(LLMTaskWorker):\n    output_types: List[Type[Task]] = [Spam, Ham]\n    llm_input_type: Type[Task] = Email\n    prompt: str = \"Decide whether the email is spam.\"\n\n\nspam_filter = SpamFilter(llm=None)\n"
    );
    let text = assert_fixed(
        &[("/ws/main.py", &source)],
        "/ws/main.py",
        Code::In5,
        "Set SpamFilter.llm_output_type to Spam",
    );
    assert!(text.contains("    output_types: List[Type[Task]] = [Spam, Ham]\n    llm_output_type: Type[Task] = Spam\n"), "{text}");
}

#[test]
fn in9_renames_the_keyword_to_the_field_meant() {
    let source = format!(
        "{HEADER}class Question(Task):\n    text: str\n    topic: str = \"general\"\n\n\nquestion = Question(text=\"why?\", topc=\"physics\")\n"
    );
    let text = assert_fixed(
        &[("/ws/main.py", &source)],
        "/ws/main.py",
        Code::In9,
        "Change `topc` to `topic`",
    );
    assert!(
        text.contains("Question(text=\"why?\", topic=\"physics\")"),
        "{text}"
    );
}

#[test]
fn in9_without_a_likely_field_offers_no_rename() {
    let source =
        format!("{HEADER}class Question(Task):\n    text: str\n\n\nquestion = Question(text=\"why?\", priority=3)\n");
    let host = host_with(&[("/ws/main.py", &source)]);
    assert_eq!(codes(&host, "/ws/main.py"), [Code::In9.to_string()]);
    assert!(fixes_for(&host, "/ws/main.py", Code::In9).is_empty());
}

const RT3_SOURCE: &str = "class Upload(Task):\n    filename: str\n\n\nclass Virus(Task):\n    filename: str\n\n\nclass Clean(Task):\n    filename: str\n\n\nclass Scanner(TaskWorker):\n    output_types: List[Type[Task]] = [Virus, Clean]\n\n    def consume_work(self, task: Upload):\n        self.publish_work(Clean(filename=task.filename), input_task=task)\n\n\ndef main():\n    graph = Graph(name=\"scan\")\n    scanner = Scanner()\n    graph.add_workers(\n        scanner,\n    )\n    graph.set_sink(scanner, Virus)\n    graph.run(initial_tasks=[(scanner, Upload(filename=\"a\"))])\n";

#[test]
fn rt3_collects_the_type_with_a_sink() {
    let source = format!("{HEADER}{RT3_SOURCE}");
    let text = assert_fixed(
        &[("/ws/main.py", &source)],
        "/ws/main.py",
        Code::Rt3,
        "Collect Clean with graph.set_sink(scanner, Clean)",
    );
    assert!(text.contains("    graph.set_sink(scanner, Virus)\n    graph.set_sink(scanner, Clean)\n    graph.run("), "{text}");
}

#[test]
fn rt3_creates_a_worker_consuming_the_type_and_wires_it() {
    let source = format!("{HEADER}{RT3_SOURCE}");
    let text = assert_fixed(
        &[("/ws/main.py", &source)],
        "/ws/main.py",
        Code::Rt3,
        "Create a worker CleanConsumer consuming Clean after scanner",
    );
    assert!(
        text.contains("class CleanConsumer(TaskWorker):\n    def consume_work(self, task: Clean):"),
        "{text}"
    );
    assert!(text.contains("    clean_consumer = CleanConsumer()\n    graph.add_workers(clean_consumer)\n    graph.set_dependency(scanner, clean_consumer)\n    graph.run("), "{text}");
}

#[test]
fn a_task_class_of_another_module_is_imported_at_the_cursor() {
    let tasks = format!("{HEADER}class Recipe(Task):\n    name: str\n");
    let main = "from planai import Graph\n\nrecipe = Recipe(name=\"soup\")\n";
    let mut host = host_with(&[
        ("/ws/app/__init__.py", ""),
        ("/ws/app/tasks.py", &tasks),
        ("/ws/app/main.py", main),
    ]);
    let path = Path::new("/ws/app/main.py");
    assert!(host.resolve_class_name(path, "Recipe").is_none());
    let at = main.find("Recipe(").unwrap() + 2;
    let offered = fixes(&host, path, TextRange::new(at, at));
    let fix = offered
        .iter()
        .find(|f| f.title == "Import Recipe from app.tasks")
        .unwrap_or_else(|| panic!("{:?}", offered.iter().map(|f| &f.title).collect::<Vec<_>>()));
    apply(&mut host, &fix.edits.clone());
    let location = host
        .resolve_class_name(path, "Recipe")
        .expect("resolves now");
    assert_eq!(
        location.path.as_deref(),
        Some(Path::new("/ws/app/tasks.py"))
    );
    assert!(host
        .file_text(path)
        .unwrap()
        .starts_with("from planai import Graph\nfrom app.tasks import Recipe\n"));
}

#[test]
fn a_name_after_non_ascii_text_is_found_at_the_cursor() {
    let tasks = format!("{HEADER}class Recipe(Task):\n    name: str\n");
    let main = "note = \"→\"\nx = [\"→\",Recipe]\n";
    let host = host_with(&[
        ("/ws/app/__init__.py", ""),
        ("/ws/app/tasks.py", &tasks),
        ("/ws/app/main.py", main),
    ]);
    let path = Path::new("/ws/app/main.py");
    for at in 0..=main.len() {
        if main.is_char_boundary(at) {
            fixes(&host, path, TextRange::new(at, at));
        }
    }
    let at = main.find("Recipe").unwrap();
    let titles: Vec<String> = fixes(&host, path, TextRange::new(at, at))
        .into_iter()
        .map(|f| f.title)
        .collect();
    assert_eq!(titles, ["Import Recipe from app.tasks"]);
}

#[test]
fn no_fix_is_offered_where_there_is_nothing_to_fix() {
    let source = format!("{HEADER}class Recipe(Task):\n    name: str\n");
    let host = host_with(&[("/ws/main.py", &source)]);
    let everywhere = TextRange::new(0, source.len());
    assert!(fixes(&host, Path::new("/ws/main.py"), everywhere).is_empty());
}

#[test]
fn statement_end_follows_brackets_strings_and_continuations() {
    let text = "a = f(\n  ')',\n  \"\"\"x\n)\"\"\"\n)\nb = 1 + \\\n  2\nc = 3\n";
    assert_eq!(&text[statement_end(text, 0)..], "b = 1 + \\\n  2\nc = 3\n");
    let b = text.find("b =").unwrap();
    assert_eq!(&text[statement_end(text, b)..], "c = 3\n");
}
