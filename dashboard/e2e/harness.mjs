// Shared pieces of the browser tests: a real `onslaught serve` (orchestrator, 3 in-process
// drivers, the built-in target and this dashboard, from dist/), Debian's Chromium driven by
// playwright-core, console-error capture and DOM polling.
//
// Environment:
//   ONSLAUGHT_BIN   the onslaught binary (default ../target/debug/onslaught from dashboard/)
//   CHROMIUM_BIN    the Chromium executable (default /usr/bin/chromium); never downloaded
//   E2E_ARTIFACTS   where screenshots go (default e2e/artifacts, gitignored)

import { AssertionError } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const DASHBOARD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = process.env.ONSLAUGHT_BIN
  ? path.resolve(process.env.ONSLAUGHT_BIN)
  : path.resolve(DASHBOARD_DIR, '../target/debug/onslaught');
export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(DASHBOARD_DIR, process.env.E2E_ARTIFACTS ?? 'e2e/artifacts');
export const DRIVERS = ['driver-1', 'driver-2', 'driver-3'];

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Generous bounds for a loaded 2-core machine; every wait polls and returns as soon as it can. */
export const STARTUP_TIMEOUT_MS = 30_000;

/** Everything started, so teardown can stop it even after a failed start. */
const cleanups = [];
process.on('exit', () => {
  for (const c of cleanups) c.sync?.();
});

/**
 * Starts `onslaught serve --drivers 3 --listen 127.0.0.1:0` with a fresh report folder and waits
 * for its `dashboard:` and `target:` lines and for the three drivers to be alive.
 */
export async function startServer() {
  if (!existsSync(BIN)) {
    throw new Error(`${BIN} does not exist: build it first (cargo build -p onslaught) or set ONSLAUGHT_BIN`);
  }
  if (!existsSync(path.join(DASHBOARD_DIR, 'dist', 'index.html'))) {
    throw new Error('dashboard/dist/index.html does not exist: run `npm run build` first');
  }
  const reportDir = await mkdtemp(path.join(tmpdir(), 'onslaught-e2e-reports-'));
  const child = spawn(BIN, ['serve', '--drivers', '3', '--listen', '127.0.0.1:0', '--report-dir', reportDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG ?? 'info' },
  });
  // Keep the log's tail for failures; always drain both pipes so the server never blocks on them.
  const log = [];
  const keep = (line) => {
    log.push(line);
    if (log.length > 300) log.shift();
  };
  createInterface({ input: child.stderr }).on('line', keep);
  const stdout = createInterface({ input: child.stdout });
  let exited = null;
  const exitedPromise = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    }),
  );
  const server = {
    child,
    reportDir,
    dashboardUrl: '',
    targetUrl: '',
    log,
    /** How the process ended ({ code, signal }), or null while it runs. */
    get exited() {
      return exited;
    },
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exitedPromise;
        clearTimeout(timer);
      }
      // Whatever still holds the pipes must not keep this process alive.
      child.stdout.destroy();
      child.stderr.destroy();
      await rm(reportDir, { recursive: true, force: true });
    },
  };
  cleanups.push({ sync: () => exited === null && child.kill('SIGKILL') });

  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "dashboard:" line from onslaught serve within ${STARTUP_TIMEOUT_MS} ms`)),
        STARTUP_TIMEOUT_MS,
      );
      exitedPromise.then((e) => reject(new Error(`onslaught serve exited early: ${JSON.stringify(e)}`)));
      stdout.on('line', (line) => {
        keep(`stdout: ${line}`);
        const d = /^dashboard: (\S+)/.exec(line);
        if (d) server.dashboardUrl = d[1];
        const t = /^target: (\S+)/.exec(line);
        if (t) server.targetUrl = t[1];
        if (server.dashboardUrl && server.targetUrl) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await poll(
      async () => {
        const nodes = await getJson(server, 'api/nodes');
        return nodes.nodes.filter((n) => n.liveness === 'alive' && n.state === 'idle').length === DRIVERS.length;
      },
      { timeout: STARTUP_TIMEOUT_MS, what: 'three idle drivers' },
    );
  } catch (error) {
    await server.stop();
    throw new Error(`${error.message}\n--- onslaught log ---\n${log.join('\n')}`);
  }
  return server;
}

/** GET a JSON route of the server from the test process. */
export async function getJson(server, route) {
  const res = await fetch(new URL(route, server.dashboardUrl));
  if (!res.ok) throw new Error(`GET ${route}: ${res.status}`);
  return res.json();
}

/** POST a JSON body; returns { status, body }. */
export async function postJson(server, route, body) {
  const res = await fetch(new URL(route, server.dashboardUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * Launches Chromium with a fresh profile and one page. Console errors and page errors are
 * collected; Chromium's own "Failed to load resource" lines (4xx provoked on purpose) are not.
 */
export async function launchBrowser({ viewport = { width: 1280, height: 900 }, ...options } = {}) {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'onslaught-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: STARTUP_TIMEOUT_MS,
    ...options,
  });
  context.setDefaultTimeout(20_000);
  const errors = [];
  const watch = (page) => {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      if (/^Failed to load resource/.test(text)) return;
      errors.push(`console: ${text} (${msg.location().url ?? ''})`);
    });
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.stack ?? error.message}`));
  };
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  if (context.pages().length > 0) watch(page);
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `fn` until it returns a truthy value (returned), or fails after `timeout` ms. Other
 * errors count as "not yet" (a page in the middle of a reload, say); a failed assertion fails.
 */
