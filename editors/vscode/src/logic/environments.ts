/**
 * Turns the result of the server's `planai.listEnvironments` command into quick-pick items and
 * a quick-pick choice back into the argument of `planai.selectEnvironment`.
 *
 * Pure: no `vscode` import (the items are structurally compatible with `vscode.QuickPickItem`).
 */

/** One environment as listed by the server. */
export interface EnvironmentInfo {
    /** The argv that starts this interpreter, e.g. `["/p/.venv/bin/python"]` or `["uv", "run", "python"]`. */
    interpreter: string[];
    path: string;
    kind?: string;
    python_version?: string;
    /** Installed PlanAI version, or undefined when PlanAI is not installed (or unknown). */
    planai?: string;
    /** Which rule found it: `setting`, `editor`, `VIRTUAL_ENV`, `.venv`, `PATH`, ... */
    source?: string;
    selected: boolean;
    /** False when the interpreter file does not exist (e.g. a stale setting). */
    exists?: boolean;
}

function optionalString(value: unknown): string | undefined {
    return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function parseEnvironment(value: unknown): EnvironmentInfo | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return undefined;
    }
    const record = value as Record<string, unknown>;
    let interpreter: string[] = [];
    if (Array.isArray(record['interpreter']) && record['interpreter'].every((part) => typeof part === 'string')) {
        interpreter = (record['interpreter'] as string[]).filter((part) => part !== '');
    } else if (optionalString(record['interpreter'])) {
        interpreter = [record['interpreter'] as string];
    }
    const path = optionalString(record['path']) ?? interpreter[0];
    if (path === undefined) {
        return undefined;
    }
    if (interpreter.length === 0) {
        interpreter = [path];
    }
    return {
        interpreter,
        path,
        kind: optionalString(record['kind']),
        python_version: typeof record['python_version'] === 'number' ? String(record['python_version']) : optionalString(record['python_version']),
        planai: record['planai'] === true ? 'installed' : optionalString(record['planai']),
        source: optionalString(record['source']),
        selected: record['selected'] === true,
        ...(typeof record['exists'] === 'boolean' ? { exists: record['exists'] } : {}),
    };
}

/**
 * Reads the command result tolerantly: a list of environments, or an object carrying one in
 * `environments`. Entries without a path or interpreter are dropped.
 */
export function parseEnvironmentList(value: unknown): EnvironmentInfo[] {
    let list: unknown = value;
    if (list !== null && typeof list === 'object' && !Array.isArray(list)) {
        list = (list as Record<string, unknown>)['environments'];
    }
    if (!Array.isArray(list)) {
        return [];
    }
    return list.map(parseEnvironment).filter((env): env is EnvironmentInfo => env !== undefined);
}

/** A `vscode.QuickPickItem` plus the environment it stands for. */
export interface EnvironmentPickItem {
    label: string;
    description?: string;
    detail?: string;
    picked?: boolean;
    environment: EnvironmentInfo;
}

/** Shows paths inside the workspace relative to it (`./.venv/bin/python`) and the rest unchanged. */
export function displayPath(file: string, workspaceFolder?: string): string {
    if (workspaceFolder) {
        const root = workspaceFolder.replace(/[\\/]+$/, '');
        if (file.startsWith(root + '/') || file.startsWith(root + '\\')) {
            return '.' + file.slice(root.length);
        }
    }
    return file;
}

/** "Python 3.11.7 (venv)" and similar. */
export function environmentLabel(env: EnvironmentInfo): string {
    const version = env.python_version ? `Python ${env.python_version}` : 'Python';
    const label = env.kind ? `${version} (${env.kind})` : version;
    return env.selected ? `$(check) ${label}` : label;
}

/**
 * Quick-pick items: the selected environment first, then those with PlanAI installed, then
 * the rest, each group in the server's order.
 */
export function toQuickPickItems(envs: readonly EnvironmentInfo[], workspaceFolder?: string): EnvironmentPickItem[] {
    const rank = (env: EnvironmentInfo): number => (env.selected ? 0 : env.planai ? 1 : 2);
    const ordered = envs.map((env, index) => ({ env, index })).sort((a, b) => rank(a.env) - rank(b.env) || a.index - b.index);
    return ordered.map(({ env }) => {
        const command = env.interpreter.length > 1 || env.interpreter[0] !== env.path ? env.interpreter.join(' ') : undefined;
        const details = [env.exists === false ? 'interpreter not found' : env.planai ? `planai ${env.planai}` : 'planai not installed'];
        if (env.source) {
            details.push(`found via ${env.source}`);
        }
        if (command) {
            details.push(`runs: ${command}`);
        }
        return {
            label: environmentLabel(env),
            description: displayPath(env.path, workspaceFolder),
            detail: details.join(' · '),
            picked: env.selected,
            environment: env,
        };
    });
}

/**
 * The argument for `planai.selectEnvironment`: the argv list when the interpreter is more than
 * a path (e.g. `uv run python`), else the path.
 */
export function selectionArgument(env: EnvironmentInfo): string | string[] {
    if (env.interpreter.length === 1 && env.interpreter[0] === env.path) {
        return env.path;
    }
    return env.interpreter.slice();
}

/** Splits what a user typed into the "enter interpreter" box: a path, or a command line. */
export function parseTypedInterpreter(text: string): string | string[] | undefined {
    const trimmed = text.trim();
    if (trimmed === '') {
        return undefined;
    }
    if (trimmed.startsWith('[')) {
        try {
            const parsed: unknown = JSON.parse(trimmed);
            if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((part) => typeof part === 'string' && part !== '')) {
                return parsed as string[];
            }
        } catch {
            // fall through: treat it as a path
        }
        return undefined;
    }
    return trimmed;
}

/** One line for messages: "Python 3.11.7 (venv) at ./.venv/bin/python". */
export function describeEnvironment(env: EnvironmentInfo, workspaceFolder?: string): string {
    const version = env.python_version ? `Python ${env.python_version}` : 'Python';
    const kind = env.kind ? ` (${env.kind})` : '';
    return `${version}${kind} at ${displayPath(env.path, workspaceFolder)}`;
}
