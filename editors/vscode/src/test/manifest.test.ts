/**
 * Checks package.json against the code: contributed commands, settings, trust capability, and
 * that the pure modules stay free of the `vscode` module.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { EXTENSION_COMMANDS, SERVER_COMMANDS, describeCommandError, isCommandAdvertised } from '../logic/commands';

const root = path.resolve(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('package.json', () => {
    it('targets VS Code ^1.91.0 and vscode-languageclient 11.0.0, and activates on Python', () => {
        assert.equal(manifest.engines.vscode, '^1.91.0');
        assert.equal(manifest.dependencies['vscode-languageclient'], '11.0.0');
        assert.equal(manifest.devDependencies['@types/vscode'], '1.91.0');
        assert.deepEqual(manifest.activationEvents, ['onLanguage:python']);
        assert.equal(manifest.main, './dist/extension.js');
    });

    it('contributes exactly the extension commands, none of which is a server command id', () => {
        const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
        assert.deepEqual(contributed, Object.values(EXTENSION_COMMANDS).sort());
        for (const id of contributed) {
            assert.ok(!(Object.values(SERVER_COMMANDS) as string[]).includes(id), `${id} would clash with the command the client registers`);
        }
        const titles = manifest.contributes.commands.map((c: { title: string; category: string }) => `${c.category}: ${c.title}`);
        for (const title of ['PlanAI: Select Environment', 'PlanAI: Restart Server', 'PlanAI: Show Server Logs', 'PlanAI: Show Graph']) {
            assert.ok(titles.includes(title), title);
        }
    });

    it('declares every planai.* setting with a description', () => {
        const properties = manifest.contributes.configuration.properties;
        for (const key of ['planai.python', 'planai.server.path', 'planai.validation.run', 'planai.validation.debounceMs', 'planai.logLevel', 'planai.trace.server']) {
            assert.ok(properties[key], key);
            assert.ok((properties[key].markdownDescription ?? properties[key].description ?? '').length > 20, `${key} has a description`);
        }
        assert.deepEqual(properties['planai.validation.run'].enum, ['onSave', 'onType', 'off']);
        assert.equal(properties['planai.validation.run'].default, 'onSave');
        assert.equal(properties['planai.validation.debounceMs'].default, 300);
        assert.deepEqual(properties['planai.logLevel'].enum, ['error', 'warn', 'info', 'debug', 'trace']);
    });

    it('supports untrusted workspaces in a limited way and restricts the interpreter and server path', () => {
        assert.deepEqual(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
        assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, ['planai.python', 'planai.server.path']);
    });
});

describe('packaging', () => {
    it('has what vsce needs: a repository, a license file, and a prepublish step that bundles', () => {
        assert.match(manifest.repository.url, /^https:\/\/github\.com\//);
        assert.ok(fs.existsSync(path.join(root, 'LICENSE')), 'LICENSE next to package.json');
        assert.equal(manifest.scripts['vscode:prepublish'], 'npm run bundle');
        assert.match(manifest.scripts.bundle, /esbuild src\/extension\.ts --bundle .*--external:vscode .*--outfile=dist\/extension\.js/);
    });

    it('packages only the bundle, the server binary, README, LICENSE and the manifest', () => {
        const rules = fs
            .readFileSync(path.join(root, '.vscodeignore'), 'utf8')
            .split('\n')
            .map((line) => line.trim())
            .filter((line) => line !== '' && !line.startsWith('#'));
        assert.equal(rules[0], '**', 'everything is excluded first');
        assert.deepEqual(rules.slice(1).sort(), ['!LICENSE', '!README.md', '!bin/planai-lsp', '!bin/planai-lsp.exe', '!dist/extension.js', '!package.json']);
    });

    it('bundles vscode-languageclient into dist/extension.js and leaves only vscode external', () => {
        const bundle = fs.readFileSync(path.join(root, 'dist', 'extension.js'), 'utf8');
        assert.match(bundle, /require\(["']vscode["']\)/);
        assert.doesNotMatch(bundle, /require\(["']vscode-languageclient/);
        assert.match(bundle, /LanguageClient/);
    });
});

describe('pure modules', () => {
    it('do not load the vscode module', () => {
        const dir = path.join(root, 'out', 'logic');
        for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.js'))) {
            const text = fs.readFileSync(path.join(dir, file), 'utf8');
            assert.doesNotMatch(text, /require\(["']vscode["']\)/, file);
        }
    });
});

describe('server command helpers', () => {
    it('checks the advertised commands', () => {
        const capabilities = { executeCommandProvider: { commands: ['planai.listEnvironments'] } };
        assert.equal(isCommandAdvertised(capabilities, 'planai.listEnvironments'), true);
        assert.equal(isCommandAdvertised(capabilities, 'planai.showGraph'), false);
        assert.equal(isCommandAdvertised(undefined, 'planai.showGraph'), false);
        assert.equal(isCommandAdvertised({ executeCommandProvider: {} }, 'planai.showGraph'), false);
    });

    it('explains unknown-command errors', () => {
        const error = { code: -32602, message: 'unknown command "planai.showGraph"; known: planai.listEnvironments' };
        assert.match(describeCommandError(error, 'planai.showGraph'), /does not support the command planai\.showGraph/);
        assert.equal(describeCommandError({ code: -32603, message: 'helper crashed' }, 'planai.restartHelper'), 'PlanAI: planai.restartHelper failed: helper crashed');
        assert.equal(describeCommandError('boom', 'x'), 'PlanAI: x failed: boom');
    });
});