export async function poll(fn, { timeout = 20_000, interval = 100, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      last = value;
    } catch (error) {
      if (error instanceof AssertionError) throw error;
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Opens the dashboard and waits for the event stream to be live and the drivers listed. */
export async function openDashboard(page, server, hash = '') {
  await page.goto(server.dashboardUrl + hash);
  await waitForText(page, 'connection', (t) => t === 'live', 'the event stream to be live');
  await waitForText(page, 'nodes-summary', (t) => t.startsWith('3 alive'), 'three alive drivers');
}

/** The text of the element with this data-testid, or null when absent. */
export function textOf(page, testId) {
  return page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() ?? null, testId);
}

/** Waits until the text of `testId` satisfies `ok`; returns it. */
export async function waitForText(page, testId, ok, what, timeout = 20_000) {
  let text = null;
  await poll(
    async () => {
      text = await textOf(page, testId);
      return text !== null && ok(text);
    },
    { timeout, what: `${what} (data-testid=${testId})` },
  );
  return text;
}

/** Requests sent by each driver as the live view shows them (data-value), null when not shown. */
export function driverCounts(page) {
  return page.evaluate((ids) => {
    const out = {};
    for (const id of ids) {
      const v = document.querySelector(`[data-testid="node-requests-${id}"]`)?.getAttribute('data-value');
      out[id] = v == null ? null : Number(v);
    }
    return out;
  }, DRIVERS);
}

/** The live view's data-* attributes. */
export function liveAttrs(page) {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid="live-view"]');
    return el ? { ...el.dataset } : null;
  });
}

/** A table's header and body cells as text. */
export function tableCells(page, testId) {
  return page.evaluate((id) => {
    const table = document.querySelector(`[data-testid="${id}"] table, table[data-testid="${id}"]`);
    if (!table) return null;
    const text = (el) => el.textContent.trim();
    return {
      head: [...table.querySelectorAll('thead th')].map(text),
      rows: [...table.querySelectorAll('tbody tr')].map((tr) => ({
        testId: tr.getAttribute('data-testid'),
        cells: [...tr.children].map(text),
      })),
    };
  }, testId);
}

