/**
 * Workflow runs (`planai.run` / `planai.debug`): the command's argument, and the text the
 * "PlanAI Runs" output channel shows for the events of each `planai/runEvents` notification
 * (docs/protocol.md).
 *
 * Pure: no `vscode` import.
 */

export const RUN_COMMANDS = ['planai.run', 'planai.debug'] as const;
export const CANCEL_RUN_COMMAND = 'planai.cancelRun';
/** `{runId, uri, events: [...]}`: a batch of a run's events, in order. */
export const RUN_EVENTS_NOTIFICATION = 'planai/runEvents';

/** One `planai/runEvents` notification, checked: its run id and its events. */
export interface RunEventBatch {
    runId: string;
    events: unknown[];
}

/** The run id and events of a `planai/runEvents` notification (no events when malformed). */
export function parseRunEvents(params: unknown): RunEventBatch {
    const p = params !== null && typeof params === 'object' ? (params as Record<string, unknown>) : {};
    const id = p['runId'];
    return {
        runId: typeof id === 'string' || typeof id === 'number' ? String(id) : '?',
        events: Array.isArray(p['events']) ? p['events'] : [],
    };
}

/** The output channel's text for a batch of events: one string, appended in one call. */
export function formatRunEvents(batch: RunEventBatch): string {
    return batch.events.flatMap((event) => formatRunEvent(batch.runId, event)).join('\n');
}

/** The one argument of `planai.run` / `planai.debug`. */
export interface RunArgument {
    uri: string;
    graph?: string | null;
    inputs?: unknown[] | null;
    timeout?: number | null;
    mockLlm?: boolean | null;
    workDoneToken?: string | null;
}

export function isRunCommand(command: string): boolean {
    return (RUN_COMMANDS as readonly string[]).includes(command);
}

/** The run argument among a command's arguments, or undefined when there is none. */
export function parseRunArgument(args: unknown[]): RunArgument | undefined {
    const first = args[0];
    if (first === null || typeof first !== 'object' || Array.isArray(first) || typeof (first as Record<string, unknown>)['uri'] !== 'string') {
        return undefined;
    }
    return first as RunArgument;
}

/**
 * The run argument with the client's progress token, so the progress shows where the
 * extension puts it (a notification with a Cancel button) instead of the status bar.
 */
export function withProgressToken(argument: RunArgument, token: string): RunArgument {
    return { ...argument, workDoneToken: token };
}

/** The run id from the command's result (`{runId}`). */
export function parseRunId(result: unknown): string | undefined {
    if (result !== null && typeof result === 'object') {
        const id = (result as Record<string, unknown>)['runId'];
        if (typeof id === 'string' || typeof id === 'number') {
            return String(id);
        }
    }
    return undefined;
}

/** A short title for the progress notification. */
export function runTitle(command: string, argument: RunArgument, fileName: string): string {
    const what = argument.graph ? `${argument.graph}() in ${fileName}` : fileName;
    const verb = command === 'planai.debug' ? 'Debugging' : 'Running';
    return `PlanAI: ${verb} ${what}${argument.mockLlm ? ' (mock LLM)' : ''}`;
}

type Event = Record<string, unknown>;

function text(value: unknown): string {
    return typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);
}

