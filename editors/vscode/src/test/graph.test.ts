import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { escapeHtml, parseGraphResult, renderGraphHtml } from '../logic/graph';

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
