import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseShowReferences, showGraphUri } from '../logic/lenses';

describe('lens commands', () => {
    it('reads planai.showReferences and keeps only well-formed locations', () => {
        const range = { start: { line: 3, character: 6 }, end: { line: 3, character: 12 } };
        const parsed = parseShowReferences([
            { uri: 'file:///w/flow.py', position: { line: 7, character: 0 }, locations: [{ uri: 'file:///w/a.py', range }, { uri: 'file:///w/b.py' }, 'junk'] },
        ]);
        assert.deepEqual(parsed, { uri: 'file:///w/flow.py', position: { line: 7, character: 0 }, locations: [{ uri: 'file:///w/a.py', range }] });
        assert.equal(parseShowReferences([{ uri: 'file:///w/flow.py' }]), undefined);
        assert.equal(parseShowReferences([]), undefined);
    });

    it('reads the document of planai.showGraph from a string or {uri}', () => {
        assert.equal(showGraphUri(['file:///w/flow.py']), 'file:///w/flow.py');
        assert.equal(showGraphUri([{ uri: 'file:///w/flow.py' }]), 'file:///w/flow.py');
        assert.equal(showGraphUri([{}]), undefined);
        assert.equal(showGraphUri([]), undefined);
    });
});
