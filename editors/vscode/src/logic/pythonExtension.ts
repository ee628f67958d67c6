/**
 * Reads the interpreter selected in the Python extension (`ms-python.python`) without a
 * dependency on it or on `@vscode/python-extension`: its exports are typed loosely and checked
 * at run time, so an absent, inactive or changed extension simply yields `undefined`.
 *
 * Pure: the extension's exports are passed in.
 */

export const PYTHON_EXTENSION_ID = 'ms-python.python';

type AnyRecord = Record<string, unknown>;

function record(value: unknown): AnyRecord | undefined {
    return value !== null && (typeof value === 'object' || typeof value === 'function') ? (value as AnyRecord) : undefined;
}

function fn(owner: AnyRecord | undefined, name: string): ((...args: unknown[]) => unknown) | undefined {
    const value = owner?.[name];
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(owner) : undefined;
}

/** A bare `python`/`python3` means "nothing selected": let the server discover the environment. */
function meaningfulPath(value: unknown): string | undefined {
    if (typeof value !== 'string') {
        return undefined;
    }
    const trimmed = value.trim();
    if (trimmed === '' || /^python(3(\.\d+)?)?(\.exe)?$/i.test(trimmed)) {
        return undefined;
    }
    return trimmed;
}

/**
 * The active interpreter for `resource` (a `vscode.Uri` or undefined) as an argv list.
 * Uses the environments API (`environments.getActiveEnvironmentPath` / `resolveEnvironment`)
 * and falls back to the legacy `settings.getExecutionDetails(resource).execCommand`.
 */
export async function activeInterpreter(exportsValue: unknown, resource: unknown): Promise<string[] | undefined> {
    const api = record(exportsValue);
    try {
        const environments = record(api?.['environments']);
        const getActive = fn(environments, 'getActiveEnvironmentPath');
        if (getActive) {
            const envPath = record(await getActive(resource));
            const resolve = fn(environments, 'resolveEnvironment');
            if (envPath && resolve) {
                const resolved = record(await resolve(envPath));
                const executable = record(resolved?.['executable']);
                const uri = record(executable?.['uri']);
                const fromUri = meaningfulPath(uri?.['fsPath']);
                if (fromUri) {
                    return [fromUri];
                }
            }
            const direct = meaningfulPath(envPath?.['path']);
            if (direct) {
                return [direct];
            }
        }
        const settings = record(api?.['settings']);
        const getExecutionDetails = fn(settings, 'getExecutionDetails');
        if (getExecutionDetails) {
            const details = record(await getExecutionDetails(resource));
            const execCommand = details?.['execCommand'];
            if (Array.isArray(execCommand) && execCommand.length > 0 && execCommand.every((part) => typeof part === 'string')) {
                const argv = execCommand as string[];
                if (argv.length > 1 || meaningfulPath(argv[0])) {
                    return argv.slice();
                }
            }
        }
    } catch {
        // The Python extension is optional; any failure means "no editor interpreter".
    }
    return undefined;
}

export interface DisposableLike {
    dispose(): unknown;
}

/** Subscribes to interpreter changes if the API offers it. */
export function onActiveInterpreterChanged(exportsValue: unknown, listener: () => void): DisposableLike | undefined {
    const api = record(exportsValue);
    const environments = record(api?.['environments']);
    const subscribe = fn(environments, 'onDidChangeActiveEnvironmentPath');
    const legacy = fn(record(api?.['settings']), 'onDidChangeExecutionDetails');
    const event = subscribe ?? legacy;
    if (!event) {
        return undefined;
    }
    try {
        const disposable = record(event(() => listener()));
        const dispose = fn(disposable, 'dispose');
        return dispose ? { dispose } : undefined;
    } catch {
        return undefined;
    }
}
