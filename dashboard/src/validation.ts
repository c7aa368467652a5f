// Maps the API's error answers onto the form: a 400's `field` lands next to that field,
// anything else is shown above the buttons. Pure: no DOM.

import { FORM_FIELDS, type FieldErrors, type FormField } from './request';

/** An error answer from the orchestrator (status 0 when it could not be reached). */
export class ApiError extends Error {
  readonly status: number;
  readonly field: string | null;

  constructor(status: number, message: string, field: string | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field;
  }
}

const ALIASES: Record<string, FormField> = {
  type: 'test_type',
  test_type: 'test_type',
  target: 'url',
  header: 'headers',
  delay: 'delay_ms',
  test_message_delay: 'delay_ms',
  message_count_per_driver: 'requests_per_driver',
  requests: 'requests_per_driver',
  count: 'requests_per_driver',
  duration: 'duration_ms',
  timeout: 'timeout_ms',
  connections: 'concurrency',
  driver_count: 'drivers',
  tls: 'insecure',
};

/**
 * Finds the form field an API `field` names: exact names, nested paths such as
 * `headers[0].name` or `config.url`, and a few synonyms. `null` when none matches.
 */
export function formFieldFor(apiField: string | null | undefined): FormField | null {
  if (!apiField) return null;
  const parts = apiField
    .trim()
    .toLowerCase()
    .split(/[.[\]/]+/)
    .filter((p) => p !== '' && !/^\d+$/.test(p));
  for (const part of parts) {
    if ((FORM_FIELDS as readonly string[]).includes(part)) return part as FormField;
    const alias = ALIASES[part];
    if (alias) return alias;
  }
  return null;
}

export interface FormErrors {
  fields: FieldErrors;
  general: string | null;
}

/** Splits an error from creating or starting a test into field messages and a general one. */
export function formErrorsFrom(error: unknown): FormErrors {
  if (error instanceof ApiError) {
    const field = error.status === 400 ? formFieldFor(error.field) : null;
    if (field) return { fields: { [field]: fieldMessage(error.message, error.field) }, general: null };
    return { fields: {}, general: generalMessage(error) };
  }
  const text = error instanceof Error ? error.message : String(error);
  return { fields: {}, general: text || 'Something went wrong.' };
}

/**
 * A field's message without the "field: " the API puts in front (the message is shown beside
 * the field already): "concurrency: must be between 1 and 100000" → "Must be between 1 and 100000".
 */
function fieldMessage(message: string, apiField: string | null): string {
  if (!apiField) return message;
  const prefix = `${apiField}: `;
  if (message.length <= prefix.length || message.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) {
    return message;
  }
  const rest = message.slice(prefix.length);
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

function generalMessage(error: ApiError): string {
  switch (error.status) {
    case 0:
      return `Cannot reach the orchestrator: ${error.message}`;
    case 401:
      return 'Not authorised: a valid API token is needed to do this.';
    case 409:
      return `Cannot start: ${error.message}`;
    default:
      return error.message || `The orchestrator answered ${error.status}.`;
  }
}

/** Reads `{error, field}` from an error answer's body, whatever shape it arrives in. */
export function apiErrorFrom(status: number, body: unknown, statusText = ''): ApiError {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const message = typeof b.error === 'string' ? b.error : typeof b.message === 'string' ? b.message : '';
    const field = typeof b.field === 'string' ? b.field : null;
    if (message) return new ApiError(status, message, field);
  }
  if (typeof body === 'string' && body.trim() !== '') return new ApiError(status, body.trim());
  return new ApiError(status, statusText || `HTTP ${status}`);
}
