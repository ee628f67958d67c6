/**
 * Drives src/extension.ts with fake `vscode` and `vscode-languageclient/node` modules: VS Code
 * itself cannot be downloaded here, so this checks the glue (activation, trust, settings
 * middleware, commands) against the APIs it calls, not VS Code's behaviour.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

type Listener = (...args: unknown[]) => unknown;
type Message = { kind: 'error' | 'warning' | 'info'; text: string };

const disposable = { dispose: () => undefined };

/** Everything the fakes record or are told to answer; reset before each test. */
const world = {
    trusted: false,
    commands: new Map<string, Listener>(),
    messages: [] as Message[],
    trustListeners: [] as Listener[],
    configListeners: [] as Listener[],
    settings: {} as Record<string, { globalValue?: unknown; workspaceValue?: unknown }>,
    pythonExports: undefined as unknown,
    pick: (items: Array<Record<string, unknown>>): unknown => items[0],
    advertised: ['planai.listEnvironments', 'planai.selectEnvironment', 'planai.restartHelper'],
    respond: (_params: { command: string; arguments: unknown[] }): unknown => null,
    activeUri: undefined as undefined | { toString(): string },
    webviewHtml: '',
    documentListeners: [] as Listener[],
    progress: [] as Array<{ options: unknown; reports: unknown[]; cancel: undefined | (() => void) }>,
    channelLines: [] as string[],
    executed: [] as unknown[][],
    webviewListener: undefined as undefined | Listener,
    shown: [] as unknown[],
};

const DEFAULTS: Record<string, unknown> = {
    'server.path': '',
    python: '',
    'validation.run': 'onSave',
    'validation.debounceMs': 300,
    'validation.timeoutMs': 10000,
    logLevel: 'info',
};

const fakeVscode = {
    window: {
        createOutputChannel: (name: string) => ({
            info() {},
            warn() {},
            error() {},
            debug() {},
            appendLine: (line: string) => world.channelLines.push(`${name}: ${line}`),
            show() {},
            dispose() {},
        }),
        showErrorMessage: (text: string) => (world.messages.push({ kind: 'error', text }), Promise.resolve(undefined)),
        showWarningMessage: (text: string) => (world.messages.push({ kind: 'warning', text }), Promise.resolve(undefined)),
        showInformationMessage: (text: string) => (world.messages.push({ kind: 'info', text }), Promise.resolve(undefined)),
        showQuickPick: async (items: Array<Record<string, unknown>>) => world.pick(items),
        showInputBox: async () => undefined,
        showTextDocument: async (document: unknown, options: unknown) => (world.shown.push({ document, options }), undefined),
        withProgress: (options: unknown, task: (progress: unknown, token: unknown) => unknown) => {
            world.progress.push({ options, reports: [] as unknown[], cancel: undefined as undefined | (() => void) });
            const entry = world.progress[world.progress.length - 1];
            return task(
                { report: (value: unknown) => entry.reports.push(value) },
                { onCancellationRequested: (listener: () => void) => ((entry.cancel = listener), disposable) },
            );
        },
        get activeTextEditor() {
            return world.activeUri ? { document: { languageId: 'python', uri: world.activeUri } } : undefined;
        },
        createWebviewPanel: () => {
            const webview = {
                cspSource: 'vscode-webview://fake',
                set html(value: string) {
                    world.webviewHtml = value;
                },
                onDidReceiveMessage: (listener: Listener) => ((world.webviewListener = listener), disposable),
            };
            return { webview, title: '', onDidDispose: () => disposable, reveal() {}, dispose() {} };
        },
    },
    languages: { createLanguageStatusItem: () => ({ dispose() {} }) },
    commands: {
        registerCommand: (id: string, handler: Listener) => (world.commands.set(id, handler), disposable),
        executeCommand: async (...args: unknown[]) => (world.executed.push(args), undefined),
    },
    workspace: {
        get isTrusted() {
            return world.trusted;
        },
        workspaceFolders: [{ uri: { fsPath: '/ws', toString: () => 'file:///ws' } }],
        getConfiguration: () => ({
            inspect: (key: string) => ({ defaultValue: DEFAULTS[key], ...world.settings[key] }),
            get: (key: string) => world.settings[key]?.workspaceValue ?? world.settings[key]?.globalValue ?? DEFAULTS[key],
            update: async () => undefined,
        }),
        onDidGrantWorkspaceTrust: (listener: Listener) => (world.trustListeners.push(listener), disposable),
        onDidChangeConfiguration: (listener: Listener) => (world.configListeners.push(listener), disposable),
        onDidChangeTextDocument: (listener: Listener) => (world.documentListeners.push((uri: unknown) => listener({ document: { uri } })), disposable),
        onDidSaveTextDocument: (listener: Listener) => (world.documentListeners.push((uri: unknown) => listener({ uri })), disposable),
        asRelativePath: () => 'flow.py',
        openTextDocument: async (uri: unknown) => ({ opened: uri }),
    },
    extensions: {
        getExtension: (id: string) => (id === 'ms-python.python' && world.pythonExports ? { isActive: true, exports: world.pythonExports } : undefined),
    },
    env: { remoteName: undefined as string | undefined },
    ProgressLocation: { Window: 10 },
    QuickPickItemKind: { Separator: -1 },
    ViewColumn: { Beside: -2, One: 1 },
    LanguageStatusSeverity: { Information: 0, Warning: 1, Error: 2 },
    ConfigurationTarget: { Workspace: 2 },
};

