//! Renderings of the graphs a file builds: Mermaid (from the edges, for the editors' graph
//! view), DOT and a laid-out SVG (from the whole model, `graph_model`).

use super::graph_model::{GraphInfo, GraphModel, NodeInfo};
use super::GraphEdge;

/// Mermaid node ids must be plain identifiers.
fn node_id(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Renders `edges` as a Mermaid flowchart, one subgraph per building function. Sinks get a
/// node of their own per upstream and type, since every PlanAI sink is named `SinkWorker`.
pub fn mermaid(edges: &[GraphEdge]) -> String {
    let mut out = String::from("flowchart LR\n");
    if edges.is_empty() {
        out.push_str("    empty[\"no graph built in this file\"]\n");
        return out;
    }
    let mut scopes: Vec<Option<&str>> = Vec::new();
    for edge in edges {
        let scope = edge.scope.as_deref();
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    for scope in scopes {
        let title = scope.unwrap_or("module level");
        let prefix = node_id(scope.unwrap_or("module"));
        out.push_str(&format!("    subgraph {prefix}[\"{title}\"]\n"));
        for edge in edges.iter().filter(|e| e.scope.as_deref() == scope) {
            let upstream = format!("{prefix}_{}", node_id(&edge.upstream));
            let label = edge.task_type.as_deref().unwrap_or("?");
            let downstream = if edge.downstream == "SinkWorker" {
                let id = format!("{upstream}_sink_{}", node_id(label));
                format!("{id}[(\"sink: {label}\")]")
            } else {
                format!(
                    "{prefix}_{}[\"{}\"]",
                    node_id(&edge.downstream),
                    edge.downstream
                )
            };
            out.push_str(&format!(
                "        {upstream}[\"{}\"] -->|{label}| {downstream}\n",
                edge.upstream
            ));
        }
        out.push_str("    end\n");
    }
    out
}

/// The label of a worker: `variable: Class`, its PlanAI kind, and `consumed → produced`.
pub fn node_label(node: &NodeInfo) -> String {
    let mut label = match &node.variable {
        Some(v) if *v != node.class => format!("{v}: {}", node.class),
        _ => node.class.clone(),
    };
    if let Some(kind) = &node.kind {
        if *kind != node.class {
            label.push('\n');
            label.push_str(kind);
        }
    }
    let list = |types: &Option<Vec<String>>| match types {
        Some(types) if types.is_empty() => "∅".to_string(),
        Some(types) => types.join(", "),
        None => "?".to_string(),
    };
    label.push('\n');
    label.push_str(&format!(
        "{} → {}",
        list(&node.consumes),
        list(&node.produces)
    ));
    label
}

/// A DOT string literal.
fn dot_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders the model as a Graphviz digraph: one cluster per graph, a box per worker, an
/// edge per dependency labelled with its Task type, the graph's start feeding its entries,
/// and a node per sink.
pub fn dot(model: &GraphModel) -> String {
    let mut out = String::from(
        "digraph planai {\n    rankdir=LR;\n    node [shape=box, style=rounded, fontname=\"Helvetica\"];\n    edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    if model.graphs.is_empty() {
        out.push_str("    empty [label=\"no graph built in this file\", shape=plaintext];\n}\n");
        return out;
    }
    for (g, graph) in model.graphs.iter().enumerate() {
        out.push_str(&format!("    subgraph cluster_{g} {{\n"));
        out.push_str(&format!(
            "        label={};\n",
            dot_string(&graph_title(graph))
        ));
        let id = |n: usize| dot_string(&format!("g{g}_{}", graph.nodes[n].id));
        for (n, node) in graph.nodes.iter().enumerate() {
            out.push_str(&format!(
                "        {} [label={}];\n",
                id(n),
                dot_string(&node_label(node))
            ));
        }
        if !graph.entries.is_empty() {
            let start = dot_string(&format!("g{g}__start"));
            out.push_str(&format!(
                "        {start} [label=\"start\", shape=circle];\n"
            ));
            for entry in &graph.entries {
                out.push_str(&format!("        {start} -> {};\n", id(entry.node)));
            }
        }
        for edge in &graph.edges {
            out.push_str(&format!(
                "        {} -> {} [label={}];\n",
                id(edge.upstream),
                id(edge.downstream),
                dot_string(edge.task_type.as_deref().unwrap_or("?"))
            ));
        }
        for (s, sink) in graph.sinks.iter().enumerate() {
            let sink_id = dot_string(&format!("g{g}__sink{s}"));
            out.push_str(&format!(
                "        {sink_id} [label={}, shape=cylinder];\n        {} -> {sink_id} [label={}];\n",
                dot_string(&format!("sink: {}", sink.task_type)),
                id(sink.node),
                dot_string(&sink.task_type)
            ));
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}

fn graph_title(graph: &GraphInfo) -> String {
    let mut title = graph.title();
    if let (Some(_), Some(name)) = (&graph.scope, &graph.name) {
        title.push_str(&format!(" ({name})"));
    }
    title
}

/// Escapes text for an XML attribute value.
fn xml_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Lays out and draws `graphs` as an SVG picture (layered layout by `layout-rs`, no Graphviz):
/// a box per worker (`<g class="worker" data-id="...">`), arrows labelled with Task types, a
/// `start` circle feeding the entries and a circle per sink. Graphs side by side.
pub fn svg(graphs: &[&GraphInfo]) -> Result<String, String> {
    use layout::backends::svg::SVGWriter;
    use layout::core::base::Orientation;
    use layout::core::style::StyleAttr;
    use layout::std_shapes::render::get_shape_size;
    use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
    use layout::topo::layout::VisualGraph;

    const FONT: usize = 14;
    let draw = || {
        let mut vg = VisualGraph::new(Orientation::LeftToRight);
        let element = |shape: ShapeKind, rounded: usize, fill: &str, properties: String| {
            let size = get_shape_size(Orientation::TopToBottom, &shape, FONT, false);
            let look = StyleAttr::new(
                layout::core::color::Color::fast("black"),
                1,
                Some(layout::core::color::Color::fast(fill)),
                rounded,
                FONT,
            );
            Element::create_with_properties(shape, look, Orientation::TopToBottom, size, properties)
        };
        if graphs.is_empty() {
            let note = element(
                ShapeKind::new_box("no graph built in this file"),
                0,
                "white",
                "class=\"note\"".to_string(),
            );
            vg.add_node(note);
        }
        for (g, graph) in graphs.iter().enumerate() {
            let handles: Vec<_> = graph
                .nodes
                .iter()
                .map(|node| {
                    let properties = format!(
                        "class=\"worker\" data-graph=\"{g}\" data-id=\"{}\"",
                        xml_attr(&node.id)
                    );
                    vg.add_node(element(
                        ShapeKind::new_box(&node_label(node)),
                        8,
                        "lightyellow",
                        properties,
                    ))
                })
                .collect();
            if !graph.entries.is_empty() {
                let start = vg.add_node(element(
                    ShapeKind::new_circle("start"),
                    0,
                    "lightgray",
                    format!("class=\"start\" data-graph=\"{g}\""),
                ));
                for entry in &graph.entries {
                    vg.add_edge(Arrow::simple(""), start, handles[entry.node]);
                }
            }
            for edge in &graph.edges {
                let label = edge.task_type.as_deref().unwrap_or("?");
                vg.add_edge(
                    Arrow::simple(label),
                    handles[edge.upstream],
                    handles[edge.downstream],
                );
            }
            for sink in &graph.sinks {
                let node = vg.add_node(element(
                    ShapeKind::new_circle(&format!("sink: {}", sink.task_type)),
                    0,
                    "lightblue",
                    format!("class=\"sink\" data-graph=\"{g}\""),
                ));
                vg.add_edge(Arrow::simple(&sink.task_type), handles[sink.node], node);
            }
        }
        let mut writer = SVGWriter::new();
        vg.do_it(false, false, false, &mut writer);
        writer.finalize()
    };
    // The layout crate asserts on shapes it cannot place; a picture that fails is an error
    // message, not a crash of the server or the CLI.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(draw))
        .map(|svg| fit_canvas(&svg, FONT as f64))
        .map_err(|_| "the graph layout failed for this graph".to_string())
}

/// The number in attribute `name="..."` of `tag` (the text between `<` and `>`).
fn number_attr(tag: &str, name: &str) -> Option<f64> {
    let key = format!(" {name}=\"");
    let start = tag
        .find(&key)
        .or_else(|| tag.find(&format!("\n{}", &key[1..])))?
        + key.len();
    let end = start + tag[start..].find('"')?;
    tag[start..end].trim().parse().ok()
}

/// `layout-rs` sizes the canvas as if every label were written vertically (its width in
/// characters times ten, downwards), which leaves most of the picture empty: the canvas is
/// cut to the drawn shapes and labels, with a margin.
fn fit_canvas(svg: &str, font: f64) -> String {
    let (mut right, mut bottom) = (0.0f64, 0.0f64);
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open + 1..open + close];
        let name = tag.split(|c: char| c.is_whitespace()).next().unwrap_or("");
        let num = |n: &str| number_attr(tag, n);
        match name {
            "rect" => {
                if let (Some(x), Some(y), Some(w), Some(h)) =
                    (num("x"), num("y"), num("width"), num("height"))
                {
                    right = right.max(x + w);
                    bottom = bottom.max(y + h);
                }
            }
            "ellipse" => {
                if let (Some(cx), Some(cy), Some(rx), Some(ry)) =
                    (num("cx"), num("cy"), num("rx"), num("ry"))
                {
                    right = right.max(cx + rx);
                    bottom = bottom.max(cy + ry);
                }
            }
            "text" => {
                let after = &rest[open + close + 1..];
                let body = &after[..after.find("</text>").unwrap_or(0)];
                let lines = body.matches("<tspan").count().max(1) as f64;
                let longest = body
                    .split("<tspan")
                    .map(|t| t.split('>').nth(1).unwrap_or("").len())
                    .max()
                    .unwrap_or(0) as f64;
                if let (Some(x), Some(y)) = (num("x"), num("y")) {
                    right = right.max(x + longest * font * 0.3);
                    bottom = bottom.max(y + (lines + 1.0) * font * 1.2);
                }
            }
            _ => {}
        }
        rest = &rest[open + close + 1..];
    }
    if right <= 0.0 || bottom <= 0.0 {
        return svg.to_string();
    }
    let (width, height) = ((right + 20.0).ceil(), (bottom + 20.0).ceil());
    let Some(start) = svg.find("<svg ") else {
        return svg.to_string();
    };
    let Some(end) = svg[start..].find('>').map(|e| start + e) else {
        return svg.to_string();
    };
    format!(
        "{}<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">{}",
        &svg[..start],
        &svg[end + 1..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::TextRange;

    fn edge(scope: Option<&str>, up: &str, down: &str, task: Option<&str>) -> GraphEdge {
        GraphEdge {
            scope: scope.map(str::to_string),
            upstream: up.to_string(),
            downstream: down.to_string(),
            task_type: task.map(str::to_string),
            range: TextRange::default(),
        }
    }

    #[test]
    fn one_subgraph_per_function_and_a_node_per_sink() {
        let text = mermaid(&[
            edge(Some("main"), "Fetcher", "Parser", Some("Page")),
            edge(Some("main"), "Parser", "SinkWorker", Some("Summary")),
            edge(None, "A", "B", None),
        ]);
        assert_eq!(
            text,
            "flowchart LR\n    subgraph main[\"main\"]\n        main_Fetcher[\"Fetcher\"] -->|Page| main_Parser[\"Parser\"]\n        main_Parser[\"Parser\"] -->|Summary| main_Parser_sink_Summary[(\"sink: Summary\")]\n    end\n    subgraph module[\"module level\"]\n        module_A[\"A\"] -->|?| module_B[\"B\"]\n    end\n"
        );
    }

    #[test]
    fn a_file_without_graphs_says_so() {
        assert!(mermaid(&[]).contains("no graph built"));
    }
}
