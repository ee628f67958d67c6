import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
    buildInitializationOptions,
    buildPlanaiSection,
    effectiveValue,
    normalizePython,
    patchConfigurationResult,
} from '../logic/settings';

describe('effectiveValue', () => {
    const inspection = { defaultValue: '', globalValue: '/usr/bin/python3', workspaceValue: './evil/python', workspaceFolderValue: undefined };

    it('prefers folder, then workspace, then user, then default values in a trusted workspace', () => {
        assert.equal(effectiveValue(inspection, true), './evil/python');
        assert.equal(effectiveValue({ ...inspection, workspaceFolderValue: './folder/python' }, true), './folder/python');
        assert.equal(effectiveValue({ defaultValue: 'd' }, true), 'd');
    });

    it('ignores workspace values of restricted settings in Restricted Mode', () => {
        assert.equal(effectiveValue(inspection, false), '/usr/bin/python3');
        assert.equal(effectiveValue({ defaultValue: '', workspaceValue: './x' }, false), '');
        assert.equal(effectiveValue(undefined, false), undefined);
    });
});

describe('normalizePython', () => {
    it('keeps paths and argv lists', () => {
        assert.equal(normalizePython(' /v/bin/python '), '/v/bin/python');
        assert.deepEqual(normalizePython(['uv', 'run', 'python']), ['uv', 'run', 'python']);
    });

    it('treats empty and ill-typed values as unset', () => {
        for (const value of ['', '   ', [], [''], [1, 2], 3, null, undefined, {}]) {
            assert.equal(normalizePython(value), undefined, JSON.stringify(value));
        }
    });
});

describe('buildPlanaiSection', () => {
    it('passes the run limits as the server reads them (planai.run.*), dropping invalid values', () => {
        const section = buildPlanaiSection({ runTimeoutSeconds: 60, runOutputCapBytes: 4096, runMaxConcurrent: 0, runWorkingDirectory: 'workspace' }, { trusted: true });
        assert.deepEqual(section.run, { timeoutSeconds: 60, outputCapBytes: 4096, workingDirectory: 'workspace' });
        assert.equal(buildPlanaiSection({ runWorkingDirectory: 'elsewhere', runTimeoutSeconds: -5 }, { trusted: true }).run, undefined);
    });

    it('passes planai.run.niceness, 0 included (the server\'s own priority), capped at 19', () => {
        assert.deepEqual(buildPlanaiSection({ runNiceness: 0 }, { trusted: true }).run, { niceness: 0 });
        assert.deepEqual(buildPlanaiSection({ runNiceness: 25 }, { trusted: true }).run, { niceness: 19 });
        assert.equal(buildPlanaiSection({ runNiceness: -1 }, { trusted: true }).run, undefined);
    });

    it('maps every setting and prefers an explicit planai.python', () => {
        const section = buildPlanaiSection(
            { python: '/v/bin/python', validationRun: 'onType', debounceMs: 150, timeoutMs: 5000, logLevel: 'debug' },
            { trusted: true, editorPython: ['/editor/python'] },
        );
        assert.deepEqual(section, {
            python: '/v/bin/python',
            validation: { run: 'onType', debounceMs: 150, timeoutMs: 5000 },
            logLevel: 'debug',
        });
    });

    it("uses the Python extension's interpreter when planai.python is not set", () => {
        const section = buildPlanaiSection({ python: '' }, { trusted: true, editorPython: ['/p/.venv/bin/python'] });
        assert.deepEqual(section.python, ['/p/.venv/bin/python']);
    });

    it('sends null (discover) when nothing is set, and no editor interpreter when untrusted', () => {
        assert.equal(buildPlanaiSection({}, { trusted: true }).python, null);
        assert.equal(buildPlanaiSection({}, { trusted: false, editorPython: ['/p/python'] }).python, null);
    });

    it('passes autoSelectWorkspaceVenv on only when it is a boolean', () => {
        assert.equal(buildPlanaiSection({ autoSelectWorkspaceVenv: false }, { trusted: true }).autoSelectWorkspaceVenv, false);
        assert.equal('autoSelectWorkspaceVenv' in buildPlanaiSection({ autoSelectWorkspaceVenv: 'no' }, { trusted: true }), false);
    });

    it('drops invalid enum and number values instead of sending them', () => {
        const section = buildPlanaiSection({ validationRun: 'sometimes', debounceMs: -1, timeoutMs: 'x', logLevel: 'loud' }, { trusted: true });
        assert.deepEqual(section, { python: null, validation: {} });
    });
});

describe('buildInitializationOptions', () => {
    it('nests the section under settings.planai and carries the trust flag', () => {
        const section = buildPlanaiSection({ validationRun: 'off' }, { trusted: false });
        assert.deepEqual(buildInitializationOptions(section, false), {
            settings: { planai: { python: null, validation: { run: 'off' } } },
            untrustedWorkspace: true,
        });
        assert.equal(buildInitializationOptions(section, true).untrustedWorkspace, false);
    });
});

describe('patchConfigurationResult', () => {
    const section = buildPlanaiSection({ validationRun: 'onSave', debounceMs: 300 }, { trusted: true, editorPython: ['/p/python'] });

    it('rewrites the planai section and keeps unrelated keys', () => {
        const result = patchConfigurationResult(
            [{ section: 'planai' }, { section: 'python' }],
            [{ python: '', server: { path: '' }, validation: { run: 'onSave', debounceMs: 300, timeoutMs: 10000 } }, { defaultInterpreterPath: 'x' }],
            section,
        );
        assert.deepEqual(result, [
            { python: ['/p/python'], server: { path: '' }, validation: { run: 'onSave', debounceMs: 300, timeoutMs: 10000 } },
            { defaultInterpreterPath: 'x' },
        ]);
    });

    it('answers planai.python directly and copes with a null answer', () => {
        assert.deepEqual(patchConfigurationResult([{ section: 'planai.python' }], [''], section), [['/p/python']]);
        assert.deepEqual(patchConfigurationResult([{ section: 'planai' }], [null], section), [
            { python: ['/p/python'], validation: { run: 'onSave', debounceMs: 300 } },
        ]);
    });
});
