// The "new test" form: every TestRequest field, per-driver totals beside the counts, the
// API's validation messages beside the field they name, "Create" and "Create & start".

import type { Api } from '../api';
import { h, setAttr, setText } from '../dom';
import {
  buildRequest,
  DEFAULT_VALUES,
  describeTotals,
  FORM_FIELDS,
  METHODS,
  TSUNAMI_ONLY,
  type FieldErrors,
  type FormField,
  type FormValues,
} from '../request';
import { aliveDrivers, type Store } from '../store';
import type { TestType, TestView } from '../types';
import { formErrorsFrom } from '../validation';

export interface FormDeps {
  api: Api;
  store: Store;
  onCreated(test: TestView): void;
}

interface FieldParts {
  wrap: HTMLElement;
  control?: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  hint: HTMLElement;
  total: HTMLElement;
  error: HTMLElement;
}

const HINTS: Record<FormField, string> = {
  test_type: '',
  url: 'The endpoint under load.',
  method: '',
  headers: 'Sent with every request.',
  body: 'Optional; sent as is.',
  delay_ms: 'Gap between sends, kept on each driver: 10ms, 0.5s (a bare number is ms).',
  rate: 'Target requests per second per driver; an alternative to the delay.',
  requests_per_driver: 'Requests each driver sends, e.g. 10k. Empty: run for the duration.',
  duration_ms: 'How long to run, e.g. 30s, 5m, 1h30m. Empty: stop after the count.',
  concurrency: 'Connections each driver keeps open.',
  timeout_ms: 'Per request, e.g. 30s.',
  drivers: 'How many live drivers take part. Empty: all of them.',
  insecure: 'For https targets with self-signed certificates.',
};

const TYPE_HINTS: Record<TestType, string> = {
  avalanche: 'Avalanche: every request goes out as soon as a connection is free.',
  tsunami: 'Tsunami: each driver keeps a fixed gap (or rate) between sends, whatever the latency.',
};

