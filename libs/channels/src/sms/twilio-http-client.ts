import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type Response from 'twilio/lib/http/response';

/** What the SDK's exceptions drop and the classification needs: the answer's Retry-After header. */
interface CallInfo {
  retryAfter: string | null;
}

export type TrackedCall<T> =
  { ok: true; value: T } | { ok: false; error: unknown; retryAfter: string | null };

export interface TwilioHttpClientOptions {
  /** Send API calls to this origin (and optional base path) instead of Twilio's. */
  apiBaseUrl?: string | null;
  timeoutMs?: number;
}

/**
 * The SDK's RequestClient with two additions: it can send every call to another origin (Twilio has no
 * base-URL option), and it remembers each answer's Retry-After, which RestException does not keep.
 */
export class TwilioHttpClient extends twilio.RequestClient {
  private readonly calls = new AsyncLocalStorage<CallInfo>();
  private readonly base: URL | null;
  private readonly httpAgent: HttpAgent;

  constructor(options: TwilioHttpClientOptions = {}) {
    super({ timeout: options.timeoutMs ?? 15_000, keepAlive: true, autoRetry: false });
    this.base = options.apiBaseUrl ? new URL(options.apiBaseUrl) : null;
    // A plain-HTTP base (a local Twilio-compatible server) would otherwise share Node's global agent,
    // whose keep-alive sockets close() could not release.
    this.httpAgent = new HttpAgent({ keepAlive: true, timeout: options.timeoutMs ?? 15_000 });
    this.axios.defaults.httpAgent = this.httpAgent;
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<Response<TData>> {
    const response = await super.request({ ...opts, uri: this.rewrite(opts.uri) });
    const info = this.calls.getStore();
    if (info) info.retryAfter = headerValue(response.headers, 'retry-after');
    return response;
  }

  /** Runs one SDK call and hands back its result or its error together with the answer's Retry-After. */
  async track<T>(call: () => Promise<T>): Promise<TrackedCall<T>> {
    const info: CallInfo = { retryAfter: null };
    try {
      return { ok: true, value: await this.calls.run(info, call) };
    } catch (error) {
      return { ok: false, error, retryAfter: info.retryAfter };
    }
  }

  /** Releases pooled sockets so the process (or a test) can exit promptly. */
  close(): void {
    this.httpAgent.destroy();
    const httpsAgent = this.axios.defaults.httpsAgent as HttpsAgent | undefined;
    httpsAgent?.destroy();
  }

  private rewrite(uri: string): string {
    if (!this.base) return uri;
    const target = new URL(uri);
    const basePath = this.base.pathname.replace(/\/+$/, '');
    return `${this.base.origin}${basePath}${target.pathname}${target.search}`;
  }
}

function headerValue(headers: unknown, name: string): string | null {
  if (!headers || typeof headers !== 'object') return null;
  const value = (headers as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return null;
}
