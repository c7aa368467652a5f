// Changing the load while a test runs, from the dashboard: the running tsunami's form sets a new
// rate per driver; the change is listed on the live view with its instant, and the test's
// per-second series shows every driver at the new rate from the second after that instant. The
// same form on a running avalanche sets its users.

import assert from 'node:assert/strict';
import { DRIVERS, dashboardTest, getJson, liveAttrs, poll, postJson, useDashboard, waitForText } from './harness.mjs';

const env = useDashboard();

dashboardTest(env, 'a rate set on the live view is in force on every driver from its instant', async ({ page, server }) => {
  const created = await postJson(server, 'api/tests', {
    test_type: 'tsunami',
    url: server.targetUrl,
    rate: 40,
    duration_ms: 6_000,
    start: true,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  await poll(async () => (await liveAttrs(page))?.testId === id, { what: 'the live view to show the test' });
  await waitForText(page, 'live-status', (s) => s === 'running', 'the test to run');

  const input = page.getByTestId('rate-input');
  await input.waitFor({ state: 'visible' });
  await input.fill('80');
  await page.getByTestId('rate-split').selectOption('driver');
  await page.getByTestId('rate-button').click();
  await waitForText(
    page,
    'load-changes',
    (t) => t.includes('80/s per driver') && t.includes('240/s in total') && t.includes('dashboard'),
    'the rate change to be listed',
  );

  await waitForText(page, 'live-status', (s) => s === 'completed', 'the test to complete', 30_000);
  await page.getByTestId('rate-form').waitFor({ state: 'hidden' });
  const test = await getJson(server, `api/tests/${id}`);
  assert.equal(test.load_changes.length, 1, JSON.stringify(test.load_changes));
  const change = test.load_changes[0];
  assert.equal(change.rate, 80);
  assert.equal(change.requested_by, 'dashboard');
  const firstFull = Math.ceil(change.offset_ms / 1000);
  assert.ok(firstFull <= 5, `the change came at ${change.offset_ms} ms, too late to be seen`);
  for (const point of test.series.filter((p) => p.second >= firstFull && p.second < 6)) {
    for (const driver of DRIVERS) {
      const sent = point.nodes[driver] ?? 0;
      assert.ok(Math.abs(sent - 80) <= 2, `${driver} sent ${sent} in second ${point.second}, not 80`);
    }
  }
});

dashboardTest(env, 'users set on the live view of an avalanche run on every driver from their instant', async ({ page, server }) => {
  // 50 ms a response: each user sends about 20 a second.
  const created = await postJson(server, 'api/tests', {
    test_type: 'avalanche',
    url: `${server.targetUrl}?latency=50ms`,
    concurrency: 1,
    duration_ms: 5_000,
    start: true,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id;
  await poll(async () => (await liveAttrs(page))?.testId === id, { what: 'the live view to show the test' });
  await waitForText(page, 'live-status', (s) => s === 'running', 'the test to run');

  // The form speaks of users for an avalanche.
  await waitForText(page, 'rate-button', (t) => t === 'Set users', 'the form to offer users');
  await page.getByTestId('rate-input').fill('3');
  await page.getByTestId('rate-split').selectOption('driver');
  await page.getByTestId('rate-button').click();
  await waitForText(
    page,
    'load-changes',
    (t) => t.includes('Users changed') && t.includes('3 per driver, 9 in total') && t.includes('dashboard'),
    'the users change to be listed',
  );

  await waitForText(page, 'live-status', (s) => s === 'completed', 'the test to complete', 30_000);
  const test = await getJson(server, `api/tests/${id}`);
  const change = test.load_changes[0];
  assert.deepEqual([change.users, change.users_total, change.requested_by], [3, 9, 'dashboard']);
  // The first second starting 300 ms or more after the instant (a driver's run, and its
  // seconds, may start a little after the test's start).
  const firstFull = Math.ceil((change.offset_ms + 300) / 1000);
  assert.ok(firstFull <= 4, `the change came at ${change.offset_ms} ms, too late to be seen`);
  for (const point of test.series.filter((p) => p.second >= firstFull && p.second < 5)) {
    assert.ok(Math.abs(point.users - 9) <= 0.3, `second ${point.second}: ${point.users} users, not 9`);
    for (const driver of DRIVERS) {
      const sent = point.nodes[driver] ?? 0;
      assert.ok(sent >= 3 * 14 && sent <= 3 * 20 + 1, `${driver} sent ${sent} in second ${point.second} with 3 users`);
    }
  }
});
