/**
 * PlanAI Editor interop (`planai.importEditorGraph`, `planai.exportEditorGraph`): default
 * targets and reading the results.
 *
 * Pure: no `vscode` import.
 */

export const IMPORT_EDITOR_GRAPH = 'planai.importEditorGraph';
export const EXPORT_EDITOR_GRAPH = 'planai.exportEditorGraph';

/** `my-graph.json` → `my_graph.py` next to it (a module name Python can import). */
export function moduleFileFor(graphPath: string): string {
    const slash = Math.max(graphPath.lastIndexOf('/'), graphPath.lastIndexOf('\\'));
    const folder = graphPath.slice(0, slash + 1);
    let stem = graphPath.slice(slash + 1).replace(/\.json$/i, '');
    stem = stem.replace(/[^A-Za-z0-9_]/g, '_');
    if (stem === '' || /^[0-9]/.test(stem)) {
        stem = `graph_${stem}`;
    }
    return `${folder}${stem}.py`;
}

/** `flow.py` → `flow.json` next to it. */
export function graphFileFor(modulePath: string): string {
    return modulePath.replace(/\.py$/i, '') + '.json';
}

/** The warnings of an interop result (what could not be carried over). */
export function interopWarnings(result: unknown): string[] {
    const warnings = result !== null && typeof result === 'object' ? (result as Record<string, unknown>)['warnings'] : undefined;
    return Array.isArray(warnings) ? warnings.map(String) : [];
}
