/**
 * VS Code entry point: starts planai-lsp through vscode-languageclient and adds the PlanAI
 * commands. Decisions that can be made without VS Code live in `logic/` and are unit-tested.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
    DidChangeConfigurationNotification,
    ExecuteCommandRequest,
    LanguageClient,
    LanguageClientOptions,
    ResponseError,
    RevealOutputChannelOn,
    ServerOptions,
    State,
    WorkDoneProgress,
} from 'vscode-languageclient/node';

import { EXTENSION_COMMANDS, SERVER_COMMANDS, describeCommandError, isCommandAdvertised, notSupportedMessage } from './logic/commands';
import {
    EnvironmentInfo,
    EnvironmentPickItem,
    describeEnvironment,
    parseEnvironmentList,
    parseTypedInterpreter,
    selectionArgument,
    toQuickPickItems,
} from './logic/environments';
import {
    GRAPH_REQUEST,
    GraphModel,
    parseGraphModel,
    parseGraphResult,
    parseRevealMessage,
    renderGraphHtml,
    renderGraphPictureHtml,
    workerLocation,
} from './logic/graph';
import { EXPORT_EDITOR_GRAPH, IMPORT_EDITOR_GRAPH, graphFileFor, interopWarnings, moduleFileFor } from './logic/interop';
import { SHOW_REFERENCES_COMMAND, parseShowReferences, showGraphUri } from './logic/lenses';
import { PROVIDERS, VALIDATE_TASK_DATA_REQUEST, moduleNameFor, parseModels, parseTasks, summarizeValidation, tasksMarkdown } from './logic/tools';
import {
    CANCEL_RUN_COMMAND,
    RUN_EVENTS_NOTIFICATION,
    RunArgument,
    RunEventBatch,
    endedOutcome,
    formatRunEvents,
    isRunCommand,
    parseRunArgument,
    parseRunEvents,
    parseRunId,
    runTitle,
    sinkOutputs,
    withProgressToken,
} from './logic/runs';
import { PYTHON_EXTENSION_ID, activeInterpreter, onActiveInterpreterChanged } from './logic/pythonExtension';
import { resolveServerPath } from './logic/serverPath';
import { PlanaiSection, buildInitializationOptions, buildPlanaiSection, effectiveValue, patchConfigurationResult } from './logic/settings';

const CLIENT_ID = 'planai';
const CLIENT_NAME = 'PlanAI Language Server';

/** Thrown when the running server did not advertise a command. */
class UnsupportedCommandError extends Error {}

function isExecutableFile(file: string): boolean {
    try {
        if (!fs.statSync(file).isFile()) {
            return false;
        }
        if (process.platform !== 'win32') {
            fs.accessSync(file, fs.constants.X_OK);
        }
        return true;
    } catch {
        return false;
    }
}

function firstWorkspaceFolder(): vscode.WorkspaceFolder | undefined {
    return vscode.workspace.workspaceFolders?.[0];
}

class PlanaiExtension implements vscode.Disposable {
    private client: LanguageClient | undefined;
    private readonly log: vscode.LogOutputChannel;
    private readonly status: vscode.LanguageStatusItem;
    private readonly disposables: vscode.Disposable[] = [];
    private pythonSubscription: { dispose(): unknown } | undefined;
    private clientStateSubscription: vscode.Disposable | undefined;
    private editorPython: string[] | undefined;
    private graphPanel: vscode.WebviewPanel | undefined;
    /** "PlanAI Runs": every event of every run, as text. */
    private readonly runsChannel: vscode.OutputChannel;
    /** The last run started, for Rerun Last Run. */
    private lastRun: { command: string; argument: RunArgument } | undefined;
    private runCounter = 0;
    /** Per run id: its events so far, and what to call when it ends. */
    private readonly runs = new Map<string, { events: unknown[]; onEnded?: (outcome: string) => void }>();
    /** The model behind the graph picture, for clicks on its workers. */
    private graphModel: GraphModel | undefined;
    /** The document the graph panel shows and follows. */
    private graphDocument: vscode.Uri | undefined;
    private graphRefreshTimer: ReturnType<typeof setTimeout> | undefined;
    private selectedEnvironment: EnvironmentInfo | undefined;
    /** Serialises start, stop and restart so that overlapping triggers cannot race. */
    private lifecycle: Promise<void> = Promise.resolve();

