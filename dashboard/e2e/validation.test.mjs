// Invalid input: each message lands next to the field it concerns (`error-<field>`), and no test
// is created. The form checks what it can itself (a non-http URL, 0 connections) without asking
// the API; what only the orchestrator knows (its upper limits, how many drivers are idle) comes
// back from the API as a 400 naming the field, or a 409, and is shown the same way.

import assert from 'node:assert/strict';
import {
  dashboardTest,
  getJson,
  poll,
  postJson,
  textOf,
  useDashboard,
} from './harness.mjs';

const env = useDashboard();

/** Visible error text next to `field`, or null while hidden. */
function fieldError(page, field) {
  return page.evaluate((name) => {
    const el = document.querySelector(`[data-testid="error-${name}"]`);
    return el && !el.hidden ? el.textContent.trim() : null;
  }, field);
}

/** How many tests the orchestrator has, asked from the page as the dashboard does. */
function testsTotal(page) {
  return page.evaluate(async () => (await (await fetch('api/tests?limit=1&offset=0')).json()).total);
}

/** The API's own message for a field, as the form shows it (without the "field: " prefix). */
function shownApiMessage(body) {
  const prefix = `${body.field}: `;
  const rest = body.error.startsWith(prefix) ? body.error.slice(prefix.length) : body.error;
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

dashboardTest(
  env,
  'invalid values show their message beside the field and create nothing',
  async ({ page, server }) => {
    const posts = [];
    page.on('request', (req) => {
      if (req.method() === 'POST') posts.push(req.url());
    });
    const submit = async (button) => {
      await page.getByTestId(button).click();
      // The form is idle again once any answer has been handled.
      await poll(async () => (await page.getByTestId('test-form').getAttribute('aria-busy')) === null, {
        what: 'the form to settle',
      });
    };

    // 1. A non-http URL and 0 connections: caught by the form, nothing sent.
    await page.getByTestId('field-url').fill('ftp://example.com/file');
    await page.getByTestId('field-concurrency').fill('0');
    await page.getByTestId('field-requests_per_driver').fill('100');
    await submit('create');
    const urlError = await poll(() => fieldError(page, 'url'), { what: 'the url message' });
    assert.match(urlError, /http:\/\/ or https:\/\//);
    assert.match(await fieldError(page, 'concurrency'), /at least 1/);
    assert.equal(await page.getByTestId('field-url').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByTestId('field-concurrency').getAttribute('aria-invalid'), 'true');
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('data-testid')),
      'field-url',
      'focus goes to the first field in error',
    );
    assert.deepEqual(posts, [], 'nothing was sent for values the form can check itself');

    // The API says the same about them: a 400 naming the field (asked directly).
    const direct = await postJson(server, 'api/tests', {
      test_type: 'avalanche',
      url: 'ftp://example.com/file',
      requests_per_driver: 100,
    });
    assert.equal(direct.status, 400);
    assert.equal(direct.body.field, 'url');

    // 2. Typing into a field clears its message.
    await page.getByTestId('field-url').fill(server.targetUrl);
    assert.equal(await fieldError(page, 'url'), null, 'the url message goes once the url is edited');

    // 3. Over the orchestrator's limit (100000 connections): the API's 400 lands beside the field.
    await page.getByTestId('field-concurrency').fill('200000');
    await submit('create');
    const apiConcurrency = await postJson(server, 'api/tests', {
      test_type: 'avalanche',
      url: server.targetUrl,
      requests_per_driver: 100,
      concurrency: 200000,
    });
    assert.equal(apiConcurrency.status, 400);
    assert.equal(apiConcurrency.body.field, 'concurrency');
    assert.equal(
      await poll(() => fieldError(page, 'concurrency'), { what: "the API's concurrency message" }),
      shownApiMessage(apiConcurrency.body),
    );
    assert.equal(await fieldError(page, 'url'), null);
    assert.equal(await textOf(page, 'error-form'), '', 'no general message for a field error');

    // 4. A timeout over one hour: the API's message beside the timeout.
    await page.getByTestId('field-concurrency').fill('10');
    await page.getByTestId('field-timeout_ms').fill('2h');
    await submit('create');
    const apiTimeout = await postJson(server, 'api/tests', {
      test_type: 'avalanche',
      url: server.targetUrl,
      requests_per_driver: 100,
      concurrency: 10,
      timeout_ms: 7_200_000,
    });
    assert.equal(apiTimeout.body.field, 'timeout_ms');
    assert.equal(
      await poll(() => fieldError(page, 'timeout_ms'), { what: "the API's timeout message" }),
      shownApiMessage(apiTimeout.body),
    );
    assert.equal(await fieldError(page, 'concurrency'), null, 'the fixed field has no message left');

    // 5. More drivers than are idle, with Create & start: a 409, shown above the buttons.
    await page.getByTestId('field-timeout_ms').fill('30s');
    await page.getByTestId('field-drivers').fill('5');
    await submit('create-start');
    const general = await poll(
      async () => {
        const hidden = await page.getByTestId('error-form').isHidden();
        return hidden ? null : textOf(page, 'error-form');
      },
      { what: 'the general message' },
    );
    assert.match(general, /^Cannot start: .*5 drivers.*3/);

    assert.equal(posts.length, 3, 'the form asked the API three times');
    assert.equal(await testsTotal(page), 0, 'no test was created');
    assert.equal((await getJson(server, 'api/tests')).total, 0);
    assert.equal(await page.getByTestId('history-empty').isVisible(), true, 'the history is still empty');
  },
);
