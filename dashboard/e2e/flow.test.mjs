// The whole path through the page against a real orchestrator with 3 real drivers: fill in the
// form, create and start a tsunami test, watch it run live, see it complete with statistics that
// add up, and download its report from the history.

import assert from 'node:assert/strict';
import {
  dashboardTest,
  driverCounts,
  DRIVERS,
  parseShown,
  poll,
  screenshot,
  tableCells,
  textOf,
  useDashboard,
  waitForText,
} from './harness.mjs';

const RATE = 100; // per driver, requests/s
const DURATION_S = 8;
const EXPECTED = DRIVERS.length * RATE * DURATION_S;

const env = useDashboard();

dashboardTest(
  env,
  'create & start a tsunami test from the form, watch it live, read the results',
  async ({ page, server }) => {
    // Fill in the form: tsunami, the built-in target, 100/s per driver for 8 s on 3 drivers.
    await page.getByTestId('field-test_type').selectOption('tsunami');
    await page.getByTestId('field-url').fill(server.targetUrl);
    await page.getByTestId('field-rate').fill(String(RATE));
    await page.getByTestId('field-requests_per_driver').fill('');
    await page.getByTestId('field-duration_ms').fill(`${DURATION_S}s`);
    await page.getByTestId('field-drivers').fill('3');
    assert.match(await textOf(page, 'test-form'), /× 3 drivers = 300 requests\/s in total/);
    await page.getByTestId('create-start').click();

    await waitForText(page, 'live-status', (t) => t === 'running', 'the test to run', 15_000);
    const id = await page.getByTestId('live-view').getAttribute('data-test-id');
    assert.ok(id, 'the live view names its test');
    assert.equal(new URL(page.url()).hash, `#/tests/${encodeURIComponent(id)}`, 'the URL selects the new test');

    // While it runs: every driver's count must go up at least 3 times, never down (polling the
    // DOM), and half-way through the live view is photographed for the README.
    const increases = Object.fromEntries(DRIVERS.map((d) => [d, 0]));
    const last = Object.fromEntries(DRIVERS.map((d) => [d, 0]));
    let shot = false;
    await poll(
      async () => {
        const [counts, status] = await Promise.all([driverCounts(page), textOf(page, 'live-status')]);
        for (const d of DRIVERS) {
          const now = counts[d];
          if (now === null) continue;
          assert.ok(now >= last[d], `${d}'s count went back from ${last[d]} to ${now}`);
          if (now > last[d]) increases[d] += 1;
          last[d] = now;
        }
        const total = DRIVERS.reduce((sum, d) => sum + (counts[d] ?? 0), 0);
        if (!shot && total >= EXPECTED * 0.55 && status === 'running') {
          shot = true;
          await page.evaluate(() => window.scrollTo(0, 0));
          await screenshot(page, 'live.png');
        }
        return status !== 'running';
      },
      { timeout: (DURATION_S + 30) * 1000, interval: 150, what: 'the test to stop running' },
    );
    for (const d of DRIVERS) assert.ok(increases[d] >= 3, `${d}'s count rose ${increases[d]} times while running`);
    assert.ok(shot, 'a screenshot was taken while the test ran');

    await waitForText(page, 'live-status', (t) => t !== 'running' && t !== 'configuring', 'the test to end', 30_000);
    assert.equal(await textOf(page, 'live-status'), 'completed');

    // The report link appears once the report is written.
    await poll(() => page.getByTestId('live-report-link').isVisible(), { timeout: 15_000, what: 'the live report link' });

    // Per-driver counts add up to the aggregate, which is 3 × 100/s × 8 s within 2 %.
    const counts = await driverCounts(page);
    const sum = DRIVERS.reduce((s, d) => s + counts[d], 0);
    const sentTile = parseShown(await textOf(page, 'tile-sent'));
    assert.equal(sentTile, sum, 'requests sent (all) = sum over drivers');
    assert.ok(Math.abs(sum - EXPECTED) <= EXPECTED * 0.02, `sent ${sum}, expected ${EXPECTED} ± 2 %`);
    for (const d of DRIVERS) {
      const per = RATE * DURATION_S;
      assert.ok(Math.abs(counts[d] - per) <= per * 0.02, `${d} sent ${counts[d]}, expected ${per} ± 2 %`);
    }

    // Aggregate table: latency and service time rows with numbers in every statistic.
    const agg = await tableCells(page, 'aggregate-table');
    assert.deepEqual(agg.head, ['', 'count', 'min', 'max', 'mean', 'median', 'mode', 'p90', 'p95', 'p99', 'p99.9']);
    const latency = agg.rows.find((r) => r.testId === 'aggregate-latency');
    assert.ok(latency, 'aggregate latency row');
    const [, countText, ...stats] = latency.cells;
    const responses = parseShown(countText);
    assert.ok(responses > 0 && responses <= sum, `latency count ${countText}`);
    const stat = Object.fromEntries(agg.head.slice(2).map((h, i) => [h, parseShown(stats[i])]));
    for (const [name, value] of Object.entries(stat)) {
      assert.ok(Number.isFinite(value) && value > 0, `aggregate ${name} is a number: ${JSON.stringify(stats)}`);
    }
    assert.ok(stat.min <= stat.median && stat.median <= stat.p99 && stat.p99 <= stat.max, 'percentiles in order');
    const service = agg.rows.find((r) => r.testId === 'aggregate-service-time');
    assert.ok(service && service.cells.slice(2).every((c) => Number.isFinite(parseShown(c))), 'service time numbers');

    // Per-driver table: one row per driver, its sent count equal to the live count, numbers in p50/p99.
    const nodes = await tableCells(page, 'node-table');
    assert.deepEqual(nodes.head.slice(0, 8), [
      'Driver', 'standing', 'start', 'sent', 'responses', 'errors', 'connect errors', 'rate',
    ]);
    const col = (name) => nodes.head.indexOf(name);
    let responsesSum = 0;
    for (const d of DRIVERS) {
      const row = nodes.rows.find((r) => r.testId === `node-row-${d}`);
      assert.ok(row, `node row for ${d}`);
      assert.equal(parseShown(row.cells[col('sent')]), counts[d], `${d} sent in the table`);
      responsesSum += parseShown(row.cells[col('responses')]);
      for (const name of ['median', 'p90', 'p99', 'max']) {
        assert.ok(parseShown(row.cells[col(name)]) > 0, `${d} ${name}: ${row.cells[col(name)]}`);
      }
    }
    assert.equal(parseShown(await textOf(page, 'tile-responses')), responsesSum, 'responses add up');

    // History: the test's row, completed, with a report link that downloads valid JSON.
    const row = page.getByTestId(`history-row-${id}`);
    await poll(async () => (await row.getAttribute('data-status')) === 'completed', { what: 'the history row to complete' });
    const href = await page.getByTestId(`report-link-${id}`).getAttribute('href');
    assert.ok(href, 'the report link has an href');
    const report = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
    }, href);
    assert.equal(report.status, 200);
    const json = JSON.parse(report.text);
    assert.equal(json.id, id, 'the report is of this test');
    assert.equal(json.status, 'completed');
    assert.equal(json.aggregate.requests_sent, sum, 'the report counts what the page showed');
    assert.equal(typeof json.histograms?.latency, 'string', 'the exact histograms are in the report');
    assert.deepEqual(Object.keys(json.node_reports ?? {}).sort(), DRIVERS, 'one node report per driver');
    assert.equal(await page.getByTestId('live-report-link').getAttribute('href'), href);
  },
);
