// Drives real VS Code (code-server in headless Chromium) with the packaged PlanAI extension
// installed, and checks what a user sees. Started by run.sh, which installs everything, packages
// the .vsix, starts code-server and stops it afterwards.
//
// Environment (set by run.sh):
//   VSCODE_URL        http://127.0.0.1:<port>
//   WORKSPACE         the folder code-server opened (a copy of workspace/, with .venv -> the test venv)
//   SHOTS             where screenshots go (kept as test artifacts)
//   PHASE             "trusted" (the whole user story) or "restricted" (Restricted Mode)
//   USER_DATA_DIR     code-server's --user-data-dir (the extension's output channel is logged there)
//   EXTENSIONS_DIR    code-server's --extensions-dir (the bundled server runs from there)
//   PLAYWRIGHT_DIR    a node_modules folder holding playwright-core
//
// Prints one "PASS name" / "FAIL name: why" line per check and "N passed, M failed" at the end.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR, 'noop.js'));
const { chromium } = require('playwright-core');

const URL = process.env.VSCODE_URL;
const WORKSPACE = process.env.WORKSPACE;
const SHOTS = process.env.SHOTS;
const PHASE = process.env.PHASE ?? 'trusted';
const USER_DATA_DIR = process.env.USER_DATA_DIR;
const EXTENSIONS_DIR = process.env.EXTENSIONS_DIR;

let passed = 0;
let failed = 0;
function pass(name) {
    passed += 1;
    console.log(`PASS ${PHASE}: ${name}`);
}
function fail(name, why) {
    failed += 1;
    console.log(`FAIL ${PHASE}: ${name}: ${why}`);
}

async function shot(page, name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${PHASE}-${name}.png`) });
}

/** Runs one named check; a thrown error (a timeout, a failed expectation) fails it with a screenshot. */
async function check(page, name, body) {
    try {
        await body();
        pass(name);
        return true;
    } catch (error) {
        fail(name, String(error?.message ?? error).split('\n')[0]);
        await shot(page, `failed-${name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => undefined);
        return false;
    }
}

function expect(condition, message) {
    if (!condition) {
        throw new Error(message);
    }
}

/** The text of every row of the Problems panel. */
async function problemRows(page) {
    return page.locator('.markers-panel .monaco-list-row').allInnerTexts();
}

async function waitForProblems(page, predicate, timeout, what) {
    const deadline = Date.now() + timeout;
    let rows = [];
    while (Date.now() < deadline) {
        rows = await problemRows(page);
        if (predicate(rows)) {
            return rows;
        }
        await page.waitForTimeout(250);
    }
    throw new Error(`${what} not seen within ${timeout / 1000} s; Problems rows: ${JSON.stringify(rows)}`);
}

async function runCommand(page, title) {
    const input = page.locator('.quick-input-widget input');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    // The palette can close again right after it opens, when the workbench moves focus (a
    // code lens or notification appearing on a loaded machine): then open it again.
    for (let attempt = 1; ; attempt += 1) {
        try {
            await page.keyboard.press('F1');
            await input.waitFor({ state: 'visible', timeout: 10_000 });
            await input.fill(`>${title}`, { timeout: 10_000 });
            await row.waitFor({ state: 'visible', timeout: 10_000 });
            break;
        } catch (e) {
            if (attempt >= 3) throw e;
            await page.keyboard.press('Escape');
        }
    }
    await page.keyboard.press('Enter');
}

async function openFile(page, name) {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(name);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Enter');
    await page.locator('.tab', { hasText: name }).first().waitFor({ timeout: 20_000 });
    await page.locator('.monaco-editor .view-lines').first().waitFor({ timeout: 20_000 });
}

/** Replaces the text of `line` (after its indentation) by typing `text`, as a user would. */
async function retypeLine(page, line, text) {
    await goToLine(page, line);
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.type(text);
}

/** Ctrl+G to `line` (a number, or "line:column"). */
async function goToLine(page, line) {
    await page.keyboard.press('Control+G');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`:${line}`);
    await page.keyboard.press('Enter');
}

/** The extension's output channel, as code-server logs it under the user data dir. */
function extensionLog() {
    const found = [];
    const walk = (dir) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(full);
            } else if (/PlanAI Language Server/.test(entry.name)) {
                found.push(fs.readFileSync(full, 'utf8'));
            }
        }
    };
    try {
        walk(path.join(USER_DATA_DIR, 'logs'));
    } catch {
        // No logs yet.
    }
    return found.join('\n');
}

