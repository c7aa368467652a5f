// What the live view shows for real tests: an empty chart's axis reads distinct ticks; a test
// without responses shows "—" in its latency tables, as on its tiles; counts read with thousands
// separators everywhere; a finished test's throughput is not drawn dropping to 0 in the seconds
// after its last send; and a fresh load shows the newest test, not an older one that was created
// and never started.

import assert from 'node:assert/strict';
import {
  dashboardTest,
  DRIVERS,
  getJson,
  liveAttrs,
  openDashboard,
  poll,
  postJson,
  screenshot,
  tableCells,
  textOf,
  useDashboard,
  waitForText,
} from './harness.mjs';

const DASH = '—';

const env = useDashboard();

/** What the y axes of the two charts read (data-y-ticks), or null before they are drawn. */
function yTicks(page) {
  return page.evaluate(() => {
    const ticks = (id) => {
      const v = document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-y-ticks');
      return v ? JSON.parse(v) : null;
    };
    const throughput = ticks('throughput-chart');
    const latency = ticks('latency-chart');
    return throughput && latency ? { throughput, latency } : null;
  });
}

/** Points at the right edge of a chart (its last second) and reads its legend: label → value. */
async function legendAtRightEdge(page, testId) {
  const over = page.locator(`[data-testid="${testId}"] .u-over`);
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  assert.ok(box, `${testId} has a plot area`);
  await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
  return page.evaluate((id) => {
    const out = {};
    for (const row of document.querySelectorAll(`[data-testid="${id}"] .u-legend .u-series`)) {
      const label = row.querySelector('.u-label')?.textContent?.trim();
      if (label) out[label] = row.querySelector('.u-value')?.textContent?.trim() ?? null;
    }
    return out;
  }, testId);
}

/** Every count and figure the live view and the history show, as text (not ids, URLs or dates). */
function shownFigures(page) {
  return page.evaluate(() => {
    const texts = [];
    const add = (el) => el && texts.push(el.textContent.trim());
    for (const el of document.querySelectorAll('[data-testid^="tile-"], [data-testid="driver-requests"] td')) add(el);
    for (const id of ['aggregate-table', 'node-table', 'error-table', 'status-table']) {
      for (const td of document.querySelectorAll(`[data-testid="${id}"] tbody td`)) add(td);
    }
    for (const row of document.querySelectorAll('[data-testid^="history-row-"]')) {
      [...row.children].slice(2).forEach(add); // after the id and the creation date
    }
    for (const el of document.querySelectorAll('[data-testid="nodes-list"] .node-detail')) add(el);
    return texts;
  });
}

/** Polls the API until the test has ended; returns its detail view (with series). */
async function waitForEnd(server, id, timeout) {
  return poll(
    async () => {
      const t = await getJson(server, `api/tests/${id}`);
      return ['created', 'configuring', 'running'].includes(t.status) ? null : t;
    },
    { timeout, what: `test ${id} to end` },
  );
}