function duration(value: unknown): string {
    return typeof value === 'number' ? ` (${value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`})` : '';
}

function json(value: unknown): string[] {
    return JSON.stringify(value, null, 2).split('\n');
}

function indent(lines: string[], by = '    '): string[] {
    return lines.map((line) => by + line);
}

function location(value: unknown): string {
    if (value !== null && typeof value === 'object') {
        const loc = value as Record<string, unknown>;
        if (typeof loc['path'] === 'string') {
            return ` at ${loc['path']}:${text(loc['line'])}`;
        }
    }
    return '';
}

/**
 * The lines the output channel shows for one event of run `runId`. Unknown events (a newer
 * server) are shown as their JSON rather than dropped.
 */
export function formatRunEvent(runId: string, event: unknown): string[] {
    const prefix = `[${runId}]`;
    if (event === null || typeof event !== 'object') {
        return [`${prefix} ${text(event)}`];
    }
    const e = event as Event;
    const worker = text(e['worker']);
    const taskType = text(e['taskType']);
    switch (e['event']) {
        case 'started':
            return [`${prefix} started: Python ${text(e['python'])}, planai ${text(e['planai']) || '?'}${e['mockLlm'] ? ', mock LLM' : ''}${e['debug'] ? ', debug' : ''}`];
        case 'graphStarted': {
            const initial = Array.isArray(e['initialTasks']) ? e['initialTasks'].length : 0;
            return [`${prefix} graph ${text(e['graph']) || ''} started with ${initial} initial task${initial === 1 ? '' : 's'}`.replace(/ {2}/g, ' ')];
        }
        case 'taskQueued':
            return [`${prefix} queued    ${taskType} → ${worker}`];
        case 'taskStarted':
            return [`${prefix} started   ${taskType} in ${worker}`];
        case 'taskCompleted':
            return [`${prefix} completed ${taskType} in ${worker}${duration(e['durationMs'])}`];
        case 'taskFailed': {
            const lines = [`${prefix} FAILED    ${taskType} in ${worker}${location(e['location'])}: ${text(e['exception'])}: ${text(e['message'])}${e['willRetry'] ? ' (will retry)' : ''}`];
            const traceback = text(e['traceback']).trimEnd();
            return traceback ? [...lines, ...indent(traceback.split('\n'))] : lines;
        }
        case 'sinkOutput':
            return [`${prefix} output of ${worker} (${taskType}):`, ...indent(json(e['task']))];
        case 'log':
            return [`${prefix} ${text(e['level'])} ${text(e['logger'])}: ${text(e['message'])}`.replace(/ :/, ':')];
        case 'output':
            return [`${prefix} ${e['stream'] === 'stderr' ? 'stderr' : 'stdout'}| ${text(e['text'])}`];
        case 'outputTruncated':
            return [`${prefix} output cap of ${text(e['limitBytes'])} bytes reached: later output is dropped`];
        case 'debugTaskInput':
            return [`${prefix} ${worker} received ${taskType}:`, ...indent(json(e['task']))];
        case 'debugTaskOutput':
            return [`${prefix} ${worker} published ${taskType}:`, ...indent(json(e['task']))];
        case 'llmCall': {
            const lines = [`${prefix} LLM call${worker ? ` by ${worker}` : ''}${e['model'] ? ` (${text(e['model'])})` : ''}${e['mock'] ? ' [mock]' : ''}${duration(e['durationMs'])}`];
            if (e['prompt']) {
                lines.push('  prompt:', ...indent(text(e['prompt']).split('\n')));
            }
            lines.push('  response:', ...indent(typeof e['response'] === 'string' ? e['response'].split('\n') : json(e['response'])));
            return lines;
        }
        case 'stats': {
            const workers = (e['workers'] ?? {}) as Record<string, Record<string, unknown>>;
            return [
                `${prefix} statistics${duration(e['durationMs'])}:`,
                ...Object.entries(workers).map(
                    ([name, s]) => `    ${name}: ${text(s['completed'] ?? 0)} completed, ${text(s['failed'] ?? 0)} failed${s['medianDurationMs'] !== undefined ? `, median ${duration(s['medianDurationMs']).trim()}` : ''}`,
                ),
            ];
        }
        case 'runnerError': {
            const lines = [`${prefix} ERROR (${text(e['kind'])})${location(e['location'])}: ${text(e['exception'])}${e['exception'] ? ': ' : ''}${text(e['message'])}`];
            const traceback = text(e['traceback']).trimEnd();
            return traceback ? [...lines, ...indent(traceback.split('\n'))] : lines;
        }
        case 'finished':
            return [`${prefix} finished: ${text(e['outcome'])}, ${text(e['completed'] ?? 0)} completed, ${text(e['failed'] ?? 0)} failed, ${text(e['sinkOutputs'] ?? 0)} outputs${duration(e['durationMs'])}`];
        case 'ended':
            return [`${prefix} ended: ${text(e['outcome'])}${e['exitCode'] !== undefined && e['exitCode'] !== null ? ` (exit code ${text(e['exitCode'])})` : ''}${e['message'] ? ` — ${text(e['message'])}` : ''}`];
        default:
            return [`${prefix} ${JSON.stringify(event)}`];
    }
}

/** Sink outputs collected from a run's events, for "Open Outputs". */
export function sinkOutputs(events: unknown[]): unknown[] {
    return events
        .filter((e): e is Event => e !== null && typeof e === 'object' && (e as Event)['event'] === 'sinkOutput')
        .map((e) => ({ worker: e['worker'], taskType: e['taskType'], task: e['task'] }));
}

/** The outcome of an `ended` event, if this is one. */
export function endedOutcome(event: unknown): string | undefined {
    if (event !== null && typeof event === 'object' && (event as Event)['event'] === 'ended') {
        return text((event as Event)['outcome']);
    }
    return undefined;
}
