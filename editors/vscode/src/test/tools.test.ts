import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { PROVIDERS, moduleNameFor, parseModels, parseTasks, summarizeValidation, tasksMarkdown } from '../logic/tools';

describe('moduleNameFor', () => {
    it('turns a workspace-relative file into its dotted module', () => {
        assert.equal(moduleNameFor('flow.py'), 'flow');
        assert.equal(moduleNameFor('pkg/sub/flow.py'), 'pkg.sub.flow');
        assert.equal(moduleNameFor('pkg\\flow.py'), 'pkg.flow');
        assert.equal(moduleNameFor('pkg/__init__.py'), 'pkg');
    });
    it('refuses paths that are not module names', () => {
        assert.equal(moduleNameFor('my-scripts/flow.py'), undefined);
        assert.equal(moduleNameFor('2024/flow.py'), undefined);
        assert.equal(moduleNameFor(''), undefined);
    });
});

describe('tasksMarkdown', () => {
    const result = {
        tasks: [
            {
                name: 'Question',
                module: 'flow',
                doc: 'A question to answer.',
                path: '/w/flow.py',
                line: 8,
                fields: [
                    { name: 'text', annotation: 'str', required: true, description: 'the | question' },
                    { name: 'lang', annotation: 'Literal["en", "de"]', required: false, default: "'en'" },
                ],
            },
            { name: 'Empty', fields: [] },
            { nonsense: true },
        ],
    };
    it('lists every Task with a table of its fields, escaping table syntax', () => {
        const text = tasksMarkdown('flow', result);
        assert.match(text, /^# Tasks in `flow`/);
        assert.match(text, /## Question\n\nDefined in `\/w\/flow\.py:8`\.\n\nA question to answer\./);
        assert.match(text, /\| `text` \| `str` \| yes \|  \| the \\\| question \|/);
        assert.match(text, /\| `lang` \| `Literal\["en", "de"\]` \| no \| `'en'` \|  \|/);
        assert.match(text, /## Empty\n\nNo fields of its own\./);
        assert.equal(parseTasks(result).length, 2);
    });
    it('says when loading failed or there is nothing', () => {
        assert.match(tasksMarkdown('broken', { tasks: [], problems: [{ message: 'ModuleNotFoundError: x' }] }), /Loading the module failed:\n\n- ModuleNotFoundError: x/);
        assert.match(tasksMarkdown('plain', { tasks: [] }), /defines no planai `Task` subclasses/);
    });
});

describe('summarizeValidation and parseModels', () => {
    it('reads pydantic errors with their location', () => {
        assert.deepEqual(summarizeValidation({ ok: true, errors: [] }), { ok: true, lines: [] });
        const failed = summarizeValidation({ ok: false, errors: [{ loc: ['items', 0, 'x'], message: 'Field required', type: 'missing' }, { loc: [], message: 'bad', type: '' }] });
        assert.equal(failed.ok, false);
        assert.deepEqual(failed.lines, ['items.0.x: Field required (missing)', 'bad']);
    });
    it('reads model names and knows the providers', () => {
        assert.deepEqual(parseModels({ models: ['llama3', 7, 'qwen'] }), ['llama3', 'qwen']);
        assert.deepEqual(parseModels(null), []);
        assert.ok(PROVIDERS.includes('ollama') && PROVIDERS.includes('openai'));
    });
});
