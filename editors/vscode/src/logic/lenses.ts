/**
 * Commands the server's code lenses carry that VS Code must handle itself rather than send
 * back to the server: `planai.showReferences` (the producers and consumers of a Task, shown
 * in VS Code's references peek) and `planai.showGraph` with a `{uri}` argument (the graph
 * panel of that document).
 *
 * Pure: no `vscode` import; positions and ranges stay in LSP's shape until the glue converts
 * them with the client's protocol converter.
 */

export const SHOW_REFERENCES_COMMAND = 'planai.showReferences';

export interface LspPosition {
    line: number;
    character: number;
}

export interface LspLocation {
    uri: string;
    range: { start: LspPosition; end: LspPosition };
}

export interface ShowReferences {
    uri: string;
    position: LspPosition;
    locations: LspLocation[];
}

function isPosition(value: unknown): value is LspPosition {
    const p = value as Record<string, unknown> | null;
    return p !== null && typeof p === 'object' && Number.isInteger(p['line']) && Number.isInteger(p['character']);
}

function isLocation(value: unknown): value is LspLocation {
    const l = value as Record<string, unknown> | null;
    if (l === null || typeof l !== 'object' || typeof l['uri'] !== 'string') {
        return false;
    }
    const range = l['range'] as Record<string, unknown> | null;
    return range !== null && typeof range === 'object' && isPosition(range['start']) && isPosition(range['end']);
}

/** The `planai.showReferences` argument, or undefined when it is malformed. */
export function parseShowReferences(args: unknown[]): ShowReferences | undefined {
    const first = args[0] as Record<string, unknown> | null | undefined;
    if (!first || typeof first !== 'object' || typeof first['uri'] !== 'string' || !isPosition(first['position'])) {
        return undefined;
    }
    const locations = Array.isArray(first['locations']) ? first['locations'].filter(isLocation) : [];
    return { uri: first['uri'], position: first['position'], locations };
}

/** The document a `planai.showGraph` call is about: a URI string or `{uri}`. */
export function showGraphUri(args: unknown[]): string | undefined {
    const first = args[0];
    if (typeof first === 'string') {
        return first;
    }
    if (first !== null && typeof first === 'object' && typeof (first as Record<string, unknown>)['uri'] === 'string') {
        return (first as Record<string, string>)['uri'];
    }
    return undefined;
}
