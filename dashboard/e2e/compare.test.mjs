// Comparing two tests from the history: tick two ended tests and the panel shows the
// orchestrator's verdict for every metric (the base is the older test), with a link to the
// comparison page; a test against a target that adds 200 ms regresses on p99.

import assert from 'node:assert/strict';
import { dashboardTest, getJson, poll, postJson, textOf, useDashboard } from './harness.mjs';

const env = useDashboard();

/** Creates and starts a short avalanche test against `url`; waits until its report exists. */
async function ended(server, url) {
  const { status, body } = await postJson(server, 'api/tests', {
    test_type: 'avalanche',
    url,
    requests_per_driver: 20,
    concurrency: 4,
    start: true,
  });
  assert.equal(status, 201, JSON.stringify(body));
  await poll(async () => (await getJson(server, `api/tests/${body.id}`)).report_path, {
    timeout: 60_000,
    what: `test ${body.id} to end with a report`,
  });
  return body.id;
}

dashboardTest(env, 'two ticked tests are compared metric by metric', async ({ page, server }) => {
  const base = await ended(server, `${server.targetUrl}/ping`);
  const slow = await ended(server, `${server.targetUrl}/ping?latency=200ms`);
  const expected = await getJson(server, `api/tests/${slow}/compare?base=${base}`);

  await page.getByTestId(`compare-pick-${slow}`).check();
  assert.equal(await page.getByTestId('compare-hint').isVisible(), true);
  await page.getByTestId(`compare-pick-${base}`).check();
  const verdict = await poll(
    async () => {
      const text = await textOf(page, 'compare-verdict');
      return text && (await page.getByTestId('compare-verdict').isVisible()) ? text : null;
    },
    { what: 'the comparison verdict' },
  );
  assert.match(verdict, /^Regression: .*p99/);
  assert.equal(await textOf(page, 'compare-title'), `Base ${base} → new ${slow}`);
  for (const row of expected.rows) {
    const shown = page.getByTestId(`compare-row-${row.metric}`);
    assert.equal(await shown.getAttribute('data-verdict'), row.verdict, row.metric);
  }
  assert.equal(await page.getByTestId('compare-row-p99').getAttribute('data-verdict'), 'regression');

  // The comparison page the link opens is the orchestrator's, for the same two runs.
  const href = await page.getByTestId('compare-page').getAttribute('href');
  const response = await fetch(new URL(href, server.dashboardUrl));
  assert.equal(response.status, 200);
  const html = await response.text();
  assert.ok(html.includes(base) && html.includes(slow), 'the page holds both runs');

  // Unticking one leaves the hint again.
  await page.getByTestId(`compare-pick-${base}`).uncheck();
  await poll(() => page.getByTestId('compare-hint').isVisible(), { what: 'the hint again' });
});
