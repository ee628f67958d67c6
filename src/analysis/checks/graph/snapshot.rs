//! The graphs a scope built, handed over to the graph model (`analysis::graph_model`) once the
//! scope is interpreted: only the interpreter knows which worker instance went where.

use super::*;

impl<'c, 'h, 'a> Flow<'c, 'h, 'a>
where
    'h: 'a,
{
    pub(super) fn built_graphs(&mut self) -> Vec<BuiltGraph> {
        let mut out = Vec::new();
        for index in 0..self.graphs.len() {
            let g = GraphId(index);
            let members = self.graphs[g].workers.clone();
            let position = |w: &WorkerId| members.iter().position(|m| m == w);
            let mut workers = Vec::with_capacity(members.len());
            for &w in &members {
                let consumed = self.consumed(w);
                let outputs = self.outputs(w);
                let display = self.display_of(w);
                let inst = &self.workers[w];
                let added = self.graphs[g]
                    .add_sites
                    .get(&w)
                    .map(|range| (self.own_path.clone(), *range));
                workers.push(BuiltWorker {
                    added,
                    variable: inst.variable.clone(),
                    class: inst.class.clone(),
                    display,
                    call: inst.call.map(|c| (inst.path.clone(), c.range)),
                    consumed,
                    outputs,
                });
            }
            let state = &self.graphs[g];
            let edges = state
                .edges
                .iter()
                .filter_map(|(u, d, task_type)| {
                    Some(BuiltEdge {
                        upstream: position(u)?,
                        downstream: position(d)?,
                        task_type: task_type.clone(),
                        site: state.edge_sites.get(&(*u, *d))?.clone(),
                    })
                })
                .collect();
            let entries = state
                .entry_sites
                .iter()
                .filter_map(|(w, site)| Some((position(w)?, site.clone())))
                .collect();
            let sinks = state
                .sink_sites
                .iter()
                .filter_map(|(w, t, site)| Some((position(w)?, t.clone(), site.clone())))
                .collect();
            out.push(BuiltGraph {
                scope: self.scope.clone(),
                variable: state.variable.clone(),
                name: state.name.clone(),
                created: state.created.clone(),
                workers,
                entries,
                edges,
                sinks,
                partial: state.imprecise,
            });
        }
        out
    }
}
