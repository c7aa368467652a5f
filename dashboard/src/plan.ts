// Plan documents pasted or uploaded in the dashboard: which content type they go with, and
// how an error answer reads (with its path in the document). Pure: no DOM.

import { ApiError } from './validation';

export type PlanContentType = 'application/json' | 'application/yaml';

/**
 * The content type of a plan document: by the file's extension when there is one (`.json`;
 * `.yaml`, `.yml`), else JSON when the text starts with `{`, else YAML.
 */
export function planContentType(text: string, fileName?: string | null): PlanContentType {
  const ext = fileName?.toLowerCase().match(/\.([a-z]+)$/)?.[1];
  if (ext === 'json') return 'application/json';
  if (ext === 'yaml' || ext === 'yml') return 'application/yaml';
  return text.trimStart().startsWith('{') ? 'application/json' : 'application/yaml';
}

/** An error about a plan as one line, led by the path in the document it concerns. */
export function planErrorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.field && !error.message.startsWith(`${error.field}:`)) {
      return `${error.field}: ${error.message}`;
    }
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Whether a plan's text is worth sending: not blank. */
export function planIsBlank(text: string): boolean {
  return text.trim() === '';
}
