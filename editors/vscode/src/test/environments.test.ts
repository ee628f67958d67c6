import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
    describeEnvironment,
    displayPath,
    parseEnvironmentList,
    parseTypedInterpreter,
    selectionArgument,
    toQuickPickItems,
} from '../logic/environments';

const serverAnswer = [
    { interpreter: ['/usr/bin/python3'], path: '/usr/bin/python3', kind: 'system', python_version: '3.11.7', planai: null, source: 'PATH', selected: false },
    { interpreter: ['/ws/.venv/bin/python'], path: '/ws/.venv/bin/python', kind: 'venv', python_version: '3.12.1', planai: '0.7.1', source: '.venv', selected: false },
    { interpreter: ['uv', 'run', 'python'], path: '/ws/.uv/bin/python', kind: 'uv', python_version: '3.12.1', planai: '0.7.1', source: 'setting', selected: true },
];

describe('parseEnvironmentList', () => {
    it('reads the server answer', () => {
        const envs = parseEnvironmentList(serverAnswer);
        assert.equal(envs.length, 3);
        assert.deepEqual(envs[0], {
            interpreter: ['/usr/bin/python3'],
            path: '/usr/bin/python3',
            kind: 'system',
            python_version: '3.11.7',
            planai: undefined,
            source: 'PATH',
            selected: false,
        });
        assert.equal(envs[2].selected, true);
    });

    it('is tolerant of other shapes and drops unusable entries', () => {
        assert.deepEqual(parseEnvironmentList(null), []);
        assert.deepEqual(parseEnvironmentList('x'), []);
        assert.equal(parseEnvironmentList({ environments: serverAnswer }).length, 3);
        const envs = parseEnvironmentList([{ interpreter: '/a/python' }, { path: '/b/python' }, { kind: 'venv' }, 42, { interpreter: [], path: '' }]);
        assert.deepEqual(
            envs.map((env) => [env.interpreter, env.path]),
            [
                [['/a/python'], '/a/python'],
                [['/b/python'], '/b/python'],
            ],
        );
    });
});

describe('toQuickPickItems', () => {
    it('puts the selected environment first, then those with PlanAI', () => {
        const items = toQuickPickItems(parseEnvironmentList(serverAnswer), '/ws');
        assert.deepEqual(
            items.map((item) => item.label),
            ['$(check) Python 3.12.1 (uv)', 'Python 3.12.1 (venv)', 'Python 3.11.7 (system)'],
        );
        assert.equal(items[0].picked, true);
        assert.equal(items[1].description, './.venv/bin/python');
        assert.equal(items[0].detail, 'planai 0.7.1 · found via setting · runs: uv run python');
        assert.equal(items[2].detail, 'planai not installed · found via PATH');
        assert.equal(items[1].environment.path, '/ws/.venv/bin/python');
    });

    it('handles an empty list', () => {
        assert.deepEqual(toQuickPickItems([]), []);
    });
});

describe('real server answer', () => {
    it('reads planai-lsp 0.1.0 entries (extra fields ignored, exists kept)', () => {
        const envs = parseEnvironmentList([
            {
                exists: true,
                kind: 'Setting',
                path: '/ws/.venv/bin/python',
                interpreter: ['/ws/.venv/bin/python'],
                selected: true,
                pydantic: '2.14.4',
                site_packages: ['/ws/.venv/lib/python3.11/site-packages'],
                python_version: '3.11.7',
                planai: '0.7.1',
                llm_interface: '0.2.2',
                source: 'planai.python setting',
            },
            { exists: false, kind: 'Pyenv', path: '/gone/python', interpreter: ['/gone/python'], selected: false, source: 'pyenv version 3.9' },
        ]);
        const items = toQuickPickItems(envs, '/ws');
        assert.equal(items[0].label, '$(check) Python 3.11.7 (Setting)');
        assert.equal(items[0].detail, 'planai 0.7.1 · found via planai.python setting');
        assert.equal(items[1].detail, 'interpreter not found · found via pyenv version 3.9');
    });
});

describe('selection helpers', () => {
    it('sends the path for a plain interpreter and the argv for a command', () => {
        const [system, , uv] = parseEnvironmentList(serverAnswer);
        assert.equal(selectionArgument(system), '/usr/bin/python3');
        assert.deepEqual(selectionArgument(uv), ['uv', 'run', 'python']);
    });

    it('parses what the user typed', () => {
        assert.equal(parseTypedInterpreter('  ~/.venvs/x/bin/python '), '~/.venvs/x/bin/python');
        assert.deepEqual(parseTypedInterpreter('["uv", "run", "python"]'), ['uv', 'run', 'python']);
        assert.equal(parseTypedInterpreter('[1, 2]'), undefined);
        assert.equal(parseTypedInterpreter('[oops'), undefined);
        assert.equal(parseTypedInterpreter('   '), undefined);
    });

    it('describes environments relative to the workspace', () => {
        const [, venv] = parseEnvironmentList(serverAnswer);
        assert.equal(describeEnvironment(venv, '/ws/'), 'Python 3.12.1 (venv) at ./.venv/bin/python');
        assert.equal(displayPath('/wsx/python', '/ws'), '/wsx/python');
        assert.equal(displayPath('C:\\ws\\.venv\\python.exe', 'C:\\ws'), '.\\.venv\\python.exe');
    });
});
