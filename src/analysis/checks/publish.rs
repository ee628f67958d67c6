//! `publish_work` call sites inside worker methods: RT6 (missing `input_task`) and RT1 (the
//! published type is not in `output_types`, when the type is inferable).

use std::path::Path;
use std::sync::Arc;

use super::super::consumed::{self, class_attr_decl, OutputTypes};
use super::super::resolve::Ctx;
use super::super::summary::{walk_exprs, CallExpr, Expr};
use super::super::task_types::{infer_task_type, LocalTypes};
use super::{error, related};
use crate::diagnostics::{Code, Diagnostic};

pub fn check(
    ctx: &mut Ctx,
    path: &Arc<Path>,
    model: Option<&super::ModelClass>,
    out: &mut Vec<Diagnostic>,
) {
    let workers = model.filter(|m| m.is_worker).into_iter();
    for (class, cref) in workers.map(|m| (m.summary, m.cref.clone())) {
        let class_may_vary =
            ctx.used_as_base(&class.name) || ctx.kwarg_used(&class.name, "output_types");
        let outputs = consumed::class_output_types(ctx, &cref);
        for m in &class.methods {
            let locals = LocalTypes::new(m);
            let mut calls: Vec<&CallExpr> = Vec::new();
            walk_exprs(&m.body, &mut |e| {
                e.for_each_call(&mut |c| {
                    if is_self_publish(c) {
                        calls.push(c)
                    }
                })
            });
            for c in calls {
                if !c.has_splat() && c.args.len() < 2 && c.keyword("input_task").is_none() {
                    out.push(error(
                        Code::Rt6,
                        c.range,
                        "TaskWorker.publish_work() missing 1 required positional argument: 'input_task'. \
                         Pass the task being processed as the second argument (or None to start a new root)."
                            .to_string(),
                    ));
                }
                if class_may_vary {
                    continue;
                }
                let OutputTypes::Known(outs) = &outputs else {
                    continue;
                };
                let Some(arg) = c.arg(0, "task") else {
                    continue;
                };
                let Some(t) = infer_task_type(ctx, path, &locals, arg, 0) else {
                    continue;
                };
                if outs.contains(&t) {
                    continue;
                }
                let tn = ctx.class_name(&t);
                let mut d = error(
                    Code::Rt1,
                    arg.range(),
                    format!(
                        "Task {} cannot publish work of type {tn}. Add {tn} to {}'s output_types, or publish one of its output types.",
                        class.name, class.name
                    ),
                );
                if let Some((p, decl)) = class_attr_decl(ctx, &cref, "output_types") {
                    d = d.with_related(related(
                        path,
                        &p,
                        decl.name_range,
                        "output_types is declared here",
                    ));
                }
                out.push(d);
            }
        }
    }
}

fn is_self_publish(c: &CallExpr) -> bool {
    matches!(&c.func, Expr::Attribute { value, attr, .. }
        if attr == "publish_work" && value.as_name() == Some("self"))
}