/** "1,234" → 1234; "0.42 ms" → 0.42; "1.20 s" → 1200 (ms); NaN for anything else. */
export function parseShown(text) {
  const m = /^(-?[\d,]+(?:\.\d+)?)\s*(ms|s|µs)?$/.exec(text.trim());
  if (!m) return NaN;
  const n = Number(m[1].replaceAll(',', ''));
  return m[2] === 's' ? n * 1000 : m[2] === 'µs' ? n / 1000 : n;
}

/** Saves a screenshot under e2e/artifacts/. */
export async function screenshot(page, name, options = {}) {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, ...options });
  return file;
}

/** Fails with every console or page error collected. */
export function assertNoBrowserErrors(browser) {
  if (browser.errors.length > 0) {
    throw new Error(`the page reported errors:\n${browser.errors.join('\n')}`);
  }
}

/** What the server and the page were doing: appended to a failure's message. */
export async function diagnose(server, page) {
  const parts = [];
  const safe = async (label, fn) => {
    try {
      parts.push(`${label}: ${await fn()}`);
    } catch (error) {
      parts.push(`${label}: (${error.message})`);
    }
  };
  if (server) {
    parts.push(`onslaught serve: ${server.exited ? `exited ${JSON.stringify(server.exited)}` : 'running'}`);
    if (server.log.some((l) => /shutting down/.test(l))) {
      parts.push('onslaught serve was told to shut down (SIGTERM or SIGINT) before the test ended');
    }
    await safe('api/tests', async () => {
      const { tests } = await getJson(server, 'api/tests?limit=5&offset=0');
      return JSON.stringify(
        tests.map((t) => ({
          id: t.id,
          status: t.status,
          message: t.message,
          started_at_ms: t.started_at_ms,
          ended_at_ms: t.ended_at_ms,
          last_metrics_sent_at_ms: t.last_metrics_sent_at_ms,
          sent: Object.fromEntries(Object.entries(t.nodes ?? {}).map(([k, v]) => [k, v.requests_sent])),
          facts: t.node_facts,
        })),
      );
    });
    await safe('api/nodes', async () => JSON.stringify((await getJson(server, 'api/nodes')).nodes));
  }
  if (page) {
    await safe('now', async () => String(Date.now()));
    await safe('live view', async () => JSON.stringify(await liveAttrs(page)));
    await safe('connection', async () => textOf(page, 'connection'));
    await safe('live-status', async () => textOf(page, 'live-status'));
  }
  if (server) parts.push(`--- onslaught log (tail) ---\n${server.log.slice(-60).join('\n')}`);
  return parts.join('\n');
}

/** Wraps a test body so that a failure also tells what the server and the page were doing. */
export function withDiagnostics(get, body) {
  return async (t) => {
    try {
      await body(t);
    } catch (error) {
      const { server, browser } = get();
      const extra = await diagnose(server, browser?.page).catch((e) => `(no diagnostics: ${e.message})`);
      error.message = `${error.message}\n--- diagnostics ---\n${extra}`;
      throw error;
    }
  };
}

/**
 * The one server and one browser of a test file: started before its tests (`init(browser)` runs
 * after the launch, before any page load), stopped after them. Returns the live handles; its
 * `server` and `browser` are set once `before` has run.
 */
export function useDashboard({ browser: browserOptions, init } = {}) {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await startServer();
    env.browser = await launchBrowser(browserOptions);
    await init?.(env.browser);
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

/**
 * A test against `env` (from useDashboard): opens the dashboard and waits for it to be live,
 * runs `body({ page, server, browser }, t)`, then fails on any console or page error. A failure
 * tells what the server and the page were doing.
 */
export function dashboardTest(env, name, body) {
  return test(
    name,
    withDiagnostics(() => env, async (t) => {
      const { server, browser } = env;
      await openDashboard(browser.page, server);
      await body({ page: browser.page, server, browser }, t);
      assertNoBrowserErrors(browser);
    }),
  );
}
