//! Whether a file uses PlanAI, which decides whether it is worth validating in the user's
//! Python environment (and starting the helper for): a fact of the analysis, read from the
//! summaries and the import graph, never from the text (a comment or a string that mentions
//! planai does not count).
//!
//! A file uses PlanAI when it imports planai (any form, at module level or in a function), when
//! it defines a Task or worker subclass (through whatever chain of workspace modules its bases
//! come from), or when it imports a workspace module that uses PlanAI in one of those ways,
//! directly or through further workspace imports.

use std::path::Path;
use std::sync::Arc;

use super::resolve::{ClassRef, Ctx, ModuleTarget};
use super::summary::{walk_stmts, FileSummary, ImportBinding, Stmt};
use super::{AnalysisHost, FxSet};

/// Whether the file at `path` uses PlanAI (see the module comment). `false` for a file the host
/// has no summary of.
pub fn uses_planai(host: &AnalysisHost, path: &Path) -> bool {
    let Some(start) = host.files.get(path).map(|file| file.path.clone()) else {
        return false;
    };
    let mut ctx = Ctx::new(host);
    let mut seen: FxSet<Arc<Path>> = FxSet::default();
    let mut pending = vec![start];
    while let Some(file) = pending.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let Some(summary) = host.files.get(&*file).and_then(|f| f.summary.as_deref()) else {
            continue;
        };
        if defines_planai_classes(&mut ctx, &file, summary) {
            return true;
        }
        for (level, module) in &summary.star_imports {
            if *level == 0 && is_planai_module(module) {
                return true;
            }
            match ctx.resolve_module(&file, *level, module) {
                Some(ModuleTarget::File(imported)) => pending.push(imported),
                Some(ModuleTarget::Builtin(module)) if is_planai_module(&module) => return true,
                _ => {}
            }
        }
        for import in imports(summary) {
            if is_planai_import(import) {
                return true;
            }
            for target in import_targets(&ctx, &file, import) {
                match target {
                    ModuleTarget::File(imported) => pending.push(imported),
                    ModuleTarget::Builtin(module) if is_planai_module(&module) => return true,
                    ModuleTarget::Builtin(_) | ModuleTarget::External(_) => {}
                }
            }
        }
    }
    false
}

/// `import planai`, `import planai.x`, `from planai import y`, `from planai.x import y`.
pub(crate) fn is_planai_import(import: &ImportBinding) -> bool {
    import.level == 0 && is_planai_module(&import.module)
}

fn is_planai_module(module: &str) -> bool {
    module == "planai"
        || module
            .strip_prefix("planai")
            .is_some_and(|rest| rest.starts_with('.'))
}

/// A class of the file derives from PlanAI's `Task` or `TaskWorker`.
fn defines_planai_classes(ctx: &mut Ctx, file: &Arc<Path>, summary: &FileSummary) -> bool {
    (0..summary.classes.len()).any(|i| {
        let class = ClassRef::User(file.clone(), i);
        ctx.derives_from_builtin(&class, "TaskWorker") || ctx.derives_from_builtin(&class, "Task")
    })
}

/// Every import of the file: module level (also inside `if`/`try`) and inside functions and
/// methods.
fn imports(summary: &FileSummary) -> Vec<&ImportBinding> {
    let mut out: Vec<&ImportBinding> = summary.imports.iter().collect();
    let bodies = summary
        .functions
        .iter()
        .map(|function| &function.body)
        .chain(
            summary
                .classes
                .iter()
                .flat_map(|class| class.methods.iter().map(|m| &m.body)),
        );
    for body in bodies {
        walk_stmts(body, &mut |stmt| {
            if let Stmt::Import(bindings) = stmt {
                out.extend(bindings.iter());
            }
        });
    }
    out
}

