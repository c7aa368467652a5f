// Reloading the page in the middle of a running test loses nothing: the live view comes back
// on the same running test, and its per-driver counts carry on from where they were (every value
// the page ever shows after the reload is recorded by a MutationObserver, so even a brief reset
// to 0 between two polls would be caught).

import assert from 'node:assert/strict';
import {
  dashboardTest,
  driverCounts,
  DRIVERS,
  liveAttrs,
  poll,
  postJson,
  textOf,
  useDashboard,
  waitForText,
} from './harness.mjs';

const env = useDashboard({
  init: async ({ context }) => {
    // Records every value each node-requests-<driver> cell takes, from the first paint on.
    await context.addInitScript(() => {
      const seen = {};
      window.__driverValues = seen;
      const PREFIX = 'node-requests-';
      const record = (el, value) => {
        const testId = el.getAttribute('data-testid') ?? '';
        if (!testId.startsWith(PREFIX) || value === null) return;
        (seen[testId.slice(PREFIX.length)] ??= []).push(Number(value));
      };
      new MutationObserver((records) => {
        for (const r of records) {
          if (r.type === 'attributes') {
            record(r.target, r.oldValue);
            record(r.target, r.target.getAttribute('data-value'));
          } else {
            for (const n of r.addedNodes) {
              if (n.nodeType !== Node.ELEMENT_NODE) continue;
              for (const el of [n, ...n.querySelectorAll(`[data-testid^="${PREFIX}"]`)]) {
                record(el, el.getAttribute('data-value'));
              }
            }
          }
        }
      }).observe(document, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['data-value'],
        attributeOldValue: true,
      });
    });
  },
});

dashboardTest(
  env,
  'a reload mid-test shows the same running test, and its counts go on rising from where they were',
  async ({ page, server }) => {
    const created = await postJson(server, 'api/tests', {
      test_type: 'tsunami',
      url: server.targetUrl,
      rate: 100,
      duration_ms: 9_000,
      start: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;

    // The page follows the new test; let every driver's count get going.
    await poll(async () => (await liveAttrs(page))?.testId === id, { what: 'the live view to show the new test' });
    await waitForText(page, 'live-status', (t) => t === 'running', 'the test to run', 15_000);
    const before = await poll(
      async () => {
        const c = await driverCounts(page);
        return DRIVERS.every((d) => c[d] >= 100) ? c : null;
      },
      { timeout: 15_000, what: 'every driver to have sent 100 requests' },
    );

    await page.reload();

    // The same test, still running.
    await poll(async () => (await liveAttrs(page))?.testId === id, { what: 'the reloaded live view to show the test' });
    assert.equal(await textOf(page, 'live-status'), 'running', 'still running after the reload');

    // The counts keep rising: at least twice more for every driver.
    const increases = Object.fromEntries(DRIVERS.map((d) => [d, 0]));
    const last = { ...before };
    await poll(
      async () => {
        const counts = await driverCounts(page);
        for (const d of DRIVERS) {
          if (counts[d] === null) continue;
          assert.ok(counts[d] >= last[d], `${d}: ${counts[d]} after ${last[d]}`);
          if (counts[d] > last[d]) increases[d] += 1;
          last[d] = counts[d];
        }
        return DRIVERS.every((d) => increases[d] >= 2);
      },
      { timeout: 15_000, interval: 150, what: 'every driver count to rise twice after the reload' },
    );

    // Every value shown since the reload, including any between polls, is at least the one before it.
    const seen = await page.evaluate(() => window.__driverValues);
    for (const d of DRIVERS) {
      const values = seen[d] ?? [];
      assert.ok(values.length > 0, `${d}: values recorded after the reload`);
      const lowest = Math.min(...values);
      assert.ok(lowest >= before[d], `${d} showed ${lowest} after the reload, below the ${before[d]} shown before it`);
      for (let i = 1; i < values.length; i++) {
        assert.ok(values[i] >= values[i - 1], `${d} stepped back from ${values[i - 1]} to ${values[i]}`);
      }
    }

    // And it ends normally.
    await waitForText(page, 'live-status', (t) => t === 'completed', 'the test to complete', 30_000);
  },
);