const State = { Stopped: 1, Running: 2, Starting: 3 };

class FakeLanguageClient {
    static instances: FakeLanguageClient[] = [];
    state = State.Stopped;
    initializeResult: unknown;
    requests: Array<{ command: string; arguments: unknown[] }> = [];
    notifications: unknown[] = [];
    stopped = false;
    code2ProtocolConverter = { asUri: (uri: { toString(): string }) => uri.toString() };
    protocol2CodeConverter = {
        asUri: (uri: string) => ({ converted: 'uri', uri }),
        asPosition: (position: unknown) => ({ converted: 'position', position }),
        asLocation: async (location: unknown) => ({ converted: 'location', location }),
        asRange: (range: unknown) => ({ converted: 'range', range }),
    };

    constructor(
        readonly id: string,
        readonly name: string,
        readonly serverOptions: { run: { command: string } },
        readonly clientOptions: Record<string, any>,
    ) {
        FakeLanguageClient.instances.push(this);
    }
    async start() {
        this.state = State.Running;
        this.initializeResult = { capabilities: { executeCommandProvider: { commands: world.advertised } }, serverInfo: { version: '0.1.0' } };
    }
    async dispose() {
        this.state = State.Stopped;
        this.stopped = true;
    }
    onDidChangeState() {
        return disposable;
    }
    notificationHandlers = new Map<string, Listener>();
    progressHandlers = new Map<string, Listener>();
    onNotification(method: string, handler: Listener) {
        this.notificationHandlers.set(method, handler);
        return disposable;
    }
    onProgress(_type: unknown, token: string, handler: Listener) {
        this.progressHandlers.set(token, handler);
        return { dispose: () => this.progressHandlers.delete(token) };
    }
    async sendRequest(_type: unknown, params: { command: string; arguments: unknown[]; textDocument?: unknown }) {
        this.requests.push(params);
        return world.respond(params);
    }
    async sendNotification(_type: unknown, params: unknown) {
        this.notifications.push(params);
    }
}

const fakeLanguageClient = {
    LanguageClient: FakeLanguageClient,
    State,
    ResponseError: class ResponseError extends Error {},
    ExecuteCommandRequest: { type: 'workspace/executeCommand' },
    DidChangeConfigurationNotification: { type: 'workspace/didChangeConfiguration' },
    WorkDoneProgress: { type: '$/progress' },
    RevealOutputChannelOn: { Never: 4 },
};

// Serve the fakes to src/extension.ts; everything else loads normally.
const Module = require('node:module') as { _load: (request: string, ...rest: unknown[]) => unknown };
const realLoad = Module._load;
Module._load = function (request: string, ...rest: unknown[]) {
    if (request === 'vscode') {
        return fakeVscode;
    }
    if (request === 'vscode-languageclient/node') {
        return fakeLanguageClient;
    }
    return realLoad.call(this, request, ...rest);
};
const extension = require('../extension') as typeof import('../extension');

