// The API token: kept in sessionStorage (gone when the tab closes) and asked for with a
// small dialog when the orchestrator answers 401.

import type { TokenSource } from './api';
import { h } from './dom';

const KEY = 'onslaught.token';

/** Storage that may be unavailable (private mode, sandboxed frames): failures mean "no token". */
function safeStorage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export function createTokenSource(): TokenSource {
  const storage = safeStorage();
  let memory: string | null = null;
  let pending: Promise<string | null> | null = null;

  const get = (): string | null => {
    try {
      return storage?.getItem(KEY) ?? memory;
    } catch {
      return memory;
    }
  };
  const set = (token: string | null) => {
    memory = token;
    try {
      if (token === null) storage?.removeItem(KEY);
      else storage?.setItem(KEY, token);
    } catch {
      // memory keeps it for this page
    }
  };

  return {
    get,
    clear: () => set(null),
    // Several requests may fail at once; they share one dialog.
    ask(reason) {
      pending ??= askWithDialog(reason).then((token) => {
        pending = null;
        if (token) set(token);
        return token;
      });
      return pending;
    },
  };
}

function askWithDialog(reason: string): Promise<string | null> {
  return new Promise((resolve) => {
    const input = h('input', {
      type: 'password',
      id: 'token-input',
      name: 'token',
      autocomplete: 'current-password',
      required: true,
      'data-testid': 'token-input',
    });
    const cancel = h('button', { type: 'button', class: 'secondary', 'data-testid': 'token-cancel' }, 'Cancel');
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'token-title' }, 'API token needed'),
      h('p', { class: 'hint' }, reason ? `The orchestrator said: ${reason}` : 'This action needs an API token.'),
      h('label', { for: 'token-input' }, 'Bearer token'),
      input,
      h(
        'div',
        { class: 'actions' },
        cancel,
        h('button', { type: 'submit', 'data-testid': 'token-submit' }, 'Use token'),
      ),
    );
    const dialog = h('dialog', { 'aria-labelledby': 'token-title', 'data-testid': 'token-dialog' }, form);
    let answer: string | null = null;
    form.addEventListener('submit', () => {
      answer = input.value.trim() || null;
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}
