/**
 * The "PlanAI: Show Graph" view: the picture the server lays out (`planai/graph` with
 * `svg: true`: a box per worker, arrows labelled with Task types), where clicking a worker
 * opens its class; or, from a server without `planai/graph`, its Mermaid text. No remote
 * resources; the only script is the page's own click handler (CSP nonce).
 *
 * Pure: no `vscode` import.
 */

export const GRAPH_REQUEST = 'planai/graph';

export interface GraphLocation {
    uri: string;
    range: { start: { line: number; character: number }; end: { line: number; character: number } };
}

export interface GraphModel {
    svg?: string;
    svgError?: string;
    mermaid?: string;
    /** Per graph, per worker id: where its class is defined. */
    graphs: Array<{ nodes: Array<{ id: string; classLocation?: GraphLocation | null; instantiation?: GraphLocation | null }> }>;
}

/** Reads the `planai/graph` answer; undefined when it is not one. */
export function parseGraphModel(value: unknown): GraphModel | undefined {
    if (value === null || typeof value !== 'object' || !Array.isArray((value as Record<string, unknown>)['graphs'])) {
        return undefined;
    }
    const record = value as Record<string, unknown>;
    return {
        svg: typeof record['svg'] === 'string' ? record['svg'] : undefined,
        svgError: typeof record['svgError'] === 'string' ? record['svgError'] : undefined,
        graphs: record['graphs'] as GraphModel['graphs'],
    };
}

/** Where clicking worker `id` of graph `graph` goes: its class, else its instantiation. */
export function workerLocation(model: GraphModel, graph: number, id: string): GraphLocation | undefined {
    const node = model.graphs[graph]?.nodes?.find((n) => n.id === id);
    return node?.classLocation ?? node?.instantiation ?? undefined;
}

export interface GraphPicturePage {
    /** The server's SVG, trusted (our own layout) and further fenced by the CSP. */
    svg: string;
    title: string;
    cspSource: string;
    /** A fresh random nonce for the page's script. */
    nonce: string;
}

/** A page showing the SVG scaled to the panel; a click on a worker posts `{type: 'reveal', graph, id}`. */
export function renderGraphPictureHtml(page: GraphPicturePage): string {
    const csp = `default-src 'none'; style-src ${page.cspSource} 'unsafe-inline'; img-src ${page.cspSource} data:; script-src 'nonce-${page.nonce}';`;
    const style = `
  .picture { background: white; border-radius: 4px; padding: 8px; overflow: auto; }
  .picture svg { height: auto; display: block; margin: auto; }
  .picture g.worker { cursor: pointer; }
  .picture g.worker:hover rect { stroke-width: 3; }`;
    return pageShell({ csp, title: page.title, style, hint: 'Click a worker to open its class. The picture follows the file as you edit it.' }) +
        `
<div class="picture" id="picture">${page.svg.replace(/^\s*<\?xml[^>]*\?>\s*/, '')}</div>
<script nonce="${escapeHtml(page.nonce)}">
  const vscode = acquireVsCodeApi();
  // Fit the panel, but never shrink below 60% of the drawn size (labels must stay readable):
  // a wide graph in a narrow panel scrolls instead.
  function fit() {
    const svg = document.querySelector('#picture svg');
    const natural = svg && svg.viewBox && svg.viewBox.baseVal ? svg.viewBox.baseVal.width : 0;
    if (natural > 0) {
      const room = document.getElementById('picture').clientWidth - 16;
      svg.style.width = Math.max(Math.min(natural, room), natural * 0.6) + 'px';
    }
  }
  fit();
  window.addEventListener('resize', fit);
  // A worker's label is drawn beside its box, not inside its group: find the box under the
  // click by geometry as well.
  function workerAt(event) {
    const direct = event.target.closest && event.target.closest('g.worker');
    if (direct) {
      return direct;
    }
    for (const group of document.querySelectorAll('g.worker')) {
      const box = group.getBoundingClientRect();
      if (event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom) {
        return group;
      }
    }
    return undefined;
  }
  document.getElementById('picture').addEventListener('click', (event) => {
    const worker = workerAt(event);
    if (worker) {
      vscode.postMessage({ type: 'reveal', graph: Number(worker.dataset.graph), id: worker.dataset.id });
    }
  });
</script>
</body>
</html>
`;
}

/** Reads a message posted by the picture page. */
export function parseRevealMessage(message: unknown): { graph: number; id: string } | undefined {
    const m = message as Record<string, unknown> | null;
    if (m === null || typeof m !== 'object' || m['type'] !== 'reveal' || typeof m['id'] !== 'string' || !Number.isInteger(m['graph'])) {
        return undefined;
    }
    return { graph: m['graph'] as number, id: m['id'] as string };
}

/** Reads `{mermaid: string}` (or a bare string) from the `planai.showGraph` result. */
export function parseGraphResult(value: unknown): string | undefined {
    if (typeof value === 'string') {
        return value;
    }
    if (value !== null && typeof value === 'object' && typeof (value as Record<string, unknown>)['mermaid'] === 'string') {
        return (value as Record<string, string>)['mermaid'];
    }
    return undefined;
}

export function escapeHtml(text: string): string {
    return text
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
}

export interface GraphPage {
    mermaid: string;
    /** Shown as the heading, e.g. the file name. */
    title: string;
    /** `webview.cspSource`. */
    cspSource: string;
}

export function renderGraphHtml(page: GraphPage): string {
    const csp = `default-src 'none'; style-src ${page.cspSource} 'unsafe-inline';`;
    const style = `
  pre { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size);
        background: var(--vscode-textCodeBlock-background); padding: 1em; overflow: auto; user-select: text; }`;
    const hint = 'Mermaid source of the PlanAI graph. Copy it into a Markdown file (a <code>mermaid</code> code block) to render it.';
    return pageShell({ csp, title: page.title, style, hint }) +
        `
<pre id="mermaid">${escapeHtml(page.mermaid)}</pre>
</body>
</html>
`;
}

/** The head and heading both graph pages share, up to the open `<body>`'s content. */
function pageShell(parts: { csp: string; title: string; style: string; hint: string }): string {
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(parts.csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(parts.title)}</title>
<style>
  body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1em; }${parts.style}
  .hint { color: var(--vscode-descriptionForeground); }
</style>
</head>
<body>
<h2>${escapeHtml(parts.title)}</h2>
<p class="hint">${parts.hint}</p>`;
}
