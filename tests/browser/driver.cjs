// A small driver of a real browser for the Rust integration tests (tests/it/dashboard.rs):
// headless Chromium through Playwright's `playwright-core` (no browser download: Debian's
// /usr/bin/chromium). It reads one JSON command per line on stdin and answers each with one JSON
// line on stdout, {"ok": true, "value": ...} or {"ok": false, "error": "..."}, so the test keeps
// the scenario (traffic, metrics, assertions) and the browser only does what a person would.
//
// Commands: launch {executable, userDataDir, width, height} · goto {url} · eval {expr} ·
// waitFor {expr, timeout} (until expr is truthy) · click {selector} · fill {selector, value} ·
// screenshot {path} · problems (console errors and page errors so far) · close.
//
// PLAYWRIGHT_CORE names the installed package (scripts/test.sh installs it under
// target/browser/node_modules).
'use strict';

const readline = require('node:readline');

let playwright;
try {
  playwright = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');
} catch (e) {
  process.stdout.write(JSON.stringify({
    ok: false,
    error: `cannot load playwright-core (${e.message}); run scripts/test.sh, which installs it`,
  }) + '\n');
  process.exit(2);
}

let context = null;
let page = null;
const problems = [];

async function launch({ executable, userDataDir, width, height }) {
  context = await playwright.chromium.launchPersistentContext(userDataDir, {
    executablePath: executable,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: width || 1280, height: height || 800 },
    deviceScaleFactor: 1,
    timeout: 60000,
  });
  page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // The dashboard asks before promoting or rolling back; the test answers yes.
  page.on('dialog', (d) => d.accept());
  return (await context.browser()?.version()) || 'chromium';
}

const commands = {
  launch,
  async goto({ url }) {
    const r = await page.goto(url, { waitUntil: 'load' });
    return { status: r ? r.status() : null, contentType: r ? r.headers()['content-type'] : null };
  },
  async eval({ expr }) {
    return page.evaluate(expr);
  },
  // Polls from here rather than with page.waitForFunction, which evaluates a string with
  // eval() inside the page, and the dashboard's Content-Security-Policy forbids eval.
  async waitFor({ expr, timeout }) {
    const deadline = Date.now() + (timeout || 10000);
    for (;;) {
      if (await page.evaluate(expr)) return true;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${expr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  },
  async click({ selector }) {
    await page.click(selector, { timeout: 10000 });
    return true;
  },
  async fill({ selector, value }) {
    await page.fill(selector, value, { timeout: 10000 });
    return true;
  },
  async screenshot({ path }) {
    // From the top, so the sticky header is drawn where it belongs in a full-page picture.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path, fullPage: true });
    return path;
  },
  async problems() {
    return problems;
  },
  async close() {
    if (context) await context.close();
    context = null;
    return true;
  },
};

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  queue = queue.then(async () => {
    let reply;
    try {
      const cmd = JSON.parse(line);
      const f = commands[cmd.cmd];
      if (!f) throw new Error(`unknown command ${cmd.cmd}`);
      reply = { ok: true, value: (await f(cmd)) ?? null };
    } catch (e) {
      reply = { ok: false, error: String((e && e.stack) || e) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  });
});
rl.on('close', () => {
  queue.then(async () => {
    if (context) await context.close().catch(() => {});
    process.exit(0);
  });
});