/** Processes below a planai-lsp process (from /proc), with their command lines. */
function serverDescendants() {
    const parents = new Map();
    const commands = new Map();
    for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
            const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
            parents.set(pid, ppid);
            commands.set(pid, fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim());
        } catch {
            // The process ended while we looked.
        }
    }
    // Only this code-server's servers (the bundled binary under its extensions dir): other
    // planai-lsp processes on the machine are none of this test's business.
    const servers = [...commands].filter(([, cmd]) => cmd.startsWith(EXTENSIONS_DIR) && /\/bin\/planai-lsp( |$)/.test(cmd)).map(([pid]) => pid);
    const below = [];
    for (const [pid, cmd] of commands) {
        let ancestor = parents.get(pid);
        for (let depth = 0; ancestor && ancestor !== '0' && depth < 64; depth += 1) {
            if (servers.includes(ancestor)) {
                below.push(cmd);
                break;
            }
            ancestor = parents.get(ancestor);
        }
    }
    return { servers, below };
}

async function main() {
    const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
        ],
    });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    try {
        await page.goto(`${URL}/?folder=${encodeURIComponent(WORKSPACE)}`, { timeout: 60_000 });
        const loaded = await check(page, 'the workbench loads', async () => {
            await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
            // Let the first-start notifications settle, then start from a known state.
            await page.waitForTimeout(3000);
            await page.keyboard.press('Escape');
        });
        if (!loaded) {
            return;
        }
        await check(page, 'a PlanAI mistake is squiggled and listed in Problems with its code', async () => {
            await openFile(page, 'flow.py');
            await page.locator('.squiggly-error').first().waitFor({ timeout: 120_000 });
            await page.keyboard.press('Control+Shift+M');
            const rows = await waitForProblems(page, (rows) => rows.some((row) => row.includes('GC7')), 30_000, 'GC7');
            const row = rows.find((text) => text.includes('GC7'));
            expect(row.includes('does not produce any task types that worker Answerer can consume'), `row: ${row}`);
            expect(row.includes('planai'), `source missing: ${row}`);
            await shot(page, '01-gc7-in-problems');
        });
        if (PHASE === 'restricted') {
            await restricted(page);
        } else {
            await trusted(page);
        }
    } finally {
        await browser.close();
        console.log(`${passed} passed, ${failed} failed`);
    }
}

