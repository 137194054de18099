/**
 * Calls to the broker's admin API on the same origin. The token, when the
 * broker wants one, lives in sessionStorage (gone with the tab) and goes
 * out as `Authorization: Bearer`; a 401 asks the user for it.
 */
import type { ApiErrorBody } from './api-types.js';

const TOKEN_KEY = 'courier.token';

/** A failed call: the HTTP status and the broker's error code and message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Called with the broker's message when a call is refused for want of a (better) token. */
  onUnauthorized: (message: string) => void;
}

/** The admin API client. */
export class ApiClient {
  readonly #onUnauthorized: (message: string) => void;

  constructor(options: ApiClientOptions) {
    this.#onUnauthorized = options.onUnauthorized;
    this.#adoptTokenFromUrl();
  }

  /** The token in use, if any. */
  get token(): string | undefined {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  }

  set token(value: string | undefined) {
    if (value === undefined || value === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, value);
  }

  /** GETs `path` (e.g. `/api/streams`) and parses the JSON answer. */
  get<T>(path: string): Promise<T> {
    return this.#call<T>(path, { method: 'GET' });
  }

  /** POSTs a JSON body to `path` and parses the JSON answer. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.#call<T>(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  async #call<T>(path: string, init: RequestInit): Promise<T> {
    const headers = new Headers(init.headers);
    const token = this.token;
    if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
    const response = await fetch(path, { ...init, headers, cache: 'no-store' });
    const text = await response.text();
    if (!response.ok) {
      const error = parseError(response.status, text);
      if (response.status === 401) this.#onUnauthorized(error.message);
      throw error;
    }
    return JSON.parse(text) as T;
  }

  /** `?token=` in the page's URL is taken once, kept, and removed from the address bar. */
  #adoptTokenFromUrl(): void {
    const url = new URL(location.href);
    const token = url.searchParams.get('token');
    if (token === null) return;
    this.token = token;
    url.searchParams.delete('token');
    history.replaceState(null, '', url.href);
  }
}

function parseError(status: number, text: string): ApiError {
  try {
    const body = JSON.parse(text) as Partial<ApiErrorBody> | null;
    const error = body?.error;
    if (error && typeof error === 'object' && typeof error.message === 'string') {
      return new ApiError(status, String(error.code ?? `HTTP_${status}`), error.message);
    }
    if (typeof error === 'string') return new ApiError(status, `HTTP_${status}`, error);
  } catch {
    // Not JSON: a proxy's or server's own page; fall through to the status line.
  }
  return new ApiError(status, `HTTP_${status}`, `the broker answered ${status}: ${text.slice(0, 200)}`);
}
