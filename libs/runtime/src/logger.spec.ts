import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, PinoNestLogger, resolveLogFormat } from './logger';

/** A destination that keeps what the logger wrote. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('createLogger', () => {
  it.each<[Parameters<typeof resolveLogFormat>[0], boolean, string]>([
    ['auto', true, 'pretty'],
    ['auto', false, 'json'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
  ])('LOG_FORMAT=%s with a terminal: %s → %s', (format, tty, expected) => {
    expect(resolveLogFormat(format, tty)).toBe(expected);
  });

  it('writes JSON lines, secrets redacted', () => {
    const out = sink();
    createLogger('info', 'json', out.stream).info({ token: 'tok-123', route: '/v1/topics' }, 'request');
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    expect(line).toMatchObject({
      msg: 'request',
      route: '/v1/topics',
      token: '[redacted]',
      service: 'herald',
    });
  });

  it('writes pretty lines a person reads, secrets redacted', () => {
    const out = sink();
    createLogger('info', 'pretty', out.stream).info({ secret: 'whsec_abc', route: '/v1/topics' }, 'request');
    const text = out.text();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: request\n/);
    expect(text).toContain('route: "/v1/topics"');
    expect(text).toContain('"[redacted]"');
    expect(text).not.toContain('whsec_abc');
    expect(() => JSON.parse(text) as unknown).toThrow();
  });
});

describe('PinoNestLogger', () => {
  it("keeps Nest's per-route start-up lines out of info", () => {
    const out = sink();
    const nest = new PinoNestLogger(createLogger('info', 'json', out.stream));
    nest.log('Mapped {/v1/topics, GET} route', 'RouterExplorer');
    nest.log('TopicsController {/v1/topics}:', 'RoutesResolver');
    nest.log('InfraModule dependencies initialized', 'InstanceLoader');
    nest.log('Nest application successfully started', 'NestApplication');
    const lines = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(['Nest application successfully started']);
  });
});