async function trusted(page) {
    await check(page, 'the PlanAI commands are in the command palette', async () => {
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget input');
        await input.waitFor({ state: 'visible', timeout: 10_000 });
        await input.fill('>PlanAI:');
        await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 10_000 });
        const labels = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
        for (const title of ['PlanAI: Select Environment', 'PlanAI: Show Graph', 'PlanAI: Restart Server', 'PlanAI: Show Server Logs']) {
            expect(labels.some((label) => label.includes(title)), `${title} missing from ${JSON.stringify(labels)}`);
        }
        await shot(page, '02-command-palette');
        await page.keyboard.press('Escape');
    });

    await check(page, 'Select Environment lists the workspace venv with planai and selects it', async () => {
        await runCommand(page, 'PlanAI: Select Environment');
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: '.venv' }).first();
        await row.waitFor({ timeout: 60_000 });
        const text = await row.innerText();
        expect(/planai/i.test(text), `the .venv entry does not show planai: ${text}`);
        await shot(page, '03-select-environment');
        await row.click();
        await page.locator('.notification-toast', { hasText: 'PlanAI now validates with' }).first().waitFor({ timeout: 30_000 });
        await shot(page, '04-environment-selected');
        await page.keyboard.press('Escape');
    });

    await check(page, 'Show Graph draws the graph as a picture, and clicking a worker opens its class', async () => {
        await page.locator('.tab', { hasText: 'flow.py' }).first().click();
        await runCommand(page, 'PlanAI: Show Graph');
        await page.locator('.tab', { hasText: 'PlanAI Graph' }).first().waitFor({ timeout: 30_000 });
        const picture = page.frameLocator('iframe.webview').frameLocator('#active-frame');
        const workers = picture.locator('g.worker');
        await workers.first().waitFor({ timeout: 30_000 });
        expect((await workers.count()) === 2, `workers drawn: ${await workers.count()}`);
        await shot(page, '05-show-graph');
        // The label is drawn over the box: click where the user would, whatever is on top.
        await workers.first().click({ force: true });
        const status = page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first();
        let position = '';
        for (let tries = 0; tries < 50 && !/Ln (16|23),/.test(position); tries += 1) {
            await page.waitForTimeout(200);
            position = await status.innerText().catch(() => '');
        }
        expect(/Ln (16|23),/.test(position), `the cursor is not on a worker class: ${position}`);
        await shot(page, '05b-graph-click-opened-class');
    });

    await check(page, 'Introspect Tasks shows the Tasks the venv imports from the file', async () => {
        await page.locator('.tab', { hasText: 'flow.py' }).first().click();
        await runCommand(page, 'PlanAI: Introspect Tasks');
        // The palette's input turns into the command's input box, prefilled with the module.
        const input = page.locator('.quick-input-widget input');
        let value = '';
        for (let tries = 0; tries < 100 && (value === '' || value.startsWith('>')); tries += 1) {
            await page.waitForTimeout(100);
            value = await input.inputValue().catch(() => '');
        }
        expect(value === 'flow', `prefilled module: ${value}`);
        await page.keyboard.press('Enter');
        await page.locator('.tab', { hasText: 'Tasks in' }).first().waitFor({ timeout: 60_000 });
        // Every rendered editor line on the page (the Markdown document is beside flow.py).
        let text = '';
        for (let tries = 0; tries < 50 && !(text.includes('## Question') && text.includes('## Answer')); tries += 1) {
            await page.waitForTimeout(200);
            text = (await page.locator('.monaco-editor .view-line').allInnerTexts()).join('\n').replace(/\u00a0/g, ' ');
        }
        expect(text.includes('## Question') && text.includes('## Answer'), text);
        await shot(page, '06-introspect-tasks');
    });

    await check(page, 'hover on a Task shows its fields, and F12 on a Task name goes to its class', async () => {
        await page.locator('.tab', { hasText: 'flow.py' }).first().click();
        await page.locator('.monaco-editor .view-lines').first().click();
        await goToLine(page, '8:8');
        await page.keyboard.press('Control+K');
        await page.keyboard.press('Control+I');
        const hover = page.locator('.monaco-hover-content', { hasText: 'Question' }).first();
        await hover.waitFor({ timeout: 30_000 });
        const text = (await hover.innerText()).replace(/\u00a0/g, ' ');
        expect(text.includes('text') && text.includes('str'), `hover: ${text}`);
        await shot(page, '05c-hover-task');
        await page.keyboard.press('Escape');
        await goToLine(page, '26:35');
        await page.keyboard.press('F12');
        const status = page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first();
        let position = '';
        for (let tries = 0; tries < 50 && !/Ln 12,/.test(position); tries += 1) {
            await page.waitForTimeout(200);
            position = await status.innerText().catch(() => '');
        }
        expect(/Ln 12,/.test(position), `F12 on Answer went to: ${position}`);
    });

    await check(page, 'fixing the code clears the diagnostic', async () => {
        await page.locator('.tab', { hasText: 'flow.py' }).first().click();
        await page.locator('.monaco-editor .view-lines').first().click();
        await retypeLine(page, 26, 'def consume_work(self, task: Question):');
        // The line is typed a key at a time, so GC7 goes while an unclosed `(` is still
        // reported: the fixed file has no problem at all.
        await waitForProblems(page, (rows) => rows.length === 0, 30_000, 'Problems empty');
        await shot(page, '07-fixed');
    });

    await check(page, 'a misspelt keyword is an IN9 warning whose quick fix renames it', async () => {
        await page.locator('.tab', { hasText: 'flow.py' }).first().click();
        await page.locator('.monaco-editor .view-lines').first().click();
        await retypeLine(page, 32, 'asker = Asker(num_retry=2)');
        const rows = await waitForProblems(page, (rows) => rows.some((row) => row.includes('IN9')), 30_000, 'IN9');
        const row = rows.find((text) => text.includes('IN9'));
        expect(row.includes('did you mean `num_retries`?'), `row: ${row}`);
        expect(await page.locator('.squiggly-warning').count() > 0, 'no warning squiggle');
        await shot(page, '07b-in9-warning');
        await goToLine(page, '32:24');
        await page.keyboard.press('Control+.');
        const fix = page.locator('.action-widget .monaco-list-row', { hasText: 'Change `num_retry` to `num_retries`' }).first();
        await fix.waitFor({ timeout: 15_000 });
        await shot(page, '07c-in9-quick-fix');
        await fix.click();
        await waitForProblems(page, (rows) => !rows.some((row) => row.includes('IN9')), 30_000, 'IN9 gone');
        const line = page.locator('.monaco-editor .view-line', { hasText: 'asker = Asker(' }).first();
        const text = (await line.innerText()).replace(/\u00a0/g, ' ');
        expect(text.includes('Asker(num_retries=2)'), `line after the fix: ${text}`);
        await retypeLine(page, 32, 'asker = Asker()');
    });

    await check(page, 'the Run graph code lens runs the builder with the module\'s own inputs; the sink output is in PlanAI Runs', async () => {
        await page.locator('.tab', { hasText: 'flow.py' }).first().click();
        await page.locator('.monaco-editor .view-lines').first().click();
        await goToLine(page, 30);
        const lens = page.locator('.codelens-decoration a', { hasText: 'Run graph' }).first();
        await lens.waitFor({ timeout: 30_000 });
        await shot(page, '07a-code-lenses');
        // Lenses are redrawn after every check: a click can land on one being replaced. Click
        // again until the run's progress notification shows that it started.
        const started = page.locator('.notification-toast', { hasText: 'Running build() in flow.py' }).first();
        for (let attempt = 0; attempt < 3; attempt += 1) {
            await page.locator('.codelens-decoration a', { hasText: 'Run graph' }).first().click();
            if (await started.waitFor({ timeout: 15_000 }).then(() => true, () => false)) {
                break;
            }
        }
        await page.locator('.notification-toast', { hasText: /PlanAI run .*: succeeded/ }).first().waitFor({ timeout: 120_000 });
        await shot(page, '07b-run-succeeded');
        const output = (await page.locator('.monaco-editor .view-line').allInnerTexts()).join('\n').replace(/\u00a0/g, ' ');
        expect(output.includes('output of SinkWorker (Answer)') && output.includes('"text": "WHY?"'), `PlanAI Runs shows: ${output.slice(-1500)}`);
        await page.keyboard.press('Escape');
    });

    await check(page, 'Rerun Last Run runs it again (a new run id ends in PlanAI Runs)', async () => {
        const endedRuns = async () => {
            const text = (await page.locator('.monaco-editor .view-line').allInnerTexts()).join('\n').replace(/\u00a0/g, ' ');
            return [...text.matchAll(/\[([^\]]+)\] ended: succeeded/g)].map((m) => m[1]);
        };
        const before = new Set(await endedRuns());
        expect(before.size > 0, 'the first run\'s end is not shown');
        await runCommand(page, 'PlanAI: Rerun Last Run');
        let fresh = [];
        for (let tries = 0; tries < 600 && fresh.length === 0; tries += 1) {
            await page.waitForTimeout(200);
            fresh = (await endedRuns()).filter((id) => !before.has(id));
        }
        expect(fresh.length > 0, `no new run ended; seen ${[...before].join(', ')}`);
    });

    await check(page, 'saving validates in the venv and shows a planai (venv) diagnostic', async () => {
        await page.locator('.tab', { hasText: 'flow.py' }).first().click();
        await page.locator('.monaco-editor .view-lines').first().click();
        await page.keyboard.press('Control+Shift+M');
        await page.locator('.monaco-editor .view-lines').first().click();
        await page.keyboard.press('Control+Home');
        await page.keyboard.press('Home');
        await page.keyboard.type('import planai_lsp_missing_dependency\n');
        await page.keyboard.press('Control+S');
        const rows = await waitForProblems(
            page,
            (rows) => rows.some((row) => row.includes('planai (venv)') && row.includes('planai_lsp_missing_dependency')),
            120_000,
            'a planai (venv) ModuleNotFoundError',
        );
        expect(rows.some((row) => row.includes('ModuleNotFoundError')), JSON.stringify(rows));
        await shot(page, '08-venv-diagnostic');
    });

    await check(page, 'the server log shows each line once, at its own level', async () => {
        const log = extensionLog();
        expect(log.includes('Starting'), `no extension log found under ${USER_DATA_DIR}/logs`);
        expect(!/\[error\][^\n]*\[planai-lsp/.test(log), 'a server stderr line was logged as [error]');
    });

    await check(page, 'a trusted workspace runs the interpreter (control for the Restricted Mode check)', async () => {
        const { servers, below } = serverDescendants();
        expect(servers.length > 0, 'no planai-lsp process found');
        expect(below.some((cmd) => cmd.includes('python')), `no python below planai-lsp: ${JSON.stringify(below)}`);
    });
}

async function restricted(page) {
    await check(page, 'Restricted Mode launches no interpreter', async () => {
        // Give the server the time it would take to start the helper (it starts on open).
        await page.waitForTimeout(5000);
        await page.keyboard.press('Control+S');
        await page.waitForTimeout(3000);
        const { servers, below } = serverDescendants();
        expect(servers.length > 0, 'no planai-lsp process found');
        expect(!below.some((cmd) => cmd.includes('python')), `python started below planai-lsp: ${JSON.stringify(below)}`);
    });
    await check(page, 'the extension says why', async () => {
        const log = extensionLog();
        expect(log.includes('NOT trusted: no Python interpreter will be run'), `log: ${log.slice(0, 2000)}`);
        await shot(page, '02-restricted');
    });
}

main().catch((error) => {
    console.log(`FAIL ${PHASE}: driver crashed: ${error?.stack ?? error}`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exitCode = 1;
});