/// The modules an import loads: the module itself and, for `from m import name`, `m.name` when
/// that is a module (`from . import tasks`).
fn import_targets(ctx: &Ctx, file: &Path, import: &ImportBinding) -> Vec<ModuleTarget> {
    let mut out = Vec::new();
    if !import.module.is_empty() {
        out.extend(ctx.resolve_module(file, import.level, &import.module));
    }
    if let Some(member) = &import.member {
        let submodule = if import.module.is_empty() {
            member.to_string()
        } else {
            format!("{}.{member}", import.module)
        };
        if let Some(target @ ModuleTarget::File(_)) =
            ctx.resolve_module(file, import.level, &submodule)
        {
            out.push(target);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn host(files: &[(&str, &str)]) -> AnalysisHost {
        let mut host = AnalysisHost::new();
        host.set_roots(vec![PathBuf::from("/w")]);
        for (path, text) in files {
            let tree = crate::syntax::parse(text).unwrap();
            host.set_file(PathBuf::from(path), Arc::from(*text), Some(&tree));
        }
        host
    }

    fn uses(files: &[(&str, &str)], path: &str) -> bool {
        uses_planai(&host(files), Path::new(path))
    }

    #[test]
    fn importing_planai_in_any_form_counts() {
        for text in [
            "import planai\n",
            "import planai.utils as u\n",
            "from planai import Task\n",
            "from planai.testing import MockLLM\n",
            "try:\n    from planai import Graph\nexcept ImportError:\n    Graph = None\n",
            "def build():\n    from planai import Graph\n    return Graph(name='g')\n",
            "class C:\n    def m(self):\n        import planai\n",
        ] {
            assert!(uses(&[("/w/m.py", text)], "/w/m.py"), "{text}");
        }
    }

    #[test]
    fn a_comment_or_a_string_mentioning_planai_does_not_count() {
        for text in [
            "# built for planai, one day\nimport os\n",
            "NAME = 'planai'\nDOC = \"\"\"from planai import Task\"\"\"\n",
            "import planaix\nfrom planai_tools import x\n",
            "",
        ] {
            assert!(!uses(&[("/w/m.py", text)], "/w/m.py"), "{text}");
        }
    }

    #[test]
    fn importing_a_workspace_module_that_uses_planai_counts() {
        let tasks = "from planai import Task\n\nclass MyTask(Task):\n    text: str\n";
        // `from .tasks import MyTask` where tasks.py imports planai.
        let relative = "from .tasks import MyTask\n\nq = MyTask(text='x')\n";
        assert!(uses(
            &[
                ("/w/pkg/__init__.py", ""),
                ("/w/pkg/tasks.py", tasks),
                ("/w/pkg/flow.py", relative)
            ],
            "/w/pkg/flow.py"
        ));
        // `from . import tasks`, and through a module that only re-exports.
        assert!(uses(
            &[
                ("/w/pkg/__init__.py", ""),
                ("/w/pkg/tasks.py", tasks),
                ("/w/pkg/flow.py", "from . import tasks\n")
            ],
            "/w/pkg/flow.py"
        ));
        assert!(uses(
            &[
                ("/w/tasks.py", tasks),
                ("/w/api.py", "from tasks import *\n"),
                ("/w/flow.py", "import api\n"),
            ],
            "/w/flow.py"
        ));
        // A workspace module that does not use planai, and a module outside the workspace.
        assert!(!uses(
            &[
                ("/w/util.py", "def f():\n    return 'planai'\n"),
                ("/w/flow.py", "import util\nimport requests\n")
            ],
            "/w/flow.py"
        ));
    }

    #[test]
    fn subclassing_a_planai_class_through_a_workspace_import_counts() {
        // base.py gets TaskWorker from planai; flow.py only sees base's class.
        let files = [
            (
                "/w/base.py",
                "from planai import TaskWorker as _W\n\nclass Base(_W):\n    pass\n",
            ),
            (
                "/w/flow.py",
                "from base import Base\n\nclass Mine(Base):\n    pass\n",
            ),
        ];
        assert!(uses(&files, "/w/flow.py"));
    }

    #[test]
    fn import_cycles_end() {
        let files = [
            ("/w/a.py", "import b\n"),
            ("/w/b.py", "import a\n"),
            ("/w/c.py", "import a\nfrom planai import Task\n"),
        ];
        assert!(!uses(&files, "/w/a.py"));
        assert!(uses(&files, "/w/c.py"));
    }
}