    constructor(private readonly context: vscode.ExtensionContext) {
        this.log = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
        this.status = vscode.languages.createLanguageStatusItem('planai.status', { language: 'python' });
        this.status.name = 'PlanAI';
        this.runsChannel = vscode.window.createOutputChannel('PlanAI Runs');
        this.disposables.push(this.log, this.status, this.runsChannel);
        this.updateStatus();

        this.disposables.push(
            vscode.commands.registerCommand(EXTENSION_COMMANDS.selectEnvironment, () => this.selectEnvironment()),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.restartServer, () => this.restart()),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.restartHelper, () => this.restartHelper()),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.showLogs, () => this.log.show(true)),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.showGraph, () => this.showGraph()),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.runFile, () => this.runActiveFile('planai.run')),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.debugFile, () => this.runActiveFile('planai.debug')),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.rerunLastRun, () => this.rerunLastRun()),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.showRuns, () => this.runsChannel.show(true)),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.validateTaskData, () => this.validateTaskData()),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.listModels, () => this.listModels()),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.introspectTasks, () => this.introspectTasks()),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.importEditorGraph, () => this.importEditorGraph()),
            vscode.commands.registerCommand(EXTENSION_COMMANDS.exportEditorGraph, () => this.exportEditorGraph()),
            vscode.workspace.onDidGrantWorkspaceTrust(() => {
                this.log.info('Workspace trusted: restarting planai-lsp with the Python environment enabled.');
                void this.restart();
            }),
            vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
        );
    }

    // ----- lifecycle -------------------------------------------------------------------------

    start(): Promise<void> {
        return this.enqueue(() => this.doStart());
    }

    restart(): Promise<void> {
        return this.enqueue(async () => {
            await this.doStop();
            await this.doStart();
        });
    }

    stop(): Promise<void> {
        return this.enqueue(() => this.doStop());
    }

    private enqueue(step: () => Promise<void>): Promise<void> {
        const next = this.lifecycle.then(step, step);
        this.lifecycle = next.catch(() => undefined);
        return next;
    }

    private async doStart(): Promise<void> {
        const trusted = vscode.workspace.isTrusted;
        const config = vscode.workspace.getConfiguration('planai');
        const folder = firstWorkspaceFolder();
        const server = resolveServerPath({
            configured: effectiveValue(config.inspect<string>('server.path'), trusted),
            extensionPath: this.context.extensionPath,
            workspaceFolder: folder?.uri.fsPath,
            homeDir: os.homedir(),
            platform: process.platform,
            envPath: process.env['PATH'],
            pathExt: process.env['PATHEXT'],
            isExecutableFile,
            remoteName: vscode.env.remoteName,
        });
        if (!server.ok) {
            this.log.error(`${server.message} Tried: ${server.tried.join(', ') || '(nothing)'}`);
            this.updateStatus(server.message);
            void vscode.window.showErrorMessage(server.message, 'Open Settings', 'Show Logs').then((choice) => {
                if (choice === 'Open Settings') {
                    // In a remote window the setting is machine-overridable: only the Remote
                    // settings count there.
                    void vscode.commands.executeCommand(
                        vscode.env.remoteName ? 'workbench.action.openRemoteSettings' : 'workbench.action.openSettings',
                        'planai.server.path',
                    );
                } else if (choice === 'Show Logs') {
                    this.log.show();
                }
            });
            return;
        }
        this.log.info(`Starting ${server.command} (${server.source}); workspace ${trusted ? 'trusted' : 'NOT trusted: no Python interpreter will be run'}.`);

        if (trusted) {
            await this.connectPythonExtension();
        }

        const serverOptions: ServerOptions = {
            run: { command: server.command, options: { env: { ...process.env } } },
            debug: { command: server.command, options: { env: { ...process.env, RUST_BACKTRACE: '1' } } },
        };
        const clientOptions: LanguageClientOptions = {
            documentSelector: [
                { scheme: 'file', language: 'python' },
                { scheme: 'untitled', language: 'python' },
            ],
            outputChannel: this.log,
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            initializationOptions: () => buildInitializationOptions(this.currentSection(), vscode.workspace.isTrusted),
            middleware: {
                // Run and Debug (code lenses, the palette): the extension shows the run's
                // progress as a notification with a Cancel button, with its own token.
                executeCommand: (command, args, next) => {
                    if (command === SHOW_REFERENCES_COMMAND) {
                        return this.showReferences(args, () => next(command, args));
                    }
                    if (command === SERVER_COMMANDS.showGraph) {
                        const uri = showGraphUri(args);
                        if (uri !== undefined) {
                            this.graphDocument = vscode.Uri.parse(uri);
                            return this.renderGraph({ announceEmpty: true });
                        }
                        return next(command, args);
                    }
                    if (!isRunCommand(command)) {
                        return next(command, args);
                    }
                    const argument = parseRunArgument(args);
                    if (!argument) {
                        return next(command, args);
                    }
                    return this.startRun(command, argument, (withToken) => Promise.resolve(next(command, [withToken])));
                },
                workspace: {
                    // VS Code answers from its settings; add what it cannot know (the Python
                    // extension's interpreter, Restricted Mode filtering) so the server sees the
                    // same section as in initializationOptions.
                    configuration: async (params, token, next) => {
                        const result = await next(params, token);
                        if (result instanceof ResponseError || !Array.isArray(result)) {
                            return result;
                        }
                        return patchConfigurationResult(params.items, result, this.currentSection());
                    },
                },
            },
            connectionOptions: { maxRestartCount: 4 },
        };

        const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
        this.client = client;
        client.onNotification(RUN_EVENTS_NOTIFICATION, (params: unknown) => this.onRunEvents(parseRunEvents(params)));
        this.clientStateSubscription = client.onDidChangeState(() => this.updateStatus());
        try {
            await client.start();
        } catch (error) {
            this.log.error(`planai-lsp failed to start: ${String(error)}`);
            this.updateStatus(`planai-lsp failed to start: ${String(error)}`);
            void vscode.window.showErrorMessage(`PlanAI: planai-lsp failed to start (${String(error)}).`, 'Show Logs').then((choice) => {
                if (choice) {
                    this.log.show();
                }
            });
            return;
        }
        this.updateStatus();
        void this.refreshSelectedEnvironment();
    }

    private async doStop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        this.selectedEnvironment = undefined;
        this.clientStateSubscription?.dispose();
        this.clientStateSubscription = undefined;
        if (client) {
            try {
                // dispose() stops the server and also drops the client's registrations (the
                // server's commands), so a fresh client can register them again.
                await client.dispose();
            } catch (error) {
                this.log.warn(`Stopping planai-lsp: ${String(error)}`);
            }
        }
        this.updateStatus();
    }

    // ----- settings --------------------------------------------------------------------------

    /** The `planai` section sent to the server, from VS Code settings plus the editor interpreter. */
    private currentSection(): PlanaiSection {
        const trusted = vscode.workspace.isTrusted;
        const config = vscode.workspace.getConfiguration('planai');
        return buildPlanaiSection(
            {
                python: effectiveValue(config.inspect<unknown>('python'), trusted),
                validationRun: config.get('validation.run'),
                debounceMs: config.get('validation.debounceMs'),
                timeoutMs: config.get('validation.timeoutMs'),
                maxConcurrent: config.get('validation.maxConcurrent'),
                logLevel: config.get('logLevel'),
                autoSelectWorkspaceVenv: config.get('autoSelectWorkspaceVenv'),
                runTimeoutSeconds: config.get('run.timeoutSeconds'),
                runOutputCapBytes: config.get('run.outputCapBytes'),
                runMaxConcurrent: config.get('run.maxConcurrent'),
                runNiceness: config.get('run.niceness'),
                runWorkingDirectory: config.get('run.workingDirectory'),
            },
            { trusted, editorPython: this.editorPython },
        );
    }

    private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
        if (event.affectsConfiguration('planai.server.path')) {
            void this.restart();
        } else if (event.affectsConfiguration('planai')) {
            this.notifySettingsChanged();
        }
    }

    /** An empty didChangeConfiguration asks the server to pull `workspace/configuration` again. */
    private notifySettingsChanged(): void {
        const client = this.client;
        if (client?.state === State.Running) {
            client.sendNotification(DidChangeConfigurationNotification.type, { settings: null }).catch((error: unknown) => {
                this.log.warn(`didChangeConfiguration: ${String(error)}`);
            });
        }
    }

    /** Reads the Python extension's interpreter (a soft dependency) and follows its changes. */
    private async connectPythonExtension(): Promise<void> {
        const extension = vscode.extensions.getExtension(PYTHON_EXTENSION_ID);
        if (!extension) {
            this.editorPython = undefined;
            return;
        }
        try {
            const api: unknown = extension.isActive ? extension.exports : await extension.activate();
            this.editorPython = await activeInterpreter(api, firstWorkspaceFolder()?.uri);
            if (!this.pythonSubscription) {
                this.pythonSubscription = onActiveInterpreterChanged(api, () => {
                    void activeInterpreter(api, firstWorkspaceFolder()?.uri).then((argv) => {
                        this.editorPython = argv;
                        this.log.info(`Python extension interpreter: ${argv ? argv.join(' ') : '(none)'}`);
                        this.notifySettingsChanged();
                    });
                });
            }
            this.log.info(`Python extension interpreter: ${this.editorPython ? this.editorPython.join(' ') : '(none)'}`);
        } catch (error) {
            this.log.warn(`Could not read the Python extension's interpreter: ${String(error)}`);
            this.editorPython = undefined;
        }
    }

    // ----- server commands -------------------------------------------------------------------

    private runningClient(): LanguageClient | undefined {
        if (this.client?.state === State.Running) {
            return this.client;
        }
        void vscode.window.showWarningMessage('PlanAI: planai-lsp is not running.', 'Restart Server', 'Show Logs').then((choice) => {
            if (choice === 'Restart Server') {
                void this.restart();
            } else if (choice === 'Show Logs') {
                this.log.show();
            }
        });
        return undefined;
    }

    private async executeServerCommand(client: LanguageClient, command: string, args: unknown[]): Promise<unknown> {
        if (!isCommandAdvertised(client.initializeResult?.capabilities, command)) {
            throw new UnsupportedCommandError(notSupportedMessage(command, client.initializeResult?.serverInfo?.version));
        }
        return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
    }

    private reportCommandError(error: unknown, command: string): void {
        const message = error instanceof UnsupportedCommandError ? `PlanAI: ${error.message}` : describeCommandError(error, command);
        this.log.error(message);
        void vscode.window.showErrorMessage(message);
    }

    private async refreshSelectedEnvironment(): Promise<void> {
        const client = this.client;
        if (!client || !isCommandAdvertised(client.initializeResult?.capabilities, SERVER_COMMANDS.listEnvironments)) {
            return;
        }
        try {
            const envs = parseEnvironmentList(await this.executeServerCommand(client, SERVER_COMMANDS.listEnvironments, []));
            this.selectedEnvironment = envs.find((env) => env.selected);
        } catch (error) {
            this.log.debug(`listEnvironments: ${String(error)}`);
        }
        this.updateStatus();
    }

    private async selectEnvironment(): Promise<void> {
        const client = this.runningClient();
        if (!client) {
            return;
        }
        const folder = firstWorkspaceFolder()?.uri.fsPath;
        let envs: EnvironmentInfo[];
        try {
            const raw = await vscode.window.withProgress(
                { location: vscode.ProgressLocation.Window, title: 'PlanAI: looking for Python environments' },
                () => this.executeServerCommand(client, SERVER_COMMANDS.listEnvironments, []),
            );
            envs = parseEnvironmentList(raw);
        } catch (error) {
            this.reportCommandError(error, SERVER_COMMANDS.listEnvironments);
            return;
        }

        type Item = vscode.QuickPickItem & { environment?: EnvironmentInfo; enterPath?: boolean };
        const items: Item[] = toQuickPickItems(envs, folder).map((item: EnvironmentPickItem) => ({ ...item }));
        items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: '$(edit) Enter interpreter path…', enterPath: true });
        const pick = await vscode.window.showQuickPick(items, {
            title: 'PlanAI: Select Environment',
            placeHolder: envs.length === 0 ? 'planai-lsp found no Python environment; enter one' : 'Python environment used to validate PlanAI code',
            matchOnDescription: true,
            matchOnDetail: true,
        });
        if (!pick) {
            return;
        }
        let argument: string | string[] | undefined;
        if (pick.enterPath) {
            const typed = await vscode.window.showInputBox({
                title: 'PlanAI: Select Environment',
                prompt: 'Path of a Python interpreter or virtual environment, or a command as a JSON list such as ["uv", "run", "python"]',
                ignoreFocusOut: true,
                validateInput: (text) => (text.trim() !== '' && parseTypedInterpreter(text) === undefined ? 'Not a path or a JSON list of strings' : undefined),
            });
            argument = typed === undefined ? undefined : parseTypedInterpreter(typed);
        } else if (pick.environment) {
            argument = selectionArgument(pick.environment);
        }
        if (argument === undefined) {
            return;
        }

        let selected: EnvironmentInfo | undefined;
        try {
            const result = await this.executeServerCommand(client, SERVER_COMMANDS.selectEnvironment, [argument]);
            selected = parseEnvironmentList([result])[0];
        } catch (error) {
            this.reportCommandError(error, SERVER_COMMANDS.selectEnvironment);
            return;
        }
        this.selectedEnvironment = selected;
        this.updateStatus();
        const what = selected ? describeEnvironment(selected, folder) : Array.isArray(argument) ? argument.join(' ') : argument;
        const restricted = vscode.workspace.isTrusted ? '' : ' It will be used once you trust this workspace.';
        const save = 'Save in Workspace Settings';
        const choice = await vscode.window.showInformationMessage(`PlanAI now validates with ${what}.${restricted}`, save);
        if (choice === save) {
            await vscode.workspace.getConfiguration('planai').update('python', argument, vscode.ConfigurationTarget.Workspace);
        }
    }

    private async restartHelper(): Promise<void> {
        const client = this.runningClient();
        if (!client) {
            return;
        }
        try {
            await this.executeServerCommand(client, SERVER_COMMANDS.restartHelper, []);
            void vscode.window.showInformationMessage('PlanAI: Python helper restarted.');
        } catch (error) {
            this.reportCommandError(error, SERVER_COMMANDS.restartHelper);
        }
    }

    private async showGraph(): Promise<void> {
        const editor = vscode.window.activeTextEditor;
        if (!editor || editor.document.languageId !== 'python') {
            void vscode.window.showInformationMessage('PlanAI: open a Python file that builds a PlanAI Graph first.');
            return;
        }
        this.graphDocument = editor.document.uri;
        await this.renderGraph({ announceEmpty: true });
    }

    /**
     * Asks the server for the graph of the document the panel follows and shows it. The panel
     * follows that document: every change to it (debounced) and every save re-renders, so the
     * picture never shows a graph the code no longer builds.
     */
    private async renderGraph(options: { announceEmpty: boolean }): Promise<void> {
        const document = this.graphDocument;
        const client = this.runningClient();
        if (!document || !client) {
            return;
        }
        const uri = client.code2ProtocolConverter.asUri(document);
        // The picture (planai/graph with the server's SVG layout); from a server without that
        // request, or when the layout failed, the Mermaid text.
        let model: GraphModel | undefined;
        try {
            model = parseGraphModel(await client.sendRequest(GRAPH_REQUEST, { textDocument: { uri }, svg: true }));
        } catch (error) {
            this.log.debug(`${GRAPH_REQUEST} failed, showing Mermaid text instead: ${String(error)}`);
        }
        let mermaid: string | undefined;
        if (!model?.svg) {
            try {
                mermaid = parseGraphResult(await this.executeServerCommand(client, SERVER_COMMANDS.showGraph, [uri]));
            } catch (error) {
                if (options.announceEmpty) {
                    this.reportCommandError(error, SERVER_COMMANDS.showGraph);
                } else {
                    this.log.warn(`Refreshing the graph of ${document.toString()} failed: ${String(error)}`);
                }
                return;
            }
        }
        const empty = model ? model.graphs.length === 0 : mermaid === undefined || mermaid.trim() === '';
        if (empty && options.announceEmpty) {
            void vscode.window.showInformationMessage('PlanAI: no graph found in this file.');
            return;
        }
        const title = `PlanAI Graph: ${vscode.workspace.asRelativePath(document)}`;
        if (!this.graphPanel) {
            if (!options.announceEmpty) {
                return;
            }
            // Scripts: only the picture page's own click handler, allowed by a nonce in its CSP.
            const panel = vscode.window.createWebviewPanel('planai.graph', title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
                enableScripts: true,
                localResourceRoots: [],
            });
            this.graphPanel = panel;
            panel.webview.onDidReceiveMessage((message: unknown) => void this.revealWorker(message));
            const follow = [
                vscode.workspace.onDidChangeTextDocument((event) => {
                    if (event.document.uri.toString() === this.graphDocument?.toString()) {
                        this.scheduleGraphRefresh();
                    }
                }),
                vscode.workspace.onDidSaveTextDocument((saved) => {
                    if (saved.uri.toString() === this.graphDocument?.toString()) {
                        this.scheduleGraphRefresh();
                    }
                }),
            ];
            panel.onDidDispose(() => {
                this.graphPanel = undefined;
                this.graphDocument = undefined;
                this.graphModel = undefined;
                clearTimeout(this.graphRefreshTimer);
                follow.forEach((subscription) => subscription.dispose());
            });
        }
        this.graphPanel.title = title;
        this.graphModel = model;
        const cspSource = this.graphPanel.webview.cspSource;
        if (model?.svg && !empty) {
            this.graphPanel.webview.html = renderGraphPictureHtml({ svg: model.svg, title, cspSource, nonce: crypto.randomBytes(16).toString('base64') });
        } else {
            const text = empty ? '(this file builds no PlanAI graph now)' : (mermaid ?? model?.svgError ?? '');
            this.graphPanel.webview.html = renderGraphHtml({ mermaid: text, title, cspSource });
        }
        if (options.announceEmpty) {
            this.graphPanel.reveal(vscode.ViewColumn.Beside, true);
        }
    }

    /** A click on a worker in the picture: opens its class (else where it is instantiated). */
    private async revealWorker(message: unknown): Promise<void> {
        const reveal = parseRevealMessage(message);
        const client = this.client;
        const location = reveal && this.graphModel ? workerLocation(this.graphModel, reveal.graph, reveal.id) : undefined;
        if (!location || !client) {
            return;
        }
        const converter = client.protocol2CodeConverter;
        const document = await vscode.workspace.openTextDocument(converter.asUri(location.uri));
        await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, selection: converter.asRange(location.range) });
    }

    private scheduleGraphRefresh(): void {
        clearTimeout(this.graphRefreshTimer);
        this.graphRefreshTimer = setTimeout(() => void this.renderGraph({ announceEmpty: false }), GRAPH_REFRESH_DELAY_MS);
    }

    /**
     * The "produced by N · consumed by M" lens: VS Code's references peek at the lens, over the
     * producing and consuming workers. The lens's arguments are plain JSON, which
     * `editor.action.showReferences` does not take, so they are converted here.
     */
    private async showReferences(args: unknown[], fallback: () => unknown): Promise<unknown> {
        const references = parseShowReferences(args);
        const client = this.client;
        if (!references || !client) {
            return fallback();
        }
        const convert = client.protocol2CodeConverter;
        const locations = await Promise.all(references.locations.map((location) => convert.asLocation(location)));
        return vscode.commands.executeCommand('editor.action.showReferences', convert.asUri(references.uri), convert.asPosition(references.position), locations);
    }

    // ----- environment tools ------------------------------------------------------------------

    /** The active Python file's dotted module name, for introspection. */
    private activeModuleName(): string | undefined {
        const editor = vscode.window.activeTextEditor;
        if (!editor || editor.document.languageId !== 'python' || editor.document.isUntitled) {
            return undefined;
        }
        return moduleNameFor(vscode.workspace.asRelativePath(editor.document.uri, false));
    }

    /** PlanAI: Introspect Tasks: a module's Tasks as the venv sees them, as Markdown. */
    private async introspectTasks(): Promise<void> {
        const client = this.runningClient();
        if (!client) {
            return;
        }
        const moduleName = await vscode.window.showInputBox({
            prompt: 'Module to introspect (importable from the workspace), e.g. pkg.flow or planai',
            value: this.activeModuleName() ?? '',
        });
        if (!moduleName) {
            return;
        }
        let result: unknown;
        try {
            result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `PlanAI: introspecting ${moduleName}` }, () =>
                this.executeServerCommand(client, SERVER_COMMANDS.introspectTasks, [moduleName]),
            );
        } catch (error) {
            this.reportCommandError(error, SERVER_COMMANDS.introspectTasks);
            return;
        }
        const document = await vscode.workspace.openTextDocument({ language: 'markdown', content: tasksMarkdown(moduleName, result) });
        await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    }

    /** PlanAI: List Models: a provider's models in the selected venv; the chosen one is copied. */
    private async listModels(): Promise<void> {
        const client = this.runningClient();
        if (!client) {
            return;
        }
        const provider = await vscode.window.showQuickPick([...PROVIDERS], { placeHolder: 'LLM provider (llm_from_config provider=…)' });
        if (!provider) {
            return;
        }
        let models: string[];
        try {
            models = parseModels(
                await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `PlanAI: listing ${provider} models` }, () =>
                    this.executeServerCommand(client, SERVER_COMMANDS.listModels, [provider]),
                ),
            );
        } catch (error) {
            this.reportCommandError(error, SERVER_COMMANDS.listModels);
            return;
        }
        if (models.length === 0) {
            void vscode.window.showInformationMessage(`PlanAI: ${provider} lists no models here (is it configured, with its API key or server, in the selected environment?).`);
            return;
        }
        const model = await vscode.window.showQuickPick(models, { placeHolder: `${provider} models: pick one to copy its name` });
        if (model) {
            await vscode.env.clipboard.writeText(model);
            void vscode.window.showInformationMessage(`PlanAI: copied "${model}".`);
        }
    }

    /**
     * PlanAI: Validate Task Data: JSON (the selection, else typed) against a Task of the active
     * file, validated by pydantic in the selected venv (never evaluated as Python).
     */
    private async validateTaskData(): Promise<void> {
        const editor = vscode.window.activeTextEditor;
        const client = this.runningClient();
        if (!client) {
            return;
        }
        if (!editor || editor.document.languageId !== 'python') {
            void vscode.window.showInformationMessage('PlanAI: open the Python file that defines the Task first.');
            return;
        }
        const moduleName = this.activeModuleName();
        let classNames: string[] = [];
        if (moduleName && isCommandAdvertised(client.initializeResult?.capabilities, SERVER_COMMANDS.introspectTasks)) {
            try {
                classNames = parseTasks(await this.executeServerCommand(client, SERVER_COMMANDS.introspectTasks, [moduleName]))
                    .filter((task) => !task.module || task.module === moduleName)
                    .map((task) => task.name);
            } catch (error) {
                this.log.debug(`introspectTasks for Validate Task Data: ${String(error)}`);
            }
        }
        const className =
            classNames.length > 0
                ? await vscode.window.showQuickPick(classNames, { placeHolder: 'Task to validate the data against' })
                : await vscode.window.showInputBox({ prompt: 'Name of the Task class to validate against' });
        if (!className) {
            return;
        }
        const selected = editor.selection && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : '';
        const text = await vscode.window.showInputBox({ prompt: `JSON data for ${className}`, value: selected.trim().startsWith('{') ? selected : '{}' });
        if (text === undefined) {
            return;
        }
        let data: unknown;
        try {
            data = JSON.parse(text);
        } catch (error) {
            void vscode.window.showErrorMessage(`PlanAI: that is not JSON: ${String(error)}`);
            return;
        }
        let result: unknown;
        try {
            result = await client.sendRequest(VALIDATE_TASK_DATA_REQUEST, { uri: client.code2ProtocolConverter.asUri(editor.document.uri), className, data });
        } catch (error) {
            this.reportCommandError(error, VALIDATE_TASK_DATA_REQUEST);
            return;
        }
        const summary = summarizeValidation(result);
        if (summary.ok) {
            void vscode.window.showInformationMessage(`PlanAI: the data is a valid ${className}.`);
        } else {
            this.log.warn(`Validate Task Data (${className}):\n${summary.lines.join('\n')}`);
            void vscode.window.showErrorMessage(`PlanAI: not a valid ${className}: ${summary.lines.join('; ')}`, 'Show Logs').then((choice) => {
                if (choice) {
                    this.log.show();
                }
            });
        }
    }

    // ----- PlanAI Editor interop ------------------------------------------------------------

    /** PlanAI: Import PlanAI Editor Graph: a saved graph (JSON) becomes a module, opened. */
    private async importEditorGraph(): Promise<void> {
        const client = this.runningClient();
        if (!client) {
            return;
        }
        const picked = await vscode.window.showOpenDialog({
            canSelectMany: false,
            filters: { 'PlanAI Editor graph': ['json'] },
            openLabel: 'Import',
            title: 'PlanAI Editor graph to import',
        });
        const graph = picked?.[0];
        if (!graph) {
            return;
        }
        const target = await vscode.window.showSaveDialog({
            defaultUri: vscode.Uri.file(moduleFileFor(graph.fsPath)),
            filters: { Python: ['py'] },
            title: 'Python module to write',
        });
        if (!target) {
            return;
        }
        let result: unknown;
        try {
            // The save dialog already asked before replacing a file.
            result = await this.executeServerCommand(client, IMPORT_EDITOR_GRAPH, [
                { graph: client.code2ProtocolConverter.asUri(graph), target: client.code2ProtocolConverter.asUri(target), overwrite: true },
            ]);
        } catch (error) {
            this.reportCommandError(error, IMPORT_EDITOR_GRAPH);
            return;
        }
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(target), { preview: false });
        this.reportInteropWarnings(`Imported ${vscode.workspace.asRelativePath(graph)}`, interopWarnings(result));
    }

    /** PlanAI: Export to PlanAI Editor Graph: the active module's graph as version 2 JSON. */
    private async exportEditorGraph(): Promise<void> {
        const editor = vscode.window.activeTextEditor;
        const client = this.runningClient();
        if (!client) {
            return;
        }
        if (!editor || editor.document.languageId !== 'python' || editor.document.isUntitled) {
            void vscode.window.showInformationMessage('PlanAI: open the workflow module to export first.');
            return;
        }
        const target = await vscode.window.showSaveDialog({
            defaultUri: vscode.Uri.file(graphFileFor(editor.document.uri.fsPath)),
            filters: { 'PlanAI Editor graph': ['json'] },
            title: 'PlanAI Editor graph to write',
        });
        if (!target) {
            return;
        }
        let result: unknown;
        try {
            result = await this.executeServerCommand(client, EXPORT_EDITOR_GRAPH, [
                { module: client.code2ProtocolConverter.asUri(editor.document.uri), target: client.code2ProtocolConverter.asUri(target), overwrite: true },
            ]);
        } catch (error) {
            this.reportCommandError(error, EXPORT_EDITOR_GRAPH);
            return;
        }
        this.reportInteropWarnings(`Exported to ${vscode.workspace.asRelativePath(target)}`, interopWarnings(result));
    }

    private reportInteropWarnings(done: string, warnings: string[]): void {
        if (warnings.length === 0) {
            void vscode.window.showInformationMessage(`PlanAI: ${done}.`);
            return;
        }
        for (const warning of warnings) {
            this.log.warn(`${done}: ${warning}`);
        }
        void vscode.window.showWarningMessage(`PlanAI: ${done}, with ${warnings.length} warning(s) about what could not be carried over.`, 'Show Logs').then((choice) => {
            if (choice) {
                this.log.show();
            }
        });
    }

    // ----- runs --------------------------------------------------------------------------------

    private async runActiveFile(command: string): Promise<unknown> {
        const editor = vscode.window.activeTextEditor;
        const client = this.runningClient();
        if (!editor || editor.document.languageId !== 'python' || !client) {
            if (client) {
                void vscode.window.showInformationMessage('PlanAI: open the Python file of the workflow to run first.');
            }
            return undefined;
        }
        if (editor.document.isUntitled) {
            void vscode.window.showInformationMessage('PlanAI: save the workflow to a file before running it.');
            return undefined;
        }
        const argument: RunArgument = { uri: client.code2ProtocolConverter.asUri(editor.document.uri), graph: null };
        return this.startRun(command, argument, (withToken) => this.executeServerCommand(client, command, [withToken]));
    }

    private async rerunLastRun(): Promise<unknown> {
        const last = this.lastRun;
        const client = this.runningClient();
        if (!client) {
            return undefined;
        }
        if (!last) {
            void vscode.window.showInformationMessage('PlanAI: no run yet in this window.');
            return undefined;
        }
        return this.startRun(last.command, last.argument, (withToken) => this.executeServerCommand(client, last.command, [withToken]));
    }

    /**
     * Starts a run with the extension's own progress token and shows it as a cancellable
     * notification until the server ends the progress (or the run's `ended` event arrives).
     * Returns the command's result (`{runId}`) as soon as the server answers.
     */
    private startRun(command: string, argument: RunArgument, send: (argument: RunArgument) => Promise<unknown>): Promise<unknown> {
        const client = this.client;
        const token = `planai-run-${process.pid}-${++this.runCounter}`;
        const withToken = withProgressToken(argument, token);
        this.lastRun = { command, argument: { ...argument, workDoneToken: undefined } };
        let fileName = argument.uri;
        try {
            fileName = vscode.workspace.asRelativePath(vscode.Uri.parse(argument.uri));
        } catch {
            // Keep the URI.
        }
        const title = runTitle(command, argument, fileName);
        return new Promise<unknown>((resolveResult, rejectResult) => {
            void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, cancellation) => {
                let finish: (outcome: string | undefined) => void = () => undefined;
                const finished = new Promise<string | undefined>((resolve) => (finish = resolve));
                const progressSubscription = client?.onProgress(WorkDoneProgress.type, token, (value) => {
                    if (value.kind === 'end') {
                        finish(value.message);
                    } else if (value.message) {
                        progress.report({ message: value.message });
                    }
                });
                let runId: string | undefined;
                let cancelRequested = false;
                const cancel = () => {
                    if (client && runId) {
                        this.executeServerCommand(client, CANCEL_RUN_COMMAND, [runId]).catch((error) => this.reportCommandError(error, CANCEL_RUN_COMMAND));
                    }
                };
                cancellation.onCancellationRequested(() => {
                    cancelRequested = true;
                    cancel();
                });
                try {
                    const result = await send(withToken);
                    runId = parseRunId(result);
                    resolveResult(result);
                } catch (error) {
                    progressSubscription?.dispose();
                    this.reportCommandError(error, command);
                    rejectResult(error);
                    return;
                }
                if (!runId) {
                    progressSubscription?.dispose();
                    return;
                }
                const run = this.runs.get(runId) ?? { events: [] };
                run.onEnded = (outcome) => finish(outcome);
                this.runs.set(runId, run);
                const already = run.events.map(endedOutcome).find((outcome) => outcome !== undefined);
                if (already !== undefined) {
                    finish(already);
                }
                this.runsChannel.appendLine(`[${runId}] ${title.replace(/^PlanAI: /, '')}`);
                this.runsChannel.show(true);
                if (cancelRequested) {
                    cancel();
                }
                const outcome = await finished;
                progressSubscription?.dispose();
                this.reportRunOutcome(runId, outcome);
            });
        });
    }

    /** A batch of a run's events: kept for "Open Outputs", and written to the channel at once. */
    private onRunEvents(batch: RunEventBatch): void {
        if (batch.events.length === 0) {
            return;
        }
        const run = this.runs.get(batch.runId) ?? { events: [] };
        this.runs.set(batch.runId, run);
        run.events.push(...batch.events);
        const text = formatRunEvents(batch);
        if (text) {
            this.runsChannel.appendLine(text);
        }
        const outcome = batch.events.map(endedOutcome).find((value) => value !== undefined);
        if (outcome !== undefined) {
            run.onEnded?.(outcome);
        }
    }

    private reportRunOutcome(runId: string, outcome: string | undefined): void {
        const run = this.runs.get(runId);
        const outputs = sinkOutputs(run?.events ?? []);
        const ended = run?.events.map(endedOutcome).find((value) => value !== undefined) ?? outcome ?? 'ended';
        // Keep the log, not every event object, once the run is over.
        this.runs.delete(runId);
        const showLog = 'Show Run Log';
        const openOutputs = `Open Outputs (${outputs.length})`;
        const buttons = outputs.length > 0 ? [openOutputs, showLog] : [showLog];
        const message = `PlanAI run ${runId}: ${ended}`;
        const show = /succeeded/i.test(ended) ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
        void show(message, ...buttons).then(async (choice) => {
            if (choice === showLog) {
                this.runsChannel.show();
            } else if (choice === openOutputs) {
                const document = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(outputs, null, 2) });
                await vscode.window.showTextDocument(document, { preview: false });
            }
        });
    }

    // ----- status ----------------------------------------------------------------------------

    private updateStatus(problem?: string): void {
        const running = this.client?.state === State.Running;
        const starting = this.client?.state === State.Starting;
        if (problem) {
            this.status.text = 'PlanAI: not running';
            this.status.detail = problem;
            this.status.severity = vscode.LanguageStatusSeverity.Error;
            this.status.command = { title: 'Show Logs', command: EXTENSION_COMMANDS.showLogs };
            return;
        }
        if (running) {
            const env = this.selectedEnvironment;
            this.status.text = env ? `PlanAI: ${env.python_version ? `Python ${env.python_version}` : 'Python'}${env.kind ? ` (${env.kind})` : ''}` : 'PlanAI';
            this.status.detail = vscode.workspace.isTrusted ? env?.path ?? 'planai-lsp running' : 'Restricted Mode: syntax and static checks only';
            this.status.severity = vscode.workspace.isTrusted ? vscode.LanguageStatusSeverity.Information : vscode.LanguageStatusSeverity.Warning;
            this.status.command = { title: 'Select Environment', command: EXTENSION_COMMANDS.selectEnvironment };
        } else {
            this.status.text = starting ? 'PlanAI: starting' : 'PlanAI: stopped';
            this.status.detail = undefined;
            this.status.severity = starting ? vscode.LanguageStatusSeverity.Information : vscode.LanguageStatusSeverity.Warning;
            this.status.command = { title: 'Restart Server', command: EXTENSION_COMMANDS.restartServer };
        }
        this.status.busy = starting;
    }

    dispose(): void {
        this.pythonSubscription?.dispose();
        this.clientStateSubscription?.dispose();
        this.graphPanel?.dispose();
        for (const disposable of this.disposables) {
            disposable.dispose();
        }
    }
}

/** Typing pauses this long before the graph panel asks the server again. */
const GRAPH_REFRESH_DELAY_MS = 400;

let extension: PlanaiExtension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    extension = new PlanaiExtension(context);
    context.subscriptions.push(extension);
    await extension.start();
}

export async function deactivate(): Promise<void> {
    await extension?.stop();
    extension = undefined;
}