let extensionDir: string;
let savedPath: string | undefined;

function context(): any {
    return { extensionPath: extensionDir, subscriptions: [] as unknown[] };
}

function installBundledBinary(): string {
    const file = path.join(extensionDir, 'bin', 'planai-lsp');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '#!/bin/sh\n');
    fs.chmodSync(file, 0o755);
    return file;
}

function lastClient(): FakeLanguageClient {
    const client = FakeLanguageClient.instances.at(-1);
    assert.ok(client, 'a LanguageClient was created');
    return client;
}

async function settle() {
    for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setImmediate(resolve));
    }
}

beforeEach(() => {
    extensionDir = fs.mkdtempSync(path.join(os.tmpdir(), 'planai-ext-'));
    savedPath = process.env['PATH'];
    process.env['PATH'] = '/nonexistent-planai-test-path';
    Object.assign(world, {
        trusted: false,
        commands: new Map(),
        messages: [],
        trustListeners: [],
        configListeners: [],
        settings: {},
        pythonExports: undefined,
        pick: (items: Array<Record<string, unknown>>) => items[0],
        advertised: ['planai.listEnvironments', 'planai.selectEnvironment', 'planai.restartHelper'],
        respond: () => null,
        activeUri: undefined,
        webviewHtml: '',
        documentListeners: [],
        progress: [],
        channelLines: [],
        executed: [],
        webviewListener: undefined,
        shown: [],
    });
    FakeLanguageClient.instances = [];
});

afterEach(async () => {
    await extension.deactivate();
    process.env['PATH'] = savedPath;
    fs.rmSync(extensionDir, { recursive: true, force: true });
});

describe('activation', () => {
    it('registers the commands and reports a missing server without throwing', async () => {
        await extension.activate(context());
        assert.deepEqual([...world.commands.keys()].sort(), [
            'planai.vscode.debugFile',
            'planai.vscode.exportEditorGraph',
            'planai.vscode.importEditorGraph',
            'planai.vscode.introspectTasks',
            'planai.vscode.listModels',
            'planai.vscode.rerunLastRun',
            'planai.vscode.restartHelper',
            'planai.vscode.restartServer',
            'planai.vscode.runFile',
            'planai.vscode.selectEnvironment',
            'planai.vscode.showGraph',
            'planai.vscode.showLogs',
            'planai.vscode.showRuns',
            'planai.vscode.validateTaskData',
        ]);
        assert.equal(FakeLanguageClient.instances.length, 0);
        assert.match(world.messages[0]?.text ?? '', /Could not find planai-lsp/);
    });

    it('starts the bundled server for file and untitled Python documents, untrusted first', async () => {
        const binary = installBundledBinary();
        world.pythonExports = { settings: { getExecutionDetails: () => ({ execCommand: ['/ws/.venv/bin/python'] }) } };
        await extension.activate(context());
        const client = lastClient();
        assert.equal(client.id, 'planai');
        assert.equal(client.serverOptions.run.command, binary);
        assert.deepEqual(client.clientOptions['documentSelector'], [
            { scheme: 'file', language: 'python' },
            { scheme: 'untitled', language: 'python' },
        ]);
        const options = client.clientOptions['initializationOptions']();
        assert.equal(options.untrustedWorkspace, true);
        assert.equal(options.settings.planai.python, null, 'no editor interpreter in Restricted Mode');
    });

    it('ignores a workspace planai.server.path in Restricted Mode but honours a user one', async () => {
        const binary = installBundledBinary();
        world.settings['server.path'] = { workspaceValue: './evil-server' };
        await extension.activate(context());
        assert.equal(lastClient().serverOptions.run.command, binary);
        await extension.deactivate();

        world.settings['server.path'] = { globalValue: binary };
        await extension.activate(context());
        assert.equal(lastClient().serverOptions.run.command, binary);
    });

    it('restarts with the Python environment enabled when the workspace becomes trusted', async () => {
        installBundledBinary();
        world.pythonExports = { settings: { getExecutionDetails: () => ({ execCommand: ['/ws/.venv/bin/python'] }) } };
        await extension.activate(context());
        const first = lastClient();
        world.trusted = true;
        world.trustListeners.forEach((listener) => listener());
        await settle();
        const second = lastClient();
        assert.notEqual(first, second);
        assert.equal(first.stopped, true);
        const options = second.clientOptions['initializationOptions']();
        assert.equal(options.untrustedWorkspace, false);
        assert.deepEqual(options.settings.planai.python, ['/ws/.venv/bin/python']);
    });
});

