/**
 * Maps VS Code settings to what planai-lsp reads: `initializationOptions` at start-up and the
 * answer to `workspace/configuration` (section `planai`) afterwards.
 *
 * Pure: no `vscode` import, so it is unit-tested with node:test.
 */

/** `planai.python`: an interpreter path (or venv directory), or an argv list. */
export type PythonSetting = string | string[];

export const VALIDATION_RUN_VALUES = ['onSave', 'onType', 'off'] as const;
export type ValidationRun = (typeof VALIDATION_RUN_VALUES)[number];

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The `planai` settings section as the server reads it. */
export interface PlanaiSection {
    /** `null` tells the server "no explicit interpreter: discover one". */
    python: PythonSetting | null;
    validation: {
        run?: ValidationRun;
        debounceMs?: number;
        timeoutMs?: number;
        maxConcurrent?: number;
    };
    logLevel?: LogLevel;
    /** `false`: the workspace's own `.venv`/`venv` runs only once chosen explicitly. */
    autoSelectWorkspaceVenv?: boolean;
    /** Limits of workflow runs (`planai.run`): see docs/protocol.md. */
    run?: {
        timeoutSeconds?: number;
        outputCapBytes?: number;
        maxConcurrent?: number;
        niceness?: number;
        workingDirectory?: RunWorkingDirectory;
    };
}

export const RUN_WORKING_DIRECTORIES = ['temp', 'workspace'] as const;
export type RunWorkingDirectory = (typeof RUN_WORKING_DIRECTORIES)[number];

export interface InitializationOptions {
    settings: { planai: PlanaiSection };
    /** Following ty's convention: when true the server never launches an interpreter. */
    untrustedWorkspace: boolean;
}

/** The shape of `WorkspaceConfiguration.inspect()`, reduced to what we use. */
export interface SettingInspection<T> {
    defaultValue?: T;
    globalValue?: T;
    workspaceValue?: T;
    workspaceFolderValue?: T;
}

/**
 * The value that applies, honouring Restricted Mode: in an untrusted workspace a restricted
 * setting (`planai.python`, `planai.server.path`) may only come from user settings, never from
 * the workspace that is not trusted yet.
 */
export function effectiveValue<T>(inspection: SettingInspection<T> | undefined, trusted: boolean): T | undefined {
    if (!inspection) {
        return undefined;
    }
    if (trusted) {
        return inspection.workspaceFolderValue ?? inspection.workspaceValue ?? inspection.globalValue ?? inspection.defaultValue;
    }
    return inspection.globalValue ?? inspection.defaultValue;
}

/** A usable `planai.python` value, or undefined for "not set" (empty string, empty list, junk). */
export function normalizePython(value: unknown): PythonSetting | undefined {
    if (typeof value === 'string') {
        const trimmed = value.trim();
        return trimmed === '' ? undefined : trimmed;
    }
    if (Array.isArray(value)) {
        if (!value.every((part) => typeof part === 'string')) {
            return undefined;
        }
        const argv = value as string[];
        if (argv.length === 0 || argv[0].trim() === '') {
            return undefined;
        }
        return argv.slice();
    }
    return undefined;
}

function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
    return typeof value === 'string' && (values as readonly string[]).includes(value);
}

function nonNegativeInteger(value: unknown): number | undefined {
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}

/** Raw setting values as read from VS Code (already resolved for Restricted Mode). */
export interface RawSettings {
    python?: unknown;
    validationRun?: unknown;
    debounceMs?: unknown;
    timeoutMs?: unknown;
    maxConcurrent?: unknown;
    logLevel?: unknown;
    autoSelectWorkspaceVenv?: unknown;
    runTimeoutSeconds?: unknown;
    runOutputCapBytes?: unknown;
    runMaxConcurrent?: unknown;
    runNiceness?: unknown;
    runWorkingDirectory?: unknown;
}

export interface SectionContext {
    /** `vscode.workspace.isTrusted`. */
    trusted: boolean;
    /** The interpreter selected in the Python extension, as an argv list, if any. */
    editorPython?: string[];
}

