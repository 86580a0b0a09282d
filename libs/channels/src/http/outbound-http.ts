import type { HeraldConfig } from '@herald/config';
import { RECEIVER_ANSWER_BODY_BYTES } from '@herald/core';
import { performance } from 'node:perf_hooks';
import { isIP } from 'node:net';
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
  /** The first RECEIVER_ANSWER_BODY_BYTES (and a byte more, if there was more) of the body. */
  bodyStart: Buffer;
  /** The body went on beyond `bodyStart`. */
  bodyTruncated: boolean;
}

/** Outbound HTTP for webhook and function deliveries, guarded against SSRF at connect time. */
export interface OutboundHttp {
  /**
   * POSTs and resolves with the status once the response body has been read (and discarded) up to
   * 64 KiB. Rejects with DestinationDeniedError for a denied address, or the network error. Adds
   * Herald's user-agent to `headers` (the caller's object, not a copy) unless they name their own.
   */
  post(url: string, headers: Record<string, string>, body: string): Promise<OutboundResponse>;
  /**
   * Why a URL whose host is an IP literal in a denied range can never be delivered to (an endpoint
   * check at subscription time); null when its host is a name (checked on each connect) or allowed.
   */
  deniedLiteral(url: string): string | null;
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
      headers['user-agent'] ??= USER_AGENT;
      const response = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: agent,
      });
      const { start, truncated } = await readStart(response.body);
      return {
        statusCode: response.statusCode,
        headers: response.headers,
        durationMs: Math.round(performance.now() - started),
        bodyStart: start,
        bodyTruncated: truncated,
      };
    },
    deniedLiteral(url) {
      return deniedLiteral(guard, url);
    },
    async close() {
      await agent.close();
    },
  };
}

/** See OutboundHttp.deniedLiteral; `url` is a normalised http(s) URL (checkHttpEndpoint's). */
export function deniedLiteral(guard: SsrfGuard, url: string): string | null {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  if (!isIP(host)) return null;
  const verdict = guard.check(host);
  if (verdict.allowed) return null;
  return (
    `is ${host}, a ${verdict.reason}, which Herald does not deliver to; ` +
    'allow its range with OUTBOUND_ALLOW_CIDRS (e.g. OUTBOUND_ALLOW_CIDRS=127.0.0.0/8 for a receiver on this machine)'
  );
}

/**
 * Reads at most MAX_RESPONSE_BODY_BYTES (then drops the connection rather than read an unbounded
 * body), keeping the first RECEIVER_ANSWER_BODY_BYTES + 1 for the attempt record. Read by listening,
 * not with `for await`: a stream's async iterator costs a generator, a promise per chunk and an
 * end-of-stream watcher, about a twentieth of the workers' allocations in a one-subscriber profile,
 * for a body that is mostly empty.
 */
function readStart(body: Readable): Promise<{ start: Buffer; truncated: boolean }> {
  const keep = RECEIVER_ANSWER_BODY_BYTES + 1;
  const chunks: Buffer[] = [];
  let kept = 0;
  let read = 0;
  return new Promise((resolve) => {
    // `complete`: the whole body arrived within the limit. An error or a close before the end leaves
    // the answer standing (the status line and headers already arrived) but the body truncated.
    let done = false;
    const finish = (complete: boolean) => {
      if (done) return;
      done = true;
      // The error listener stays: destroying an unfinished body emits the abort as an error.
      body.off('data', onData).off('end', onEnd).off('close', onStop);
      if (!body.readableEnded) body.destroy();
      resolve({ start: Buffer.concat(chunks), truncated: !complete || read > RECEIVER_ANSWER_BODY_BYTES });
    };
    const onData = (buf: Buffer) => {
      read += buf.length;
      if (kept < keep) {
        chunks.push(buf.subarray(0, keep - kept));
        kept += Math.min(buf.length, keep - kept);
      }
      if (read > MAX_RESPONSE_BODY_BYTES) finish(false);
    };
    const onEnd = () => finish(true);
    const onStop = () => finish(false);
    body.on('data', onData).on('end', onEnd).on('error', onStop).on('close', onStop);
  });
}
