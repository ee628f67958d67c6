import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { graphFileFor, interopWarnings, moduleFileFor } from '../logic/interop';

describe('interop', () => {
    it('proposes an importable module name next to the graph, and a graph next to the module', () => {
        assert.equal(moduleFileFor('/w/graphs/my-graph.json'), '/w/graphs/my_graph.py');
        assert.equal(moduleFileFor('/w/2024 plan.JSON'), '/w/graph_2024_plan.py');
        assert.equal(moduleFileFor('C:\\w\\flow.json'), 'C:\\w\\flow.py');
        assert.equal(graphFileFor('/w/flow.py'), '/w/flow.json');
    });
    it('reads the warnings', () => {
        assert.deepEqual(interopWarnings({ warnings: ['a', 2] }), ['a', '2']);
        assert.deepEqual(interopWarnings({ uri: 'x' }), []);
        assert.deepEqual(interopWarnings(null), []);
    });
});