describe('settings', () => {
    it("patches VS Code's workspace/configuration answer with the same section", async () => {
        installBundledBinary();
        world.trusted = true;
        world.settings['validation.run'] = { globalValue: 'onType' };
        world.pythonExports = { settings: { getExecutionDetails: () => ({ execCommand: ['/ws/.venv/bin/python'] }) } };
        await extension.activate(context());
        const middleware = lastClient().clientOptions['middleware'].workspace.configuration;
        const answer = await middleware({ items: [{ section: 'planai' }] }, {}, async () => [{ python: '', validation: { run: 'onType' } }]);
        assert.deepEqual(answer, [{ python: ['/ws/.venv/bin/python'], validation: { run: 'onType', debounceMs: 300, timeoutMs: 10000 }, logLevel: 'info' }]);
    });

    it('asks the server to pull on a settings change and restarts on a server path change', async () => {
        installBundledBinary();
        await extension.activate(context());
        const client = lastClient();
        const change = (key: string) => ({ affectsConfiguration: (section: string) => key === section || key.startsWith(section + '.') });
        world.configListeners.forEach((listener) => listener(change('planai.validation.run')));
        await settle();
        assert.deepEqual(client.notifications, [{ settings: null }]);
        world.configListeners.forEach((listener) => listener(change('planai.server.path')));
        await settle();
        assert.equal(client.stopped, true);
        assert.equal(FakeLanguageClient.instances.length, 2);
    });
});

