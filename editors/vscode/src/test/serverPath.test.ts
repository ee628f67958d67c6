import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ServerPathInput, bundledServerPath, expandPath, resolveServerPath } from '../logic/serverPath';

function input(overrides: Partial<ServerPathInput>, executables: string[]): ServerPathInput {
    const set = new Set(executables);
    return {
        extensionPath: '/ext',
        homeDir: '/home/u',
        platform: 'linux',
        envPath: '/usr/local/bin:/usr/bin',
        isExecutableFile: (file) => set.has(file),
        ...overrides,
    };
}

describe('expandPath', () => {
    const context = { homeDir: '/home/u', workspaceFolder: '/ws', platform: 'linux' };
    it('expands ~, ${userHome} and ${workspaceFolder}, and anchors relative paths at the workspace', () => {
        assert.equal(expandPath('~/bin/planai-lsp', context), '/home/u/bin/planai-lsp');
        assert.equal(expandPath('${userHome}/x', context), '/home/u/x');
        assert.equal(expandPath('${workspaceFolder}/target/debug/planai-lsp', context), '/ws/target/debug/planai-lsp');
        assert.equal(expandPath('target/debug/planai-lsp', context), '/ws/target/debug/planai-lsp');
        assert.equal(expandPath('/abs/planai-lsp', context), '/abs/planai-lsp');
    });
    it('handles Windows paths', () => {
        assert.equal(expandPath('~\\bin\\planai-lsp.exe', { homeDir: 'C:\\Users\\u', platform: 'win32' }), 'C:\\Users\\u\\bin\\planai-lsp.exe');
        assert.equal(expandPath('C:\\tools\\planai-lsp.exe', { homeDir: 'C:\\Users\\u', workspaceFolder: 'D:\\ws', platform: 'win32' }), 'C:\\tools\\planai-lsp.exe');
    });
});

describe('resolveServerPath', () => {
    it('uses planai.server.path when it points to an executable', () => {
        const result = resolveServerPath(input({ configured: '~/planai-lsp' }, ['/home/u/planai-lsp', '/ext/bin/planai-lsp']));
        assert.deepEqual(result, { ok: true, command: '/home/u/planai-lsp', source: 'setting' });
    });

    it('fails loudly (no fallback) when planai.server.path is wrong', () => {
        const result = resolveServerPath(input({ configured: '/nope/planai-lsp' }, ['/ext/bin/planai-lsp']));
        assert.equal(result.ok, false);
        assert.match(result.ok ? '' : result.message, /planai\.server\.path/);
    });

    it('prefers the bundled binary over PATH', () => {
        assert.deepEqual(resolveServerPath(input({}, ['/ext/bin/planai-lsp', '/usr/bin/planai-lsp'])), {
            ok: true,
            command: '/ext/bin/planai-lsp',
            source: 'bundled',
        });
    });

    it('falls back to the first planai-lsp on PATH', () => {
        assert.deepEqual(resolveServerPath(input({}, ['/usr/bin/planai-lsp'])), { ok: true, command: '/usr/bin/planai-lsp', source: 'path' });
    });

    it('never takes a binary from a relative PATH entry (it would come from the workspace)', () => {
        const result = resolveServerPath(input({ envPath: '.:bin::/usr/bin' }, ['planai-lsp', 'bin/planai-lsp']));
        assert.equal(result.ok, false);
        assert.ok(!result.ok && result.tried.every((file) => file.startsWith('/')));
    });

    it('reports what it tried when nothing is found', () => {
        const result = resolveServerPath(input({}, []));
        assert.equal(result.ok, false);
        assert.deepEqual(result.ok ? [] : result.tried, ['/ext/bin/planai-lsp', '/usr/local/bin/planai-lsp', '/usr/bin/planai-lsp']);
    });

    it('looks in a folder PATH names twice once, and reports it once', () => {
        const result = resolveServerPath(input({ envPath: '/usr/local/bin:/usr/bin:/usr/local/bin/' }, []));
        assert.deepEqual(result.ok ? [] : result.tried, ['/ext/bin/planai-lsp', '/usr/local/bin/planai-lsp', '/usr/bin/planai-lsp']);
    });

    it('says to use the Remote settings in a remote window, where User settings are ignored', () => {
        const local = resolveServerPath(input({}, []));
        assert.match(local.ok ? '' : local.message, /in your User settings/);
        const remote = resolveServerPath(input({ remoteName: 'ssh-remote' }, []));
        assert.match(remote.ok ? '' : remote.message, /Remote settings of this ssh-remote window/);
        const wrong = resolveServerPath(input({ configured: '/nope', remoteName: 'wsl' }, []));
        assert.match(wrong.ok ? '' : wrong.message, /Remote settings of this wsl window/);
    });

    it('uses .exe and PATHEXT on Windows', () => {
        assert.equal(bundledServerPath('C:\\ext', 'win32'), 'C:\\ext\\bin\\planai-lsp.exe');
        const result = resolveServerPath(
            input({ extensionPath: 'C:\\ext', platform: 'win32', envPath: 'C:\\a;"C:\\b"', pathExt: '.EXE;.CMD' }, ['C:\\b\\planai-lsp.cmd']),
        );
        assert.deepEqual(result, { ok: true, command: 'C:\\b\\planai-lsp.cmd', source: 'path' });
    });
});
