/**
 * The environment tools the server already offers, shaped for VS Code: validating JSON data
 * against a Task (`planai/validateTaskData`), a provider's models (`planai.listModels`) and a
 * module's Tasks (`planai.introspectTasks`).
 *
 * Pure: no `vscode` import.
 */

export const VALIDATE_TASK_DATA_REQUEST = 'planai/validateTaskData';

/** The providers `llm_from_config(provider=…)` accepts in planai 0.7.1 (llm-interface 0.2). */
export const PROVIDERS = ['ollama', 'remote_ollama', 'openai', 'anthropic', 'gemini', 'openrouter'] as const;

/**
 * The dotted module name of a workspace-relative Python file (`pkg/flow.py` → `pkg.flow`,
 * `pkg/__init__.py` → `pkg`), or undefined when the path cannot be a module name.
 */
export function moduleNameFor(relativePath: string): string | undefined {
    const parts = relativePath.replace(/\\/g, '/').replace(/\.pyi?$/, '').split('/').filter((part) => part !== '');
    if (parts.length > 0 && parts[parts.length - 1] === '__init__') {
        parts.pop();
    }
    if (parts.length === 0 || !parts.every((part) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(part))) {
        return undefined;
    }
    return parts.join('.');
}

export interface FieldInfo {
    name: string;
    annotation?: string;
    required?: boolean;
    default?: string | null;
    description?: string | null;
}

export interface TaskInfo {
    name: string;
    module?: string;
    doc?: string | null;
    path?: string | null;
    line?: number | null;
    fields?: FieldInfo[];
}

interface Problem {
    message?: string;
    kind?: string;
}

function asRecord(value: unknown): Record<string, unknown> {
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The Tasks of an introspection result; malformed entries are dropped. */
export function parseTasks(result: unknown): TaskInfo[] {
    const tasks = asRecord(result)['tasks'];
    return Array.isArray(tasks) ? tasks.filter((task): task is TaskInfo => typeof asRecord(task)['name'] === 'string') : [];
}

function problemsOf(result: unknown): string[] {
    const problems = asRecord(result)['problems'];
    return Array.isArray(problems) ? problems.map((p) => String((p as Problem)?.message ?? JSON.stringify(p))) : [];
}

function cell(text: string): string {
    return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown document describing a module's Tasks (one table of fields per Task). */
export function tasksMarkdown(moduleName: string, result: unknown): string {
    const tasks = parseTasks(result);
    const lines = [`# Tasks in \`${moduleName}\``, ''];
    const problems = problemsOf(result);
    if (problems.length > 0) {
        lines.push('Loading the module failed:', '', ...problems.map((p) => `- ${p}`), '');
    }
    if (tasks.length === 0 && problems.length === 0) {
        lines.push('The module defines no planai `Task` subclasses.');
    }
    for (const task of tasks) {
        lines.push(`## ${task.name}`, '');
        if (task.path) {
            lines.push(`Defined in \`${task.path}${task.line ? `:${task.line}` : ''}\`.`, '');
        }
        if (task.doc) {
            lines.push(task.doc.trim(), '');
        }
        const fields = task.fields ?? [];
        if (fields.length === 0) {
            lines.push('No fields of its own.', '');
            continue;
        }
        lines.push('| field | type | required | default | description |', '|---|---|---|---|---|');
        for (const field of fields) {
            lines.push(
                `| \`${cell(field.name)}\` | \`${cell(field.annotation ?? '')}\` | ${field.required ? 'yes' : 'no'} | ${field.default ? `\`${cell(field.default)}\`` : ''} | ${cell(field.description ?? '')} |`,
            );
        }
        lines.push('');
    }
    return lines.join('\n');
}

export interface ValidationSummary {
    ok: boolean;
    /** One line per problem: `field.0.x: message (type)`. */
    lines: string[];
}

/** Reads a `planai/validateTaskData` result. */
export function summarizeValidation(result: unknown): ValidationSummary {
    const record = asRecord(result);
    const errors = Array.isArray(record['errors']) ? record['errors'] : [];
    const lines = errors.map((error) => {
        const e = asRecord(error);
        const loc = Array.isArray(e['loc']) && e['loc'].length > 0 ? `${e['loc'].map(String).join('.')}: ` : '';
        const type = typeof e['type'] === 'string' && e['type'] !== '' ? ` (${e['type']})` : '';
        return `${loc}${String(e['message'] ?? '')}${type}`;
    });
    return { ok: record['ok'] === true, lines: [...lines, ...problemsOf(result).filter((p) => !lines.includes(p))] };
}

/** The model names of a `planai.listModels` result. */
export function parseModels(result: unknown): string[] {
    const models = asRecord(result)['models'];
    return Array.isArray(models) ? models.filter((m): m is string => typeof m === 'string') : [];
}
