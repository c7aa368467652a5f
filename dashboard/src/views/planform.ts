// "Start from a plan": paste or upload a plan document (YAML or JSON, as `onslaught run
// plan.yaml` takes) and create and start a test from it; errors show their path.

import type { Api } from '../api';
import { h } from '../dom';
import { planContentType, planErrorMessage, planIsBlank } from '../plan';
import type { TestView } from '../types';

export interface PlanFormDeps {
  api: Api;
  onCreated(test: TestView): void;
}

const PLACEHOLDER = `name: shop
base_url: http://127.0.0.1:8000
test_type: tsunami
rate: 20
duration_ms: 10000
flows:
  - name: browse
    steps:
      - request: {url: /ping}`;

export function mountPlanForm(root: HTMLElement, deps: PlanFormDeps): void {
  let fileName: string | null = null;
  const text = h('textarea', {
    id: 'plan-text',
    rows: '12',
    spellcheck: 'false',
    placeholder: PLACEHOLDER,
    'data-testid': 'plan-text',
    'aria-describedby': 'plan-hint plan-error',
  });
  const file = h('input', { type: 'file', accept: '.yaml,.yml,.json', 'data-testid': 'plan-file', 'aria-label': 'Plan file' });
  const hint = h(
    'p',
    { class: 'hint', id: 'plan-hint' },
    'The document POST /api/tests takes, in YAML or JSON: flows, datasets as rows (a csv file is read by onslaught run), load settings.',
  );
  const error = h('p', { class: 'form-error', id: 'plan-error', role: 'alert', 'data-testid': 'plan-error', hidden: true });
  const start = h('button', { type: 'submit', 'data-testid': 'plan-start' }, 'Start plan');
  const form = h(
    'form',
    { class: 'plan-form', 'data-testid': 'plan-form', novalidate: '' },
    h('details', {}, h('summary', {}, 'Start from a plan file'), h('label', { for: 'plan-text' }, 'Plan (YAML or JSON)'), text, file, hint, error, start),
  );
  root.append(form);

  const showError = (message: string | null) => {
    error.textContent = message ?? '';
    error.hidden = message === null;
  };

  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    fileName = chosen.name;
    text.value = await chosen.text();
    showError(null);
  });
  text.addEventListener('input', () => {
    fileName = null;
  });

  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    if (planIsBlank(text.value)) {
      showError('Paste a plan or choose a file first.');
      return;
    }
    busy = true;
    start.disabled = true;
    try {
      const test = await deps.api.createTestFromPlan(text.value, planContentType(text.value, fileName));
      showError(null);
      deps.onCreated(test);
    } catch (e) {
      showError(planErrorMessage(e));
    } finally {
      busy = false;
      start.disabled = false;
    }
  });
}
