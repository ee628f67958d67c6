import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { escapeHtml, parseGraphModel, parseGraphResult, parseRevealMessage, renderGraphHtml, renderGraphPictureHtml, workerLocation } from '../logic/graph';

describe('graph view', () => {
    it('reads the mermaid text from the command result', () => {
        assert.equal(parseGraphResult({ mermaid: 'graph TD\n  A --> B' }), 'graph TD\n  A --> B');
        assert.equal(parseGraphResult('graph TD'), 'graph TD');
        assert.equal(parseGraphResult({ dot: 'x' }), undefined);
        assert.equal(parseGraphResult(null), undefined);
    });

    it('escapes HTML', () => {
        assert.equal(escapeHtml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    });

    it('renders the text in a <pre> with no script and no remote resource', () => {
        const html = renderGraphHtml({ mermaid: 'graph TD\n  A["List<Task>"] --> B</pre><script>alert(1)</script>', title: 'm.py', cspSource: 'vscode-webview://x' });
        assert.match(html, /<pre id="mermaid">graph TD\n {2}A\[&quot;List&lt;Task&gt;&quot;\] --&gt; B&lt;\/pre&gt;&lt;script&gt;/);
        assert.doesNotMatch(html, /<script/i);
        assert.doesNotMatch(html, /https?:\/\//);
        assert.match(html, /Content-Security-Policy" content="default-src &#39;none&#39;/);
    });
});

describe('graph picture', () => {
    const range = { start: { line: 1, character: 0 }, end: { line: 1, character: 5 } };
    const model = parseGraphModel({
        svg: '<svg/>',
        graphs: [{ nodes: [{ id: 'a', classLocation: { uri: 'file:///w/a.py', range } }, { id: 'b', classLocation: null, instantiation: { uri: 'file:///w/b.py', range } }] }],
    });

    it('reads the model and finds where a worker is defined (class, else instantiation)', () => {
        assert.ok(model);
        assert.equal(model?.svg, '<svg/>');
        assert.deepEqual(workerLocation(model!, 0, 'a'), { uri: 'file:///w/a.py', range });
        assert.deepEqual(workerLocation(model!, 0, 'b'), { uri: 'file:///w/b.py', range });
        assert.equal(workerLocation(model!, 1, 'a'), undefined);
        assert.equal(parseGraphModel({ mermaid: 'x' }), undefined);
    });

    it('allows no remote resources and only its own nonce script', () => {
        const html = renderGraphPictureHtml({ svg: '<svg><g class="worker"/></svg>', title: 'flow.py', cspSource: 'vscode-webview://x', nonce: 'abc123' });
        const csp = /content="([^"]*)"/.exec(html)?.[1]?.replace(/&#39;/g, "'");
        assert.equal(csp, "default-src 'none'; style-src vscode-webview://x 'unsafe-inline'; img-src vscode-webview://x data:; script-src 'nonce-abc123';");
        assert.equal((html.match(/<script/g) ?? []).length, 1);
        assert.match(html, /<script nonce="abc123">/);
        assert.doesNotMatch(html, /https?:/);
    });

    it('accepts only well-formed reveal messages', () => {
        assert.deepEqual(parseRevealMessage({ type: 'reveal', graph: 0, id: 'a' }), { graph: 0, id: 'a' });
        assert.equal(parseRevealMessage({ type: 'reveal', graph: '0', id: 'a' }), undefined);
        assert.equal(parseRevealMessage({ type: 'other' }), undefined);
        assert.equal(parseRevealMessage(null), undefined);
    });
});
