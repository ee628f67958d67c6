/**
 * The "PlanAI: Show Graph" view: the server's Mermaid text shown as preformatted text in a
 * webview. No scripts and no remote resources (the Content-Security-Policy forbids both).
 *
 * Pure: no `vscode` import.
 */

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
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(page.title)}</title>
<style>
  body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1em; }
  pre { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size);
        background: var(--vscode-textCodeBlock-background); padding: 1em; overflow: auto; user-select: text; }
  .hint { color: var(--vscode-descriptionForeground); }
</style>
</head>
<body>
<h2>${escapeHtml(page.title)}</h2>
<p class="hint">Mermaid source of the PlanAI graph. Copy it into a Markdown file (a <code>mermaid</code> code block) to render it.</p>
<pre id="mermaid">${escapeHtml(page.mermaid)}</pre>
</body>
</html>
`;
}
