/**
 * Helpers for calling the server's commands through `workspace/executeCommand` so that a
 * server that does not know a command (an older build) fails with a clear message.
 *
 * Pure: no `vscode` import.
 */

export const SERVER_COMMANDS = {
    listEnvironments: 'planai.listEnvironments',
    selectEnvironment: 'planai.selectEnvironment',
    restartHelper: 'planai.restartHelper',
    showGraph: 'planai.showGraph',
    listModels: 'planai.listModels',
    introspectTasks: 'planai.introspectTasks',
} as const;

/** The extension's own command ids (distinct from the server's, which the client registers). */
export const EXTENSION_COMMANDS = {
    selectEnvironment: 'planai.vscode.selectEnvironment',
    restartServer: 'planai.vscode.restartServer',
    restartHelper: 'planai.vscode.restartHelper',
    showLogs: 'planai.vscode.showLogs',
    showGraph: 'planai.vscode.showGraph',
    runFile: 'planai.vscode.runFile',
    debugFile: 'planai.vscode.debugFile',
    rerunLastRun: 'planai.vscode.rerunLastRun',
    showRuns: 'planai.vscode.showRuns',
    validateTaskData: 'planai.vscode.validateTaskData',
    listModels: 'planai.vscode.listModels',
    introspectTasks: 'planai.vscode.introspectTasks',
    importEditorGraph: 'planai.vscode.importEditorGraph',
    exportEditorGraph: 'planai.vscode.exportEditorGraph',
} as const;

/** True when the server advertised `command` in `executeCommandProvider.commands`. */
export function isCommandAdvertised(capabilities: unknown, command: string): boolean {
    if (capabilities === null || typeof capabilities !== 'object') {
        return false;
    }
    const provider = (capabilities as Record<string, unknown>)['executeCommandProvider'];
    if (provider === null || typeof provider !== 'object') {
        return false;
    }
    const commands = (provider as Record<string, unknown>)['commands'];
    return Array.isArray(commands) && commands.includes(command);
}

export function notSupportedMessage(command: string, serverVersion?: string): string {
    const server = serverVersion ? `planai-lsp ${serverVersion}` : 'This planai-lsp';
    return `${server} does not support the command ${command}. Update planai-lsp to use it.`;
}

/** JSON-RPC error codes that mean "the server does not know this request or command". */
const UNKNOWN_COMMAND_CODES = new Set([-32601 /* MethodNotFound */, -32602 /* InvalidParams: unknown command */]);

/** A user-facing message for an error thrown by `sendRequest`. */
export function describeCommandError(error: unknown, command: string): string {
    if (error !== null && typeof error === 'object') {
        const code = (error as Record<string, unknown>)['code'];
        const message = (error as Record<string, unknown>)['message'];
        if (typeof code === 'number' && UNKNOWN_COMMAND_CODES.has(code) && typeof message === 'string' && /unknown command|not found|unhandled method/i.test(message)) {
            return notSupportedMessage(command);
        }
        if (typeof message === 'string' && message !== '') {
            return `PlanAI: ${command} failed: ${message}`;
        }
    }
    return `PlanAI: ${command} failed: ${String(error)}`;
}
