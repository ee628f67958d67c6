/**
 * Finds the planai-lsp executable: the `planai.server.path` setting, else the binary bundled in
 * the extension (`bin/planai-lsp`), else `planai-lsp` on PATH.
 *
 * Pure: file-system access is injected, and the platform is a parameter, so the Windows rules
 * are unit-tested on any machine.
 */
import * as path from 'node:path';

export const SERVER_NAME = 'planai-lsp';

export interface ServerPathInput {
    /** The effective `planai.server.path` (already filtered for Restricted Mode). */
    configured?: string;
    /** Root folder of the installed extension. */
    extensionPath: string;
    /** First workspace folder, for `${workspaceFolder}` and relative paths. */
    workspaceFolder?: string;
    homeDir: string;
    /** `process.platform`. */
    platform: string;
    /** `process.env.PATH`. */
    envPath?: string;
    /** `process.env.PATHEXT` (Windows). */
    pathExt?: string;
    /** True when `file` exists, is a regular file and is executable. */
    isExecutableFile: (file: string) => boolean;
    /**
     * `vscode.env.remoteName` (`ssh-remote`, `wsl`, `dev-container`, … and code-server's
     * window): in a remote window, machine-overridable settings are read from the Remote
     * settings, and a value in User settings is ignored, so the message says where to set it.
     */
    remoteName?: string;
}

/** Where `planai.server.path` and `planai.python` must be set in this window. */
export function whereToSetMachineSettings(remoteName: string | undefined): string {
    if (!remoteName) {
        return 'in your User settings';
    }
    return `in the Remote settings of this ${remoteName} window (Preferences: Open Remote Settings; values in User settings are ignored in a remote window)`;
}

export type ServerSource = 'setting' | 'bundled' | 'path';

export type ServerPathResult =
    | { ok: true; command: string; source: ServerSource }
    | { ok: false; message: string; tried: string[] };

function pathApi(platform: string): path.PlatformPath {
    return platform === 'win32' ? path.win32 : path.posix;
}

/** Expands `~`, `${userHome}` and `${workspaceFolder}`, and anchors relative paths at the workspace folder. */
export function expandPath(value: string, context: { homeDir: string; workspaceFolder?: string; platform: string }): string {
    const api = pathApi(context.platform);
    let expanded = value.trim();
    expanded = expanded.replace(/\$\{userHome\}/g, context.homeDir);
    if (context.workspaceFolder !== undefined) {
        expanded = expanded.replace(/\$\{workspaceFolder\}/g, context.workspaceFolder);
    }
    if (expanded === '~') {
        expanded = context.homeDir;
    } else if (expanded.startsWith('~/') || (context.platform === 'win32' && expanded.startsWith('~\\'))) {
        expanded = api.join(context.homeDir, expanded.slice(2));
    }
    if (!api.isAbsolute(expanded) && context.workspaceFolder !== undefined) {
        expanded = api.join(context.workspaceFolder, expanded);
    }
    return expanded;
}

function executableNames(platform: string, pathExt: string | undefined): string[] {
    if (platform !== 'win32') {
        return [SERVER_NAME];
    }
    const extensions = (pathExt ?? '.COM;.EXE;.BAT;.CMD')
        .split(';')
        .map((ext) => ext.trim().toLowerCase())
        .filter((ext) => ext !== '');
    return [`${SERVER_NAME}.exe`, ...extensions.filter((ext) => ext !== '.exe').map((ext) => `${SERVER_NAME}${ext}`)];
}

/** The bundled binary's location inside the extension. */
export function bundledServerPath(extensionPath: string, platform: string): string {
    return pathApi(platform).join(extensionPath, 'bin', platform === 'win32' ? `${SERVER_NAME}.exe` : SERVER_NAME);
}

export function resolveServerPath(input: ServerPathInput): ServerPathResult {
    const api = pathApi(input.platform);
    const tried: string[] = [];

    const configured = input.configured?.trim();
    if (configured) {
        const candidate = expandPath(configured, input);
        if (input.isExecutableFile(candidate)) {
            return { ok: true, command: candidate, source: 'setting' };
        }
        // An explicit setting that is wrong must not silently fall back to another binary.
        return {
            ok: false,
            tried: [candidate],
            message: `planai.server.path is set to "${configured}", but ${candidate} is not an executable file. Set it ${whereToSetMachineSettings(input.remoteName)}.`,
        };
    }

    const bundled = bundledServerPath(input.extensionPath, input.platform);
    tried.push(bundled);
    if (input.isExecutableFile(bundled)) {
        return { ok: true, command: bundled, source: 'bundled' };
    }

    const delimiter = input.platform === 'win32' ? ';' : ':';
    const names = executableNames(input.platform, input.pathExt);
    for (const rawDir of (input.envPath ?? '').split(delimiter)) {
        const dir = rawDir.trim().replace(/^"(.*)"$/, '$1');
        // Relative PATH entries ("", ".", "bin") would resolve inside the opened workspace,
        // which may not be trusted: never take a server binary from there.
        if (dir === '' || !api.isAbsolute(dir)) {
            continue;
        }
        for (const name of names) {
            const candidate = api.join(dir, name);
            // PATH often names a folder twice (a login shell and an activation script both
            // prepend it): look, and report, once.
            if (tried.includes(candidate)) {
                continue;
            }
            tried.push(candidate);
            if (input.isExecutableFile(candidate)) {
                return { ok: true, command: candidate, source: 'path' };
            }
        }
    }
    return {
        ok: false,
        tried,
        message: `Could not find ${SERVER_NAME}: it is not bundled with this extension and not on PATH. Install planai-lsp so that it is on PATH, or set planai.server.path to the executable ${whereToSetMachineSettings(input.remoteName)}.`,
    };
}
