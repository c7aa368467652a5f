// On a phone (390 × 844): no horizontal scrolling, every form control can be reached and used,
// and every button, input and link has an accessible name (read from Chromium's own
// accessibility tree, as a screen reader would get it).

import assert from 'node:assert/strict';
import {
  dashboardTest,
  liveAttrs,
  poll,
  postJson,
  screenshot,
  useDashboard,
  waitForText,
} from './harness.mjs';

const PHONE = { width: 390, height: 844 };
const CONTROL_ROLES = new Set([
  'button',
  'checkbox',
  'combobox',
  'link',
  'listbox',
  'menuitem',
  'radio',
  'searchbox',
  'slider',
  'spinbutton',
  'switch',
  'tab',
  'textbox',
]);

const env = useDashboard({ browser: { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } });

/** Page width against the viewport, and the widest element sticking out (for the message). */
function overflow(page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const scrollWidth = document.scrollingElement.scrollWidth;
    let culprit = null;
    if (scrollWidth > width) {
      for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.right > width + 0.5 && (!culprit || r.right > culprit.right)) {
          culprit = { right: r.right, what: `${el.tagName.toLowerCase()}.${el.className}` };
        }
      }
    }
    return { width, scrollWidth, culprit };
  });
}

async function assertNoHorizontalScroll(page, when) {
  const o = await overflow(page);
  assert.ok(o.scrollWidth <= o.width, `${when}: page is ${o.scrollWidth}px wide in a ${o.width}px viewport (${JSON.stringify(o.culprit)})`);
}

/** Every control Chromium exposes, with its computed accessible name. */
async function accessibleControls(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    return nodes
      .filter((n) => !n.ignored && CONTROL_ROLES.has(n.role?.value))
      .map((n) => ({ role: n.role.value, name: (n.name?.value ?? '').trim(), backendId: n.backendDOMNodeId }));
  } finally {
    await cdp.detach();
  }
}

dashboardTest(
  env,
  'phone: no horizontal scroll, form controls reachable, every control named',
  async ({ page, server }) => {
    await assertNoHorizontalScroll(page, 'empty page');

    // Every control of the form can be scrolled to, lies within the screen's width and takes a tap.
    await page.getByTestId('field-test_type').selectOption('tsunami'); // enables the pacing fields
    await page.getByTestId('add-header').tap(); // a header row: name, value, remove
    await poll(() => page.getByTestId('header-name-0').isVisible(), { what: 'a header row' });
    const controls = page.getByTestId('test-form').locator('input, select, textarea, button');
    const count = await controls.count();
    assert.ok(count >= 17, `the form has ${count} controls`);
    for (let i = 0; i < count; i++) {
      const control = controls.nth(i);
      await control.scrollIntoViewIfNeeded();
      const box = await control.boundingBox();
      const label = await control.evaluate((el) => el.getAttribute('data-testid') ?? el.outerHTML.slice(0, 80));
      assert.ok(box, `${label} has a box`);
      assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width + 0.5, `${label} fits the width: ${JSON.stringify(box)}`);
      assert.ok(box.height >= 16, `${label} is tall enough to tap: ${box.height}px`);
      await control.click({ trial: true }); // visible, enabled, not covered by anything
    }

    // Fill it in with taps and typing, and run a short test, so the live view has tables and charts.
    await page.getByTestId('field-url').tap();
    await page.getByTestId('field-url').fill(server.targetUrl);
    await page.getByTestId('field-rate').fill('50');
    await page.getByTestId('field-requests_per_driver').fill('');
    await page.getByTestId('field-duration_ms').fill('3s');
    await page.getByTestId('create-start').tap();
    await waitForText(page, 'live-status', (s) => s === 'running', 'the test to run', 15_000);
    await poll(async () => Number((await liveAttrs(page))?.freshnessSamples ?? 0) >= 2, { what: 'a few live updates' });
    await assertNoHorizontalScroll(page, 'running test');
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'phone.png');
    await waitForText(page, 'live-status', (s) => s === 'completed', 'the test to complete', 30_000);
    await poll(() => page.getByTestId('live-report-link').isVisible(), { what: 'the report link' });
    await assertNoHorizontalScroll(page, 'completed test');

    // Accessible names: every control in the accessibility tree, and every visible DOM control
    // (the plan panel opened, so its controls are among them).
    await page.getByText('Start from a plan file').tap();
    await poll(() => page.getByTestId('plan-start').isVisible(), { what: 'the plan panel to open' });
    const named = await accessibleControls(page);
    const unnamed = named.filter((n) => n.name === '');
    assert.deepEqual(unnamed, [], 'controls without an accessible name');
    const domControls = await page.evaluate(
      () =>
        [...document.querySelectorAll('button, input, select, textarea, a[href]')].filter((el) => el.checkVisibility()).length,
    );
    assert.ok(named.length >= domControls, `${named.length} named controls for ${domControls} visible ones`);
    // The same through role queries: the main actions are found by their names.
    for (const [role, name] of [
      ['button', 'Create & start'],
      ['button', 'Create'],
      ['combobox', 'Test type'],
      ['textbox', 'URL'],
      ['textbox', 'Duration'],
      ['link', 'Download report (JSON)'],
    ]) {
      assert.equal(await page.getByRole(role, { name, exact: true }).count(), 1, `${role} "${name}"`);
    }
  },
);