describe('commands', () => {
    it('Select Environment lists environments and sends the choice', async () => {
        installBundledBinary();
        world.trusted = true;
        world.respond = (params) =>
            params.command === 'planai.listEnvironments'
                ? [{ interpreter: ['/ws/.venv/bin/python'], path: '/ws/.venv/bin/python', kind: 'venv', python_version: '3.12.1', planai: '0.7.1', source: '.venv', selected: false }]
                : { interpreter: ['/ws/.venv/bin/python'], path: '/ws/.venv/bin/python', kind: 'venv', python_version: '3.12.1', planai: '0.7.1', selected: true };
        let offered: Array<Record<string, unknown>> = [];
        world.pick = (items) => ((offered = items), items[0]);
        await extension.activate(context());
        await settle();
        const client = lastClient();
        client.requests = [];
        await world.commands.get('planai.vscode.selectEnvironment')?.();
        assert.equal(offered[0]?.['label'], 'Python 3.12.1 (venv)');
        assert.equal(offered.at(-1)?.['enterPath'], true);
        assert.deepEqual(client.requests, [
            { command: 'planai.listEnvironments', arguments: [] },
            { command: 'planai.selectEnvironment', arguments: ['/ws/.venv/bin/python'] },
        ]);
        assert.match(world.messages.at(-1)?.text ?? '', /PlanAI now validates with Python 3\.12\.1 \(venv\) at \.\/\.venv\/bin\/python/);
    });

    it('Show Graph fails gracefully when the server lacks planai.showGraph, and renders it when present', async () => {
        installBundledBinary();
        world.activeUri = { toString: () => 'file:///ws/flow.py' };
        await extension.activate(context());
        await world.commands.get('planai.vscode.showGraph')?.();
        assert.match(world.messages.at(-1)?.text ?? '', /does not support the command planai\.showGraph/);
        assert.equal(lastClient().requests.filter((r) => r.command === 'planai.showGraph').length, 0);

        world.advertised = [...world.advertised, 'planai.showGraph'];
        world.respond = (params) => (params.command === 'planai.showGraph' ? { mermaid: 'graph TD\n  Parser --> Searcher' } : []);
        await world.commands.get('planai.vscode.restartServer')?.();
        await world.commands.get('planai.vscode.showGraph')?.();
        assert.deepEqual(lastClient().requests.at(-1), { command: 'planai.showGraph', arguments: ['file:///ws/flow.py'] });
        assert.match(world.webviewHtml, /<pre id="mermaid">graph TD\n {2}Parser --&gt; Searcher<\/pre>/);
    });

    it('Show Graph draws the server\'s picture, and a click on a worker opens its class', async () => {
        installBundledBinary();
        world.advertised = [...world.advertised, 'planai.showGraph'];
        world.activeUri = { toString: () => 'file:///ws/flow.py' };
        const range = { start: { line: 15, character: 6 }, end: { line: 15, character: 11 } };
        world.respond = (params) =>
            (params as { textDocument?: unknown }).textDocument
                ? {
                      svg: '<?xml version="1.0"?><svg><g class="worker" data-graph="0" data-id="asker"><rect/></g></svg>',
                      graphs: [{ nodes: [{ id: 'asker', classLocation: { uri: 'file:///ws/flow.py', range } }] }],
                  }
                : null;
        await extension.activate(context());
        await world.commands.get('planai.vscode.showGraph')?.();
        assert.deepEqual(lastClient().requests.at(-1), { textDocument: { uri: 'file:///ws/flow.py' }, svg: true });
        assert.equal(lastClient().requests.filter((r) => r.command === 'planai.showGraph').length, 0, 'no Mermaid needed');
        assert.match(world.webviewHtml, /<div class="picture" id="picture"><svg><g class="worker" data-graph="0" data-id="asker">/);
        assert.doesNotMatch(world.webviewHtml, /<\?xml/);
        const nonce = /script-src &#39;nonce-([A-Za-z0-9+/=]+)&#39;/.exec(world.webviewHtml)?.[1];
        assert.ok(nonce && world.webviewHtml.includes(`<script nonce="${nonce}">`), 'the only script carries the CSP nonce');

        await world.webviewListener?.({ type: 'reveal', graph: 0, id: 'asker' });
        assert.deepEqual(world.shown.at(-1), {
            document: { opened: { converted: 'uri', uri: 'file:///ws/flow.py' } },
            options: { viewColumn: 1, selection: { converted: 'range', range } },
        });
        await world.webviewListener?.({ type: 'reveal', graph: 0, id: 'nobody' });
        await world.webviewListener?.({ type: 'script says hi' });
        assert.equal(world.shown.length, 1, 'unknown workers and messages are ignored');
    });

    it('Show Graph follows its document: an edit to it re-renders the panel, an edit elsewhere does not', async (t) => {
        t.mock.timers.enable({ apis: ['setTimeout'] });
        installBundledBinary();
        world.advertised = [...world.advertised, 'planai.showGraph'];
        world.activeUri = { toString: () => 'file:///ws/flow.py' };
        world.respond = () => ({ mermaid: 'graph TD\n  A --> B' });
        await extension.activate(context());
        await world.commands.get('planai.vscode.showGraph')?.();
        assert.match(world.webviewHtml, /A --&gt; B/);

        world.respond = () => ({ mermaid: 'graph TD\n  A --> C' });
        const asked = () => lastClient().requests.filter((r) => r.command === 'planai.showGraph').length;
        const before = asked();
        world.documentListeners.forEach((fire) => fire({ toString: () => 'file:///ws/other.py' }));
        t.mock.timers.tick(1000);
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(asked(), before, 'another document changed');

        world.documentListeners.forEach((fire) => fire({ toString: () => 'file:///ws/flow.py' }));
        t.mock.timers.tick(1000);
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(asked(), before + 1, 'one request for a burst of events (debounced)');
        assert.match(world.webviewHtml, /A --&gt; C/);
    });

    it('Run Workflow starts planai.run with its own progress token, logs the events, ends the progress, and Cancel sends planai.cancelRun', async () => {
        installBundledBinary();
        world.advertised = [...world.advertised, 'planai.run', 'planai.cancelRun'];
        world.activeUri = { toString: () => 'file:///ws/flow.py' };
        world.respond = (params) => (params.command === 'planai.run' ? { runId: 'r1' } : null);
        await extension.activate(context());
        const result = await world.commands.get('planai.vscode.runFile')?.();
        assert.deepEqual(result, { runId: 'r1' });
        const request = lastClient().requests.find((r) => r.command === 'planai.run');
        const argument = request?.arguments[0] as Record<string, unknown>;
        assert.equal(argument['uri'], 'file:///ws/flow.py');
        assert.equal(argument['graph'], null);
        const token = argument['workDoneToken'] as string;
        assert.match(token, /^planai-run-/);
        assert.equal((world.progress[0].options as { cancellable: boolean }).cancellable, true);

        const client = lastClient();
        await new Promise((resolve) => setImmediate(resolve));
        client.progressHandlers.get(token)?.({ kind: 'report', message: 'Asker: 1 running' });
        assert.deepEqual(world.progress[0].reports, [{ message: 'Asker: 1 running' }]);
        client.notificationHandlers.get('planai/runEvents')?.({
            runId: 'r1',
            uri: 'file:///ws/flow.py',
            events: [
                { event: 'taskCompleted', worker: 'Asker', taskType: 'Question' },
                { event: 'sinkOutput', worker: 'Answerer', taskType: 'Answer', task: { text: 'WHY?' } },
            ],
        });
        const logged = world.channelLines.join('\n');
        assert.ok(logged.includes('PlanAI Runs: [r1] completed Question in Asker\n[r1] output of Answerer (Answer):'), logged);

        world.progress[0].cancel?.();
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(lastClient().requests.at(-1), { command: 'planai.cancelRun', arguments: ['r1'] });

        client.progressHandlers.get(token)?.({ kind: 'end', message: 'cancelled' });
        await new Promise((resolve) => setImmediate(resolve));
        assert.ok(!client.progressHandlers.has(token), 'the progress subscription is disposed when the run ends');
        assert.match(world.messages.at(-1)?.text ?? '', /PlanAI run r1: cancelled/);

        // Rerun Last Run sends the same argument again, with a new token.
        await world.commands.get('planai.vscode.rerunLastRun')?.();
        const again = lastClient().requests.filter((r) => r.command === 'planai.run');
        assert.equal(again.length, 2);
        const second = again[1].arguments[0] as Record<string, unknown>;
        assert.equal(second['uri'], 'file:///ws/flow.py');
        assert.notEqual(second['workDoneToken'], token);
    });

    it('the Task lens opens VS Code\'s references peek with converted types, not a server round trip', async () => {
        installBundledBinary();
        await extension.activate(context());
        const middleware = lastClient().clientOptions.middleware;
        const range = { start: { line: 15, character: 6 }, end: { line: 15, character: 11 } };
        const sent: unknown[] = [];
        await middleware.executeCommand('planai.showReferences', [{ uri: 'file:///ws/flow.py', position: { line: 7, character: 0 }, locations: [{ uri: 'file:///ws/flow.py', range }] }], (...a: unknown[]) => sent.push(a));
        assert.equal(sent.length, 0, "nothing is sent to the server");
        assert.deepEqual(world.executed.at(-1), [
            'editor.action.showReferences',
            { converted: 'uri', uri: 'file:///ws/flow.py' },
            { converted: 'position', position: { line: 7, character: 0 } },
            [{ converted: 'location', location: { uri: 'file:///ws/flow.py', range } }],
        ]);
        // Other commands still go to the server.
        await middleware.executeCommand('planai.restartHelper', [], (...a: unknown[]) => sent.push(a));
        assert.deepEqual(sent, [['planai.restartHelper', []]]);
    });

    it('reports server errors instead of throwing', async () => {
        installBundledBinary();
        world.respond = () => {
            throw Object.assign(new Error('helper crashed'), { code: -32603 });
        };
        await extension.activate(context());
        await world.commands.get('planai.vscode.restartHelper')?.();
        assert.equal(world.messages.at(-1)?.text, 'PlanAI: planai.restartHelper failed: helper crashed');
    });
});
