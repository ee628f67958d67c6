//! The tree-sitter-python fields we read, by id.
//!
//! `Node::child_by_field_name` looks the name up on every call, comparing it with the
//! grammar's field names one by one (`strncmp`): that was ~4% of opening a large module and
//! ~10% of a syntax-error edit's checks. The ids are looked up once per process instead.

use std::sync::LazyLock;
use tree_sitter::{Node, TreeCursor};

macro_rules! fields {
    ($($variant:ident = $name:literal,)*) => {
        /// A field of tree-sitter-python's grammar.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Field {
            $($variant,)*
        }

        impl Field {
            const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The field's name in the grammar.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }
        }
    };
}

fields! {
    Alias = "alias",
    Alternative = "alternative",
    Argument = "argument",
    Arguments = "arguments",
    Attribute = "attribute",
    Body = "body",
    Condition = "condition",
    Consequence = "consequence",
    Definition = "definition",
    Function = "function",
    Key = "key",
    Left = "left",
    ModuleName = "module_name",
    Name = "name",
    Object = "object",
    Operator = "operator",
    Parameters = "parameters",
    Right = "right",
    Subject = "subject",
    Subscript = "subscript",
    Superclasses = "superclasses",
    Type = "type",
    Value = "value",
}

/// The id of every [`Field`], in declaration order.
static IDS: LazyLock<Vec<u16>> = LazyLock::new(|| {
    let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
    Field::ALL
        .iter()
        .map(|field| {
            language
                .field_id_for_name(field.name())
                .map_or(0, |id| id.get())
        })
        .collect()
});

impl Field {
    /// The grammar's id of this field (0, which no child has, if the grammar lacks it: a
    /// test checks that none does).
    pub(crate) fn id(self) -> u16 {
        IDS[self as usize]
    }
}

/// Children by [`Field`].
pub(crate) trait FieldChildren<'tree> {
    /// The first child in `field`.
    fn field(&self, field: Field) -> Option<Node<'tree>>;

    /// Every child in `field`, in order (`cursor` is scratch space).
    fn fields<'cursor>(
        &self,
        field: Field,
        cursor: &'cursor mut TreeCursor<'tree>,
    ) -> impl Iterator<Item = Node<'tree>> + 'cursor;
}

impl<'tree> FieldChildren<'tree> for Node<'tree> {
    fn field(&self, field: Field) -> Option<Node<'tree>> {
        match field.id() {
            0 => None,
            id => self.child_by_field_id(id),
        }
    }

    fn fields<'cursor>(
        &self,
        field: Field,
        cursor: &'cursor mut TreeCursor<'tree>,
    ) -> impl Iterator<Item = Node<'tree>> + 'cursor {
        // An id no child has when the grammar lacks the field (a test checks none does).
        let id = std::num::NonZeroU16::new(field.id()).unwrap_or(std::num::NonZeroU16::MAX);
        self.children_by_field_id(id, cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_in_the_grammar() {
        for field in Field::ALL {
            assert_ne!(
                field.id(),
                0,
                "{} is not a field of the grammar",
                field.name()
            );
        }
    }

    #[test]
    fn a_field_finds_what_its_name_finds() {
        let text =
            "from m import a, b\ndef f(a, b=1) -> int:\n    return a[b, 1:2]\nx: int = f(1)\n";
        let tree = crate::syntax::parse(text).unwrap();
        let mut cursor = tree.walk();
        let mut stack = vec![tree.root_node()];
        let mut compared = 0;
        while let Some(node) = stack.pop() {
            for field in Field::ALL {
                let by_name = node.child_by_field_name(field.name());
                assert_eq!(node.field(*field), by_name, "{} of {node:?}", field.name());
                let mut a = node.walk();
                let mut b = node.walk();
                assert!(
                    node.fields(*field, &mut a)
                        .eq(node.children_by_field_name(field.name(), &mut b)),
                    "{} of {node:?}",
                    field.name()
                );
                compared += usize::from(by_name.is_some());
            }
            stack.extend(node.children(&mut cursor));
        }
        assert!(compared > 10, "{compared}");
    }
}
