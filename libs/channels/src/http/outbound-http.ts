import type { HeraldConfig } from '@herald/config';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { SsrfGuard, type LookupAll } from './ssrf-guard';

export const USER_AGENT = 'Herald-Webhooks/1.0';

/** The most of a response body Herald reads; the rest is not worth the bandwidth. */
export const MAX_RESPONSE_BODY_BYTES = 64 * 1024;

export interface OutboundResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  durationMs: number;
}

/** Outbound HTTP for webhook and function deliveries, guarded against SSRF at connect time. */
export interface OutboundHttp {
  /**
   * POSTs and resolves with the status once the response body has been read (and discarded) up to
   * 64 KiB. Rejects with DestinationDeniedError for a denied address, or the network error.
   */
  post(url: string, headers: Record<string, string>, body: string): Promise<OutboundResponse>;
  close(): Promise<void>;
}

export type OutboundHttpConfig = HeraldConfig['webhook'] & { allowCidrs: string[] };

/**
 * One per process: the undici Agent keeps a keep-alive pool per origin, capped at
 * `connectionsPerOrigin`. `lookup` replaces DNS (tests only).
 */
export function createOutboundHttp(
  config: OutboundHttpConfig,
  options: { lookup?: LookupAll } = {},
): OutboundHttp {
  const guard = new SsrfGuard(config.allowCidrs);
  const agent = new Agent({
    connections: config.connectionsPerOrigin,
    headersTimeout: config.headersTimeoutMs,
    bodyTimeout: config.bodyTimeoutMs,
    connect: guard.connector({ timeoutMs: config.connectTimeoutMs, lookup: options.lookup }),
  });

  return {
    async post(url, headers, body) {
      const started = performance.now();
      // undici's request never follows redirects; a 3xx comes back as the answer.
      const response = await request(url, {
        method: 'POST',
        headers: { 'user-agent': USER_AGENT, ...headers },
        body,
        dispatcher: agent,
      });
      await discard(response.body);
      return {
        statusCode: response.statusCode,
        headers: response.headers,
        durationMs: Math.round(performance.now() - started),
      };
    },
    async close() {
      await agent.close();
    },
  };
}

/** Reads at most MAX_RESPONSE_BODY_BYTES, then drops the connection rather than read an unbounded body. */
async function discard(body: Readable): Promise<void> {
  let read = 0;
  try {
    for await (const chunk of body) {
      read += (chunk as Buffer).length;
      if (read > MAX_RESPONSE_BODY_BYTES) break;
    }
  } catch {
    // The status line and headers already arrived: the receiver's answer stands whatever the body does.
  } finally {
    if (!body.readableEnded) body.destroy();
  }
}
