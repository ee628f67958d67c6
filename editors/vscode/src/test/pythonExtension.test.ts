import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { activeInterpreter, onActiveInterpreterChanged } from '../logic/pythonExtension';

describe('activeInterpreter', () => {
    it('uses the environments API and prefers the resolved executable', async () => {
        const api = {
            environments: {
                getActiveEnvironmentPath: (_resource: unknown) => ({ id: 'x', path: '/ws/.venv' }),
                resolveEnvironment: async (env: { path: string }) => ({ executable: { uri: { fsPath: `${env.path}/bin/python` } } }),
            },
        };
        assert.deepEqual(await activeInterpreter(api, undefined), ['/ws/.venv/bin/python']);
    });

    it('falls back to the environment path when it cannot be resolved', async () => {
        const api = { environments: { getActiveEnvironmentPath: () => ({ path: '/p/bin/python' }), resolveEnvironment: async () => undefined } };
        assert.deepEqual(await activeInterpreter(api, undefined), ['/p/bin/python']);
    });

    it('uses the legacy execution details API', async () => {
        const api = { settings: { getExecutionDetails: () => ({ execCommand: ['conda', 'run', '-n', 'x', 'python'] }) } };
        assert.deepEqual(await activeInterpreter(api, undefined), ['conda', 'run', '-n', 'x', 'python']);
    });

    it('treats a bare "python" as no selection', async () => {
        const api = { environments: { getActiveEnvironmentPath: () => ({ path: 'python' }) }, settings: { getExecutionDetails: () => ({ execCommand: ['python3'] }) } };
        assert.equal(await activeInterpreter(api, undefined), undefined);
    });

    it('never throws on a missing, odd or failing API', async () => {
        assert.equal(await activeInterpreter(undefined, undefined), undefined);
        assert.equal(await activeInterpreter({ environments: 3 }, undefined), undefined);
        const failing = { environments: { getActiveEnvironmentPath: () => { throw new Error('boom'); } } };
        assert.equal(await activeInterpreter(failing, undefined), undefined);
    });
});

describe('onActiveInterpreterChanged', () => {
    it('subscribes through the environments API and can be disposed', () => {
        let registered: (() => void) | undefined;
        let disposed = false;
        const api = {
            environments: {
                onDidChangeActiveEnvironmentPath: (listener: () => void) => {
                    registered = listener;
                    return { dispose: () => (disposed = true) };
                },
            },
        };
        let calls = 0;
        const subscription = onActiveInterpreterChanged(api, () => calls++);
        registered?.();
        assert.equal(calls, 1);
        subscription?.dispose();
        assert.equal(disposed, true);
        assert.equal(onActiveInterpreterChanged({}, () => undefined), undefined);
    });
});