dashboardTest(
  env,
  'empty axes, no-response tables, grouped numbers, no trailing zero second, and the newest test on load',
  async ({ page, server }) => {
    // 1. A test created and never started: the page shows it (it is the only one).
    const created = await postJson(server, 'api/tests', {
      test_type: 'avalanche',
      url: server.targetUrl,
      requests_per_driver: 100,
      start: false,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const idle = created.body.id;
    await poll(async () => (await liveAttrs(page))?.testId === idle, { what: 'the live view to show the created test' });
    await waitForText(page, 'live-status', (t) => t === 'created', 'the created status');

    // Its empty charts' y axes: distinct ticks, whole numbers for the counts.
    const ticks = await poll(() => yTicks(page), { what: 'both charts to draw their y axis' });
    assert.deepEqual(ticks.throughput, ['0', '1'], 'an empty throughput axis reads 0 and 1');
    assert.equal(new Set(ticks.latency).size, ticks.latency.length, `distinct latency ticks: ${ticks.latency}`);
    const latencyTicks = ticks.latency.map(Number);
    assert.ok(latencyTicks.length >= 2 && latencyTicks[0] === 0, `latency ticks from 0: ${ticks.latency}`);
    assert.ok(latencyTicks.every((v, i) => i === 0 || v > latencyTicks[i - 1]), `latency ticks rise: ${ticks.latency}`);
    await screenshot(page, 'display-created.png');

    // No responses: "—" for every latency statistic, in the tables as on the tiles.
    assert.equal(await textOf(page, 'tile-p50'), DASH);
    assert.equal(await textOf(page, 'tile-p99'), DASH);
    const aggregate = await tableCells(page, 'aggregate-table');
    for (const rowId of ['aggregate-latency', 'aggregate-service-time']) {
      const row = aggregate.rows.find((r) => r.testId === rowId);
      assert.ok(row, `${rowId} row`);
      assert.deepEqual(row.cells.slice(2), Array(9).fill(DASH), `${rowId} without responses: ${row.cells}`);
    }
    for (const row of (await tableCells(page, 'node-table')).rows) {
      assert.deepEqual(row.cells.slice(6), Array(9).fill(DASH), `${row.testId} without responses: ${row.cells}`);
    }

    // 2. An avalanche of 1,200 requests per driver: every count on the page reads grouped.
    const PER_DRIVER = 1200;
    const big = await postJson(server, 'api/tests', {
      test_type: 'avalanche',
      url: server.targetUrl,
      requests_per_driver: PER_DRIVER,
      concurrency: 10,
      start: true,
    });
    assert.equal(big.status, 201, JSON.stringify(big.body));
    await waitForEnd(server, big.body.id, 60_000);
    await poll(async () => (await liveAttrs(page))?.testId === big.body.id, { what: 'the live view to show the avalanche' });
    await waitForText(page, 'live-status', (t) => t === 'completed', 'the avalanche to complete', 30_000);
    await waitForText(page, 'tile-sent', (t) => t === '3,600', 'the total sent, grouped');
    for (const d of DRIVERS) {
      assert.equal(await textOf(page, `node-requests-${d}`), '1,200', `${d}'s count in the driver table`);
      assert.equal(await page.getByTestId(`node-requests-${d}`).getAttribute('data-value'), String(PER_DRIVER));
    }
    const figures = await shownFigures(page);
    assert.ok(figures.includes('3,600'), `the history shows the total grouped: ${figures}`);
    // (Test ids, "t-<hex>", are names, not numbers.)
    const ungrouped = figures.filter((text) => /(^|[^\d.,])\d{4,}/.test(text.replace(/\bt-[0-9a-f]+\b/g, 'ID')));
    assert.deepEqual(ungrouped, [], 'numbers of four digits or more without thousands separators');

    // 3. A tsunami whose responses take 1.5 s: for a while after its last send, nothing is sent.
    const slow = await postJson(server, 'api/tests', {
      test_type: 'tsunami',
      url: `${server.targetUrl}?latency=1500ms`,
      rate: 20,
      duration_ms: 2_000,
      concurrency: 60,
      start: true,
    });
    assert.equal(slow.status, 201, JSON.stringify(slow.body));
    const slowId = slow.body.id;
    const done = await waitForEnd(server, slowId, 60_000);
    assert.equal(done.status, 'completed', done.message ?? '');
    const series = [...done.series].sort((a, b) => a.second - b.second);
    const last = series.at(-1);
    assert.ok(last && last.requests === 0, `the series ends in seconds without sends: ${JSON.stringify(series)}`);

    // 4. A fresh load shows the newest test (the tsunami), not the older one never started.
    await page.goto(server.dashboardUrl);
    await waitForText(page, 'connection', (t) => t === 'live', 'the event stream to be live');
    await poll(async () => (await liveAttrs(page))?.testId === slowId, { what: 'a fresh load to show the newest test' });
    await waitForText(page, 'live-status', (t) => t === 'completed', 'the completed status');

    // Its throughput line ends at its last send: at the last second the legend has no value.
    const legend = await poll(
      async () => {
        const l = await legendAtRightEdge(page, 'throughput-chart');
        return l.second === `${last.second}s` ? l : null;
      },
      { what: `the throughput legend at second ${last.second}` },
    );
    assert.equal(legend.total, DASH, `throughput after the last send: ${JSON.stringify(legend)}`);
    for (const d of DRIVERS) assert.equal(legend[d], DASH, `${d} after the last send: ${JSON.stringify(legend)}`);
    await page.mouse.move(0, 0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'display-completed.png', { fullPage: true });
  },
);

// A flow test's requests have names: the live latency chart offers each (and all requests),
// follows the one chosen as the test runs, and draws that name's seconds of the test's series.
dashboardTest(env, 'the live latency chart draws one request name when chosen', async ({ page, server }) => {
  await openDashboard(page, server);
  const base = new URL(server.targetUrl).origin;
  const created = await postJson(server, 'api/tests', {
    test_type: 'tsunami',
    base_url: base,
    rate: 20,
    duration_ms: 5_000,
    flows: [{ name: 'pair', steps: [{ name: 'first', request: { url: '/ping' } }, { name: 'second', request: { url: '/ping?second=1' } }] }],
    start: true,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  await poll(async () => (await liveAttrs(page))?.testId === id, { what: 'the live view to show the flow test' });
  const picker = page.getByTestId('latency-name');
  await poll(async () => (await picker.locator('option').allTextContents()).join() === 'all requests,first,second', {
    what: 'the request names to be offered while the test runs',
  });
  await picker.selectOption('second');
  await waitForText(page, 'live-status', (t) => t === 'completed', 'the flow test to complete', 30_000);
  const test = await waitForEnd(server, id, 30_000);
  const seconds = [...test.series].sort((a, b) => a.second - b.second).filter((p) => p.by_name?.second);
  const expected = seconds.map((p) => (p.by_name.second.responses > 0 ? p.by_name.second.p99 : null));
  await poll(
    async () => {
      const columns = JSON.parse((await page.getByTestId('latency-chart').getAttribute('data-columns')) ?? 'null');
      return columns && JSON.stringify(columns.p99) === JSON.stringify(expected) && columns.x.length === seconds.length;
    },
    { what: "the latency chart to draw the `second` request's p99 of each second" },
  );
  assert.equal(await picker.inputValue(), 'second', 'the choice stays while the view updates');
});
