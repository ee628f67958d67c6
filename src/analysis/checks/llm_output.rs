//! RT8: an LLM worker whose default `post_process` publishes the LLM response
//! (`llm_output_type`) as is, when that type is not among its `output_types`. Checked on
//! the class body (`class_defs`) and on an instantiation that sets either field
//! (`graph`).

use std::path::Path;

use super::super::consumed::{self, class_attr_decl, FieldValue, OutputTypes};
use super::super::resolve::{ClassRef, Ctx};
use super::{error, related};
use crate::diagnostics::{Code, Diagnostic};

/// The RT8 diagnostic for a worker whose effective llm_output_type is `attr`'s value (or the
/// given instance's), if it is not among the output types and post_process is not overridden.
pub(crate) fn rt8(
    ctx: &mut Ctx,
    here: &Path,
    cref: &ClassRef,
    class_name: &str,
    range: crate::diagnostics::TextRange,
    instance: Option<consumed::InstanceSpec>,
) -> Option<Diagnostic> {
    if overrides_post_process(ctx, cref) {
        return None;
    }
    let spec = instance.unwrap_or(consumed::InstanceSpec {
        class: cref,
        call: None,
    });
    let llm_out = match consumed::field_value(ctx, spec, "llm_output_type") {
        FieldValue::Expr(p, e) => ctx.resolve_class(&p, &e)?,
        _ => return None,
    };
    let OutputTypes::Known(outputs) = consumed::output_types(ctx, spec) else {
        return None;
    };
    if outputs.contains(&llm_out) {
        return None;
    }
    let t = ctx.class_name(&llm_out);
    let mut d = error(
        Code::Rt8,
        range,
        format!(
            "Task {class_name} cannot publish work of type {t}. The default post_process publishes the \
             LLM response ({t}) as-is, but {t} is not in output_types: add it to output_types or \
             override post_process to publish an output type."
        ),
    );
    if let Some((p, decl)) = class_attr_decl(ctx, cref, "output_types") {
        d = d.with_related(related(
            here,
            &p,
            decl.name_range,
            "output_types is declared here",
        ));
    }
    Some(d)
}

fn overrides_post_process(ctx: &mut Ctx, cref: &ClassRef) -> bool {
    let mro = ctx.mro(cref);
    mro.classes.iter().any(|c| {
        ctx.user_class(c).is_some_and(|(_, cs)| {
            cs.method("post_process").is_some()
                || cs.method("consume_work").is_some()
                || cs.method("_invoke_llm").is_some()
        })
    })
}