/**
 * Builds the `planai` section. An explicit `planai.python` wins; otherwise the Python
 * extension's selection is passed on (only in a trusted workspace: untrusted, the server runs
 * no interpreter anyway and should not be told about one).
 */
export function buildPlanaiSection(raw: RawSettings, context: SectionContext): PlanaiSection {
    let python: PythonSetting | null = normalizePython(raw.python) ?? null;
    if (python === null && context.trusted) {
        python = normalizePython(context.editorPython) ?? null;
    }
    const section: PlanaiSection = { python, validation: {} };
    if (isOneOf(VALIDATION_RUN_VALUES, raw.validationRun)) {
        section.validation.run = raw.validationRun;
    }
    const debounceMs = nonNegativeInteger(raw.debounceMs);
    if (debounceMs !== undefined) {
        section.validation.debounceMs = debounceMs;
    }
    const timeoutMs = nonNegativeInteger(raw.timeoutMs);
    if (timeoutMs !== undefined) {
        section.validation.timeoutMs = timeoutMs;
    }
    const maxConcurrent = nonNegativeInteger(raw.maxConcurrent);
    if (maxConcurrent !== undefined && maxConcurrent > 0) {
        section.validation.maxConcurrent = maxConcurrent;
    }
    if (isOneOf(LOG_LEVELS, raw.logLevel)) {
        section.logLevel = raw.logLevel;
    }
    if (typeof raw.autoSelectWorkspaceVenv === 'boolean') {
        section.autoSelectWorkspaceVenv = raw.autoSelectWorkspaceVenv;
    }
    const run: NonNullable<PlanaiSection['run']> = {};
    const runTimeout = nonNegativeInteger(raw.runTimeoutSeconds);
    if (runTimeout !== undefined && runTimeout > 0) {
        run.timeoutSeconds = runTimeout;
    }
    const outputCap = nonNegativeInteger(raw.runOutputCapBytes);
    if (outputCap !== undefined && outputCap > 0) {
        run.outputCapBytes = outputCap;
    }
    const runConcurrent = nonNegativeInteger(raw.runMaxConcurrent);
    if (runConcurrent !== undefined && runConcurrent > 0) {
        run.maxConcurrent = runConcurrent;
    }
    // 0 is meaningful here: the run keeps the server's priority.
    const niceness = nonNegativeInteger(raw.runNiceness);
    if (niceness !== undefined) {
        run.niceness = Math.min(niceness, 19);
    }
    if (isOneOf(RUN_WORKING_DIRECTORIES, raw.runWorkingDirectory)) {
        run.workingDirectory = raw.runWorkingDirectory;
    }
    if (Object.keys(run).length > 0) {
        section.run = run;
    }
    return section;
}

export function buildInitializationOptions(section: PlanaiSection, trusted: boolean): InitializationOptions {
    return { settings: { planai: section }, untrustedWorkspace: !trusted };
}

/** One item of a `workspace/configuration` request. */
export interface ConfigurationItemLike {
    section?: string;
    scopeUri?: string;
}

/**
 * Rewrites VS Code's own answer to `workspace/configuration` so that the server sees the same
 * `planai` section as in initializationOptions (in particular the Python extension's
 * interpreter when `planai.python` is not set, which VS Code's answer alone would not carry).
 * Items for other sections are returned unchanged.
 */
export function patchConfigurationResult(items: readonly ConfigurationItemLike[], results: readonly unknown[], section: PlanaiSection): unknown[] {
    return results.map((result, index) => {
        const name = items[index]?.section;
        if (name === 'planai') {
            const base = result !== null && typeof result === 'object' && !Array.isArray(result) ? (result as Record<string, unknown>) : {};
            const baseValidation = base['validation'];
            const validation = {
                ...(baseValidation !== null && typeof baseValidation === 'object' ? (baseValidation as Record<string, unknown>) : {}),
                ...section.validation,
            };
            const patched: Record<string, unknown> = { ...base, python: section.python, validation };
            if (section.logLevel !== undefined) {
                patched['logLevel'] = section.logLevel;
            }
            return patched;
        }
        if (name === 'planai.python') {
            return section.python;
        }
        return result;
    });
}
