// The self-contained HTML report: a 3-driver tsunami test runs on the real orchestrator, which
// writes report.html beside test.json; the file opens from disk in Chromium with every request
// that is not file:// blocked (none may be made), every chart has data, and every number shown
// equals test.json's (or the node report's it comes from). The API serves the same page.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, dashboardTest, DRIVERS, getJson, poll, postJson, screenshot, useDashboard } from './harness.mjs';

const RATE = 50; // per driver, requests/s
const DURATION_MS = 4_000;

const env = useDashboard();

/** Runs a tsunami test through the API until its report is written; returns its view. */
async function runTest(server, url) {
  const created = await postJson(server, 'api/tests', { test_type: 'tsunami', url, rate: RATE, duration_ms: DURATION_MS, start: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return poll(
    async () => {
      const t = await getJson(server, `api/tests/${created.body.id}`);
      return t.report_path ? t : null;
    },
    { timeout: DURATION_MS + 30_000, what: 'the test to end with its report written' },
  );
}

/** Opens a file in a new page with every request that is not file:// blocked; returns the page and what was blocked. */
async function openOffline(browser, file) {
  const page = await browser.context.newPage();
  const requested = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file://')) return route.continue();
    requested.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href);
  await poll(() => page.getByTestId('report').isVisible(), { what: 'the report to render' });
  return { page, requested };
}

/** data-value of every cell of a table's rows, by row test id; each row as an array. */
function tableValues(page, testId) {
  return page.evaluate((id) => {
    const out = {};
    for (const tr of document.querySelectorAll(`[data-testid="${id}"] tbody tr`)) {
      out[tr.getAttribute('data-testid')] = [...tr.children].map((c) => {
        const v = c.getAttribute('data-value');
        return v === null ? c.textContent.trim() : v === '' ? null : Number(v);
      });
    }
    return out;
  }, testId);
}

dashboardTest(env, 'report.html opens offline with every chart drawn and the numbers of test.json', async ({ server, browser }) => {
  const view = await runTest(server, server.targetUrl);
  const id = view.id;
  assert.equal(view.status, 'completed', view.message ?? '');
  const folder = path.dirname(view.report_path);
  const json = JSON.parse(await readFile(view.report_path, 'utf8'));
  const nodes = Object.fromEntries(
    await Promise.all(DRIVERS.map(async (d) => [d, JSON.parse(await readFile(path.join(folder, `node-${d}.json`), 'utf8'))])),
  );
  const file = path.join(folder, 'report.html');
  const html = await readFile(file, 'utf8');
  assert.ok(html.includes('id="report-data"'), 'report.html has its data block');

  // The API serves the same page.
  const served = await fetch(new URL(`api/tests/${id}/report.html`, server.dashboardUrl));
  assert.equal(served.status, 200);
  assert.match(served.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(await served.text(), html, 'the API serves the page written beside test.json');

  // Opened from disk, with the network cut: anything but file:// is blocked and recorded.
  const { page, requested } = await openOffline(browser, file);
  // uPlot has drawn a canvas into every chart.
  for (const chart of ['throughput-chart', 'errors-chart', 'latency-chart', 'spectrum-chart']) {
    await poll(() => page.locator(`[data-testid="${chart}"] canvas`).count(), { what: `${chart} to draw` });
  }
  await screenshot(page, 'report.png', { fullPage: true });
  assert.deepEqual(requested, [], 'the report made no request beyond its own file');

  const text = (testId) => page.getByTestId(testId).textContent();
  assert.equal(await text('report-status'), json.status);
  assert.equal(await text('report-verdict'), 'passed');
  const plan = await text('report-plan');
  assert.ok(plan.includes(json.config.url) && plan.includes('tsunami'), plan);

  // Tiles: the aggregate's numbers.
  const tile = async (key) => Number(await page.getByTestId(`tile-${key}`).getAttribute('data-value'));
  const agg = json.aggregate;
  assert.equal(await tile('sent'), agg.requests_sent);
  assert.equal(await tile('attempted'), agg.requests_attempted);
  assert.equal(await tile('responses'), agg.responses_received);
  assert.equal(await tile('rps'), agg.rps);
  assert.equal(await tile('success'), agg.success_ratio);
  assert.equal(await tile('p50'), agg.latency.median);
  assert.equal(await tile('p99'), agg.latency.p99);
  assert.equal(await tile('max'), agg.latency.max);
  assert.ok(agg.requests_sent > 0.9 * DRIVERS.length * RATE * (DURATION_MS / 1000), `sent ${agg.requests_sent}`);

  // Charts: every one has data, and their columns are the series of test.json and the node reports.
  const columns = async (testId) => JSON.parse(await page.getByTestId(testId).getAttribute('data-columns'));
  const hasData = (col) => col.some((v) => v !== null);
  const bySecond = new Map(json.series.map((p) => [p.second, p]));

  const throughput = await columns('throughput-chart');
  // (Its errors line, as on the live view, has no points in the seconds after the last error:
  // none here. The errors chart below draws every second's count.)
  for (const key of ['total', ...DRIVERS]) assert.ok(hasData(throughput[key]), `throughput ${key} has data`);
  throughput.x.forEach((s, i) => {
    const p = bySecond.get(s);
    if (throughput.total[i] !== null) assert.equal(throughput.total[i], p.requests, `requests at second ${s}`);
    for (const d of DRIVERS) if (throughput[d][i] !== null) assert.equal(throughput[d][i], p.nodes[d] ?? 0, `${d} at second ${s}`);
  });
  const drawn = throughput.total.reduce((a, v) => a + (v ?? 0), 0);
  assert.equal(drawn, json.series.reduce((a, p) => a + p.requests, 0), 'the throughput line sums to the series');

  const latency = await columns('latency-chart');
  for (const key of ['p50', 'p90', 'p99', 'max']) {
    assert.ok(hasData(latency[key]), `latency ${key} has data`);
    latency.x.forEach((s, i) => {
      const p = bySecond.get(s);
      assert.equal(latency[key][i], p && p.responses > 0 ? p[key] : null, `${key} at second ${s}`);
    });
  }

  const errors = await columns('errors-chart');
  for (const d of DRIVERS) {
    assert.ok(hasData(errors[d]), `errors per second of ${d} has data`);
    const own = new Map(nodes[d].series.map((p) => [p.second, p.errors]));
    errors.x.forEach((s, i) => assert.equal(errors[d][i], own.has(s) ? own.get(s) : null, `${d} errors at second ${s}`));
  }

  const spectrum = await columns('spectrum-chart');
  assert.ok(spectrum.latency.length > 10, `${spectrum.latency.length} spectrum steps`);
  assert.equal(spectrum.latency.at(-1), agg.latency.max, 'the spectrum ends at the maximum');
  assert.equal(spectrum.percentile.at(-1), 100);
  const median = spectrum.latency[spectrum.percentile.findIndex((p) => p >= 50)];
  assert.ok(Math.abs(median - agg.latency.median) <= agg.latency.median * 0.01, `spectrum median ${median} vs ${agg.latency.median}`);
  assert.ok(spectrum.x.every((x, i) => i === 0 || x > spectrum.x[i - 1]), 'x = 1/(1-p) rises');

  // Tables: per driver, latency, status codes, errors, scheduled load, what happened to drivers.
  const drivers = await tableValues(page, 'driver-table');
  for (const d of DRIVERS) {
    const n = json.nodes[d];
    const row = drivers[`driver-table-row-${d}`];
    assert.ok(row, `driver row ${d}`);
    assert.deepEqual(
      [row[1], row[2], row[3], row[4], row[5], row[7], row[8], row[9], row[10]],
      [
        'finished',
        n.requests_sent,
        n.responses_received,
        Object.values(n.errors).reduce((a, b) => a + b, 0),
        n.rps,
        n.latency.median,
        n.latency.p90,
        n.latency.p99,
        n.latency.max,
      ],
      `driver ${d}`,
    );
  }
  const lat = await tableValues(page, 'latency-table');
  const l = agg.latency;
  assert.deepEqual(lat['latency-table-row-latency'].slice(1), [l.count, l.min, l.median, l.p90, l.p95, l.p99, l.p999, l.max, l.mean, l.stdev]);
  assert.equal(lat['latency-table-row-send_lag'][6], agg.send_lag.p99);

  const statuses = await tableValues(page, 'status-table');
  for (const [code, n] of Object.entries(agg.status_codes)) {
    assert.deepEqual(
      statuses[`status-table-row-${code}`].slice(1),
      [n, ...DRIVERS.map((d) => json.nodes[d].status_codes[code] ?? 0)],
      `status ${code}`,
    );
  }
  const errorKinds = await tableValues(page, 'error-table');
  for (const [kind, row] of Object.entries(errorKinds)) {
    assert.equal(row[1], agg.errors[kind.replace('error-table-row-', '')] ?? 0, kind);
  }
  const schedule = await tableValues(page, 'schedule-table');
  assert.equal(schedule['schedule-table-row-all'][1], agg.late_sends);
  assert.equal(schedule['schedule-table-row-all'][4], agg.send_lag.p99);
  const fates = await tableValues(page, 'fate-table');
  for (const d of DRIVERS) {
    const row = fates[`fate-table-row-${d}`];
    assert.equal(row[1], 'finished');
    assert.equal(row[2], null, `${d} was not lost`);
    assert.equal(row[4], json.node_facts[d].messages);
  }
  const thresholds = await tableValues(page, 'thresholds');
  assert.deepEqual(Object.values(thresholds).map((r) => r[3]), ['pass', 'pass', 'pass']);
  await page.close();
});

dashboardTest(env, 'onslaught compare --html overlays a base run and names the regression, offline', async ({ server, browser }) => {
  const base = await runTest(server, server.targetUrl);
  const slow = await runTest(server, `${server.targetUrl}?latency=200ms`);
  const out = path.join(server.reportDir, 'compare.html');
  const run = await promisify(execFile)(BIN, ['compare', path.dirname(base.report_path), path.dirname(slow.report_path), '--html', out]).then(
    () => ({ code: 0 }),
    (error) => ({ code: error.code, stdout: error.stdout }),
  );
  assert.equal(run.code, 1, 'a regression exits 1');
  assert.match(run.stdout, /Regression: .*p99 \(/);

  const { page, requested } = await openOffline(browser, out);
  for (const chart of ['compare-throughput-chart', 'compare-latency-chart', 'compare-spectrum-chart']) {
    await poll(() => page.locator(`[data-testid="${chart}"] canvas`).count(), { what: `${chart} to draw` });
    const columns = JSON.parse(await page.getByTestId(chart).getAttribute('data-columns'));
    for (const run of ['base', 'new']) assert.ok(columns[run].some((v) => v !== null), `${chart}: ${run} has data`);
  }
  await screenshot(page, 'compare.png', { fullPage: true });
  assert.deepEqual(requested, [], 'the comparison page made no request beyond its own file');
  assert.match(await page.getByTestId('compare-verdict').textContent(), /^Regression: .*p99/);
  const rows = await tableValues(page, 'compare-table');
  const p99 = rows['compare-table-row-p99'];
  assert.equal(p99[1], base.aggregate.latency.p99);
  assert.equal(p99[2], slow.aggregate.latency.p99);
  assert.equal(p99[5], 'regression');
  assert.equal(await page.getByTestId('report').getAttribute('data-test-id'), slow.id, 'the page is the new run\'s report');
  await page.close();
});

// A real flow test on 3 drivers: two weighted flows (log in, take the token, look at an item
// with it; or only ping), named steps with checks. Its report.html opens offline with a row per
// request name and per flow, every chart drawn (the flows' iteration-duration spectrum too), and
// every number equal to test.json's.
dashboardTest(env, 'the report of a 3-driver flow test shows every request name and flow with the numbers of test.json', async ({ server, browser }) => {
  const plan = {
    name: 'report-flows',
    base_url: new URL(server.targetUrl).origin,
    test_type: 'tsunami',
    rate: 10,
    duration_ms: DURATION_MS,
    concurrency: 20,
    start: true,
    flows: [
      {
        name: 'buy',
        weight: 3,
        steps: [
          {
            name: 'login',
            request: { method: 'POST', url: '/login', json: { user: 'zoe', password: 'secret' } },
            extract: { token: { json: '$.token' } },
            check: { status: 200 },
            on_failure: 'stop',
          },
          {
            name: 'item',
            request: { url: '/items/{{ random_int(1, 1200) }}', headers: { Authorization: 'Bearer {{ token }}' } },
            check: { status: [200, 404] },
          },
        ],
      },
      { name: 'browse', weight: 1, steps: [{ name: 'ping', request: { url: '/ping' } }] },
    ],
  };
  const created = await postJson(server, 'api/tests', plan);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const view = await poll(
    async () => {
      const t = await getJson(server, `api/tests/${created.body.id}`);
      return t.report_path ? t : null;
    },
    { timeout: DURATION_MS + 30_000, what: 'the flow test to end with its report written' },
  );
  assert.equal(view.status, 'completed', view.message ?? '');
  const json = JSON.parse(await readFile(view.report_path, 'utf8'));
  const agg = json.aggregate;
  assert.deepEqual(Object.keys(agg.by_name).sort(), ['item', 'login', 'ping']);
  assert.deepEqual(Object.keys(agg.flows).sort(), ['browse', 'buy']);
  assert.ok(agg.by_name.login.requests_sent > 0 && agg.by_name.ping.requests_sent > 0, JSON.stringify(agg.by_name));
  assert.equal(agg.checks_failed ?? 0, 0, JSON.stringify(agg.failed_checks));

  const { page, requested } = await openOffline(browser, path.join(path.dirname(view.report_path), 'report.html'));
  for (const chart of ['throughput-chart', 'errors-chart', 'latency-chart', 'spectrum-chart', 'flow-spectrum-chart']) {
    await poll(() => page.locator(`[data-testid="${chart}"] canvas`).count(), { what: `${chart} to draw` });
    const columns = JSON.parse(await page.getByTestId(chart).getAttribute('data-columns'));
    const series = Object.entries(columns).filter(([k]) => k !== 'x');
    assert.ok(series.some(([, col]) => col.some((v) => v !== null)), `${chart} has data`);
  }
  const flowSpectrum = JSON.parse(await page.getByTestId('flow-spectrum-chart').getAttribute('data-columns'));
  for (const flow of ['buy', 'browse']) assert.ok(flowSpectrum[flow].some((v) => v !== null), `the ${flow} spectrum has data`);
  assert.deepEqual(requested, [], 'the report made no request beyond its own file');

  const shownPlan = await page.getByTestId('report-plan').textContent();
  for (const part of ['report-flows', 'buy (weight 3): login POST /login → item GET /items/', 'browse (weight 1): ping GET /ping']) {
    assert.ok(shownPlan.includes(part), `the plan shows "${part}": ${shownPlan}`);
  }
  const rows = await tableValues(page, 'request-table');
  assert.deepEqual(Object.keys(rows), ['request-table-row-item', 'request-table-row-login', 'request-table-row-ping', 'request-table-row-all']);
  for (const [key, s] of [['item', agg.by_name.item], ['login', agg.by_name.login], ['ping', agg.by_name.ping], ['all', agg]]) {
    const row = rows[`request-table-row-${key}`];
    assert.deepEqual(
      [row[1], row[3], row[4], row[5], row[6], row[7], row[8], row[9]],
      [s.requests_sent, s.latency.median, s.latency.p95, s.latency.p99, s.latency.max, s.rps, s.checks_passed ?? 0, s.checks_failed ?? 0],
      `request row ${key}`,
    );
  }
  const flows = await tableValues(page, 'flow-table');
  for (const name of ['buy', 'browse']) {
    const f = agg.flows[name];
    assert.deepEqual(flows[`flow-table-row-${name}`].slice(1, 6), [f.started, f.completed, f.interrupted, f.dropped, f.rate], `flow ${name}`);
  }
  assert.equal(agg.flows.buy.started + agg.flows.buy.dropped + agg.flows.browse.started + agg.flows.browse.dropped, DRIVERS.length * 10 * (DURATION_MS / 1000), 'every scheduled iteration started');
  assert.match(await page.getByTestId('report-checks').textContent(), new RegExp(`^${agg.checks_passed.toLocaleString('en-US')} checks passed, 0 failed`));

  // The latency chart of one request name: its seconds of test.json's series (by_name), and
  // back to all requests.
  const picker = page.getByTestId('latency-name');
  assert.deepEqual(await picker.locator('option').allTextContents(), ['all requests', 'item', 'login', 'ping']);
  const latencyColumns = async () => JSON.parse(await page.getByTestId('latency-chart').getAttribute('data-columns'));
  const whole = await latencyColumns();
  await picker.selectOption('login');
  const login = await poll(
    async () => {
      const c = await latencyColumns();
      return JSON.stringify(c) === JSON.stringify(whole) ? null : c;
    },
    { what: 'the latency chart to show login only' },
  );
  const loginSeconds = json.series.filter((p) => p.by_name?.login);
  const loginAt = new Map(loginSeconds.map((p) => [p.second, p.by_name.login]));
  const xs = [];
  for (let x = loginSeconds[0].second; x <= loginSeconds.at(-1).second; x++) xs.push(x);
  assert.deepEqual(login.x, xs);
  for (const key of ['p50', 'p90', 'p99', 'max']) {
    const expected = xs.map((x) => (loginAt.get(x)?.responses > 0 ? loginAt.get(x)[key] : null));
    assert.deepEqual(login[key], expected, `login ${key}`);
  }
  const perSecond = loginSeconds.reduce((n, p) => n + p.by_name.login.requests, 0);
  assert.equal(perSecond, agg.by_name.login.requests_sent, "login's seconds add up to its total");
  await picker.selectOption('all requests');
  await poll(async () => JSON.stringify(await latencyColumns()) === JSON.stringify(whole), { what: 'all requests again' });
  await screenshot(page, 'report-requests.png', { fullPage: true });
  await page.close();
});