export function mountForm(root: HTMLElement, deps: FormDeps): void {
  const parts = new Map<FormField, FieldParts>();
  const headerRows = h('div', { class: 'header-rows' });
  const general = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'error-form', hidden: true });

  const errorEl = (name: FormField) =>
    h('p', { class: 'field-error', id: `error-${name}`, 'data-testid': `error-${name}`, 'aria-live': 'polite', hidden: true });

  function field(name: FormField, label: string, control: FieldParts['control'] & HTMLElement, extra?: string): HTMLElement {
    control.id = `f-${name}`;
    control.setAttribute('name', name);
    control.setAttribute('data-testid', `field-${name}`);
    control.setAttribute('aria-describedby', `hint-${name} total-${name} error-${name}`);
    const hint = h('p', { class: 'hint', id: `hint-${name}` }, HINTS[name]);
    const total = h('p', { class: 'total', id: `total-${name}`, 'aria-live': 'polite' });
    const error = errorEl(name);
    const wrap = h(
      'div',
      { class: `field field-${name}${extra ? ' ' + extra : ''}` },
      h('label', { for: control.id }, label),
      control,
      hint,
      total,
      error,
    );
    parts.set(name, { wrap, control, hint, total, error });
    return wrap;
  }

  const text = (attrs: Record<string, string> = {}) => h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });

  const typeSelect = h(
    'select',
    {},
    h('option', { value: 'avalanche' }, 'Avalanche'),
    h('option', { value: 'tsunami' }, 'Tsunami'),
  );
  const methodSelect = h('select', {}, ...METHODS.map((m) => h('option', { value: m }, m)));

  // Headers: repeatable name/value rows.
  const addHeader = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'add-header' }, '+ Add header');
  function addHeaderRow(name = '', value = ''): void {
    const row = h('div', { class: 'header-row' });
    const n = h('input', { type: 'text', value: name, autocomplete: 'off', spellcheck: 'false', placeholder: 'Name' });
    const v = h('input', { type: 'text', value, autocomplete: 'off', spellcheck: 'false', placeholder: 'Value' });
    const remove = h('button', { type: 'button', class: 'icon secondary', title: 'Remove header' }, '×');
    remove.addEventListener('click', () => {
      row.remove();
      renumberHeaders();
      clearError('headers');
    });
    row.append(n, v, remove);
    headerRows.append(row);
    renumberHeaders();
  }
  function renumberHeaders(): void {
    [...headerRows.children].forEach((row, i) => {
      const [n, v, remove] = [...row.children];
      n?.setAttribute('aria-label', `Header ${i + 1} name`);
      n?.setAttribute('data-testid', `header-name-${i}`);
      v?.setAttribute('aria-label', `Header ${i + 1} value`);
      v?.setAttribute('data-testid', `header-value-${i}`);
      remove?.setAttribute('aria-label', `Remove header ${i + 1}`);
      remove?.setAttribute('data-testid', `header-remove-${i}`);
    });
  }
  addHeader.addEventListener('click', () => {
    addHeaderRow();
    const last = headerRows.lastElementChild?.querySelector('input');
    last?.focus();
  });
  const headersError = errorEl('headers');
  const headersHint = h('p', { class: 'hint', id: 'hint-headers' }, HINTS.headers);
  const headersSet = h(
    'fieldset',
    { class: 'field field-headers', 'data-testid': 'field-headers', 'aria-describedby': 'hint-headers error-headers' },
    h('legend', {}, 'Headers'),
    headerRows,
    addHeader,
    headersHint,
    headersError,
  );
  parts.set('headers', { wrap: headersSet, hint: headersHint, total: h('span'), error: headersError });

  const createBtn = h('button', { type: 'submit', class: 'secondary', 'data-testid': 'create', value: 'create' }, 'Create');
  const startBtn = h('button', { type: 'submit', 'data-testid': 'create-start', value: 'start' }, 'Create & start');

  const form = h(
    'form',
    { class: 'card test-form', 'data-testid': 'test-form', novalidate: true, 'aria-labelledby': 'form-title' },
    h('h2', { id: 'form-title' }, 'New test'),
    h(
      'p',
      { class: 'per-driver-note' },
      'Counts, rates and connections are ',
      h('strong', {}, 'per driver'),
      '; the total across drivers is shown beside each.',
    ),
    h(
      'div',
      { class: 'grid' },
      field('test_type', 'Test type', typeSelect, 'wide'),
      field('url', 'URL', text({ type: 'url', inputmode: 'url', placeholder: 'http://target:8080/ping' }), 'wide'),
      field('method', 'Method', methodSelect),
    ),
    headersSet,
    field('body', 'Body', h('textarea', { rows: '3', spellcheck: 'false' }), 'wide'),
    field('insecure', 'Skip TLS certificate checks', h('input', { type: 'checkbox' }), 'checkbox'),
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'Pacing (tsunami only)'),
      h(
        'div',
        { class: 'grid' },
        field('delay_ms', 'Delay between sends', text({ placeholder: '10ms', inputmode: 'text' })),
        field('rate', 'Rate (requests/s per driver)', text({ placeholder: 'e.g. 100', inputmode: 'decimal' })),
      ),
    ),
    h(
      'fieldset',
      { class: 'group' },
      h('legend', {}, 'How much'),
      h(
        'div',
        { class: 'grid' },
        field('requests_per_driver', 'Requests per driver', text({ placeholder: 'e.g. 10k', inputmode: 'numeric' })),
        field('duration_ms', 'Duration', text({ placeholder: 'e.g. 30s' })),
        field('concurrency', 'Connections per driver', text({ inputmode: 'numeric' })),
        field('timeout_ms', 'Timeout', text({ placeholder: '30s' })),
        field('drivers', 'Number of drivers', text({ placeholder: 'all', inputmode: 'numeric' })),
      ),
    ),
    general,
    h('div', { class: 'actions' }, createBtn, startBtn),
  );
  root.append(form);

  const control = (name: FormField) => parts.get(name)?.control;

  function setValues(values: FormValues): void {
    for (const name of FORM_FIELDS) {
      const c = control(name);
      const v = values[name];
      if (c instanceof HTMLInputElement && c.type === 'checkbox') c.checked = v === true;
      else if (c && typeof v === 'string') c.value = v;
    }
    headerRows.replaceChildren();
    for (const hd of values.headers) addHeaderRow(hd.name, hd.value);
  }

  function readValues(): FormValues {
    const value = (name: FormField) => control(name)?.value ?? '';
    const headers = [...headerRows.children].map((row) => {
      const [n, v] = [...row.querySelectorAll('input')];
      return { name: n?.value ?? '', value: v?.value ?? '' };
    });
    return {
      test_type: value('test_type') === 'tsunami' ? 'tsunami' : 'avalanche',
      url: value('url'),
      method: value('method'),
      headers,
      body: value('body'),
      delay_ms: value('delay_ms'),
      rate: value('rate'),
      requests_per_driver: value('requests_per_driver'),
      duration_ms: value('duration_ms'),
      concurrency: value('concurrency'),
      timeout_ms: value('timeout_ms'),
      drivers: value('drivers'),
      insecure: (control('insecure') as HTMLInputElement | undefined)?.checked ?? false,
    };
  }

  function clearError(name: FormField): void {
    const p = parts.get(name);
    if (!p) return;
    setText(p.error, '');
    p.error.hidden = true;
    p.wrap.classList.remove('invalid');
    if (p.control) setAttr(p.control, 'aria-invalid', null);
  }

  function showErrors(fields: FieldErrors, message: string | null): void {
    for (const name of FORM_FIELDS) {
      const msg = fields[name];
      const p = parts.get(name);
      if (!p) continue;
      if (!msg) {
        clearError(name);
        continue;
      }
      setText(p.error, msg);
      p.error.hidden = false;
      p.wrap.classList.add('invalid');
      if (p.control) p.control.setAttribute('aria-invalid', 'true');
    }
    setText(general, message ?? '');
    general.hidden = !message;
    const first = FORM_FIELDS.find((n) => fields[n]);
    if (first) {
      const target = control(first) ?? headerRows.querySelector('input') ?? addHeader;
      target.focus();
    }
  }

  function refresh(): void {
    const values = readValues();
    const tsunami = values.test_type === 'tsunami';
    for (const name of TSUNAMI_ONLY) {
      const c = control(name);
      if (c) c.disabled = !tsunami;
      parts.get(name)?.wrap.classList.toggle('disabled', !tsunami);
    }
    const typeHint = parts.get('test_type')?.hint;
    if (typeHint) setText(typeHint, TYPE_HINTS[values.test_type]);
    const totals = describeTotals(values, aliveDrivers(deps.store.get()));
    for (const [name, p] of parts) setText(p.total, totals[name] ?? '');
  }

  form.addEventListener('input', (e) => {
    const name = (e.target as HTMLElement | null)?.getAttribute('name') as FormField | null;
    if (name && parts.has(name)) clearError(name);
    else if (headerRows.contains(e.target as Node)) clearError('headers');
    refresh();
  });
  form.addEventListener('change', refresh);

  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    const submitter = (e as SubmitEvent).submitter;
    const start = submitter ? submitter === startBtn : true;
    const built = buildRequest(readValues(), start);
    if (!built.ok) {
      showErrors(built.errors, 'Please correct the fields marked above.');
      return;
    }
    busy = true;
    createBtn.disabled = startBtn.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const test = await deps.api.createTest(built.request);
      showErrors({}, null);
      deps.onCreated(test);
    } catch (error) {
      const { fields, general: message } = formErrorsFrom(error);
      showErrors(fields, message ?? (Object.keys(fields).length ? null : 'The test could not be created.'));
    } finally {
      busy = false;
      createBtn.disabled = startBtn.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });

  setValues(DEFAULT_VALUES);
  refresh();
  let alive = aliveDrivers(deps.store.get());
  deps.store.subscribe((state) => {
    const now = aliveDrivers(state);
    if (now !== alive) {
      alive = now;
      refresh();
    }
  });
}
