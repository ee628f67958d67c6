import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { endedOutcome, formatRunEvent, formatRunEvents, isRunCommand, parseRunArgument, parseRunEvents, parseRunId, runTitle, sinkOutputs, withProgressToken } from '../logic/runs';

describe('run arguments', () => {
    it('recognises the run commands and their one argument object', () => {
        assert.ok(isRunCommand('planai.run'));
        assert.ok(isRunCommand('planai.debug'));
        assert.ok(!isRunCommand('planai.showGraph'));
        assert.deepEqual(parseRunArgument([{ uri: 'file:///w/flow.py', graph: 'build' }]), { uri: 'file:///w/flow.py', graph: 'build' });
        assert.equal(parseRunArgument(['file:///w/flow.py']), undefined);
        assert.equal(parseRunArgument([]), undefined);
        assert.equal(parseRunArgument([{ graph: 'build' }]), undefined);
    });

    it('adds the progress token without changing the rest', () => {
        assert.deepEqual(withProgressToken({ uri: 'file:///w/a.py', mockLlm: true }, 't1'), { uri: 'file:///w/a.py', mockLlm: true, workDoneToken: 't1' });
    });

    it('reads the run id and titles the progress', () => {
        assert.equal(parseRunId({ runId: 'r7' }), 'r7');
        assert.equal(parseRunId({ runId: 3 }), '3');
        assert.equal(parseRunId(null), undefined);
        assert.equal(runTitle('planai.run', { uri: 'x', graph: 'build' }, 'flow.py'), 'PlanAI: Running build() in flow.py');
        assert.equal(runTitle('planai.debug', { uri: 'x', mockLlm: true }, 'flow.py'), 'PlanAI: Debugging flow.py (mock LLM)');
    });
});

describe('formatRunEvent', () => {
    it('shows task progress with worker, type and duration', () => {
        assert.deepEqual(formatRunEvent('r1', { event: 'taskQueued', worker: 'Asker', taskType: 'Question' }), ['[r1] queued    Question → Asker']);
        assert.deepEqual(formatRunEvent('r1', { event: 'taskCompleted', worker: 'Asker', taskType: 'Question', durationMs: 12.4 }), ['[r1] completed Question in Asker (12 ms)']);
        assert.deepEqual(formatRunEvent('r1', { event: 'taskCompleted', worker: 'Asker', taskType: 'Question', durationMs: 2500 }), ['[r1] completed Question in Asker (2.50 s)']);
    });

    it('shows a failure with its location and traceback', () => {
        const lines = formatRunEvent('r1', {
            event: 'taskFailed',
            worker: 'Answerer',
            taskType: 'Sentence',
            exception: 'AttributeError',
            message: "'Sentence' object has no attribute 'txt'",
            traceback: 'Traceback (most recent call last):\n  File "flow.py", line 9',
            location: { path: '/w/flow.py', line: 9, column: 8 },
        });
        assert.equal(lines[0], "[r1] FAILED    Sentence in Answerer at /w/flow.py:9: AttributeError: 'Sentence' object has no attribute 'txt'");
        assert.deepEqual(lines.slice(1), ['    Traceback (most recent call last):', '      File "flow.py", line 9']);
    });

    it('shows sink outputs as indented JSON, output lines, logs and the end', () => {
        assert.deepEqual(formatRunEvent('r2', { event: 'sinkOutput', worker: 'W', taskType: 'Answer', task: { text: 'hi' } }), ['[r2] output of W (Answer):', '    {', '      "text": "hi"', '    }']);
        assert.deepEqual(formatRunEvent('r2', { event: 'output', stream: 'stderr', text: 'oops' }), ['[r2] stderr| oops']);
        assert.deepEqual(formatRunEvent('r2', { event: 'log', level: 'WARNING', logger: 'planai', message: 'slow' }), ['[r2] WARNING planai: slow']);
        assert.deepEqual(formatRunEvent('r2', { event: 'ended', outcome: 'cancelled', exitCode: null }), ['[r2] ended: cancelled']);
        assert.deepEqual(formatRunEvent('r2', { event: 'ended', outcome: 'succeeded', exitCode: 0 }), ['[r2] ended: succeeded (exit code 0)']);
    });

    it('shows LLM calls with prompt and response, and statistics per worker', () => {
        const llm = formatRunEvent('r3', { event: 'llmCall', worker: 'Writer', prompt: 'Write\\nnow', response: { text: 'x' }, mock: true });
        assert.equal(llm[0], '[r3] LLM call by Writer [mock]');
        assert.ok(llm.includes('  prompt:') && llm.includes('  response:'));
        const stats = formatRunEvent('r3', { event: 'stats', workers: { Writer: { completed: 2, failed: 1, medianDurationMs: 5 } }, durationMs: 1500 });
        assert.deepEqual(stats, ['[r3] statistics (1.50 s):', '    Writer: 2 completed, 1 failed, median (5 ms)']);
    });

    it('shows an unknown event as its JSON rather than dropping it', () => {
        assert.deepEqual(formatRunEvent('r4', { event: 'somethingNew', x: 1 }), ['[r4] {"event":"somethingNew","x":1}']);
    });
});

describe('planai/runEvents', () => {
    it('reads a batch of events, in order, and formats it as one text', () => {
        const batch = parseRunEvents({
            runId: 'r5',
            uri: 'file:///w/flow.py',
            events: [
                { event: 'taskQueued', worker: 'Asker', taskType: 'Question' },
                { event: 'output', stream: 'stdout', text: 'hi' },
                { event: 'ended', outcome: 'succeeded', exitCode: 0 },
            ],
        });
        assert.equal(batch.runId, 'r5');
        assert.equal(batch.events.length, 3);
        assert.equal(formatRunEvents(batch), ['[r5] queued    Question → Asker', '[r5] stdout| hi', '[r5] ended: succeeded (exit code 0)'].join('\n'));
    });

    it('treats a malformed notification as one without events', () => {
        assert.deepEqual(parseRunEvents(null), { runId: '?', events: [] });
        assert.deepEqual(parseRunEvents({ runId: 4, events: 'x' }), { runId: '4', events: [] });
        assert.equal(formatRunEvents(parseRunEvents({ runId: 'r', events: [] })), '');
    });
});

describe('run results', () => {
    it('collects sink outputs and finds the end', () => {
        const events = [
            { event: 'taskQueued', worker: 'A', taskType: 'Q' },
            { event: 'sinkOutput', worker: 'B', taskType: 'Answer', task: { text: 'a' } },
            { event: 'ended', outcome: 'succeeded' },
        ];
        assert.deepEqual(sinkOutputs(events), [{ worker: 'B', taskType: 'Answer', task: { text: 'a' } }]);
        assert.equal(endedOutcome(events[2]), 'succeeded');
        assert.equal(endedOutcome(events[0]), undefined);
    });
});
