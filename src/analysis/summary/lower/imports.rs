//! Lowering `import` and `from ... import` statements to import bindings.

use crate::syntax::fields::{Field, FieldChildren};
use tree_sitter::Node;

use super::*;

impl Builder<'_, '_> {
    pub(super) fn import_bindings(&mut self, n: Node) -> Vec<ImportBinding> {
        let mut out = Vec::new();
        if n.kind() == "import_statement" {
            for c in named_children(n) {
                match c.kind() {
                    "dotted_name" => {
                        let full = self.text(c);
                        let first = Name::from(full.split('.').next().unwrap_or(""));
                        out.push(ImportBinding {
                            local: first.clone(),
                            level: 0,
                            module: first,
                            member: None,
                            range: range_of(c),
                        });
                    }
                    "aliased_import" => {
                        if let (Some(nm), Some(al)) = (c.field(Field::Name), c.field(Field::Alias))
                        {
                            out.push(ImportBinding {
                                local: Name::from(self.text(al)),
                                level: 0,
                                module: Name::from(self.text(nm)),
                                member: None,
                                range: range_of(c),
                            });
                        }
                    }
                    _ => {}
                }
            }
            return out;
        }
        // from ... import ...
        let Some(module_node) = n.field(Field::ModuleName) else {
            return out;
        };
        let (level, module) = if module_node.kind() == "relative_import" {
            let mut level = 0;
            let mut module = Name::default();
            for c in named_children(module_node) {
                match c.kind() {
                    "import_prefix" => level = self.text(c).chars().filter(|c| *c == '.').count(),
                    "dotted_name" => module = Name::from(self.text(c)),
                    _ => {}
                }
            }
            (level as u32, module)
        } else {
            (0, Name::from(self.text(module_node)))
        };
        let mut c = n.walk();
        for child in n.fields(Field::Name, &mut c) {
            let (name, alias) = match child.kind() {
                "aliased_import" => (child.field(Field::Name), child.field(Field::Alias)),
                _ => (Some(child), None),
            };
            let Some(name) = name else { continue };
            let member = Name::from(self.text(name));
            let local = alias
                .map(|a| Name::from(self.text(a)))
                .unwrap_or_else(|| member.clone());
            out.push(ImportBinding {
                local,
                level,
                module: module.clone(),
                member: Some(member),
                range: range_of(child),
            });
        }
        if named_children(n)
            .iter()
            .any(|c| c.kind() == "wildcard_import")
        {
            self.summary.star_imports.push((level, module));
        }
        out
    }

    pub(super) fn import(&mut self, n: Node, module: bool, cond: bool) -> Vec<ImportBinding> {
        let bindings = self.import_bindings(n);
        if module {
            for b in &bindings {
                let idx = self.summary.imports.len();
                self.summary.imports.push(b.clone());
                self.bind(&b.local, BindingKind::Import(idx), n.start_byte(), cond);
            }
        }
        bindings
    }
}
