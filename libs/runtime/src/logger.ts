import type { LogFormat } from '@herald/config';
import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** Paths pino blanks in every log line, so secrets never reach the logs even by mistake. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-twilio-signature"]',
  'headers.authorization',
  'authorization',
  'secret',
  'previousSecret',
  'key',
  'token',
  'password',
  'authToken',
  '*.secret',
  '*.previousSecret',
  '*.token',
  '*.password',
  '*.authToken',
];

/** `auto` means pretty for a person at a terminal and JSON lines for a log collector. */
export function resolveLogFormat(
  format: LogFormat,
  isTty = process.stdout.isTTY === true,
): 'json' | 'pretty' {
  if (format !== 'auto') return format;
  return isTty ? 'pretty' : 'json';
}

/**
 * The process's logger: JSON lines, or pino-pretty's coloured lines (written synchronously, for a
 * person at a terminal). Redaction applies before either format. JSON lines to stdout are buffered
 * (up to 4 KiB, written out at least every 100 ms and at exit): a line per request would otherwise
 * cost a write system call per request.
 */
export function createLogger(
  level: string,
  format: LogFormat = 'auto',
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { service: 'herald' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (resolveLogFormat(format) === 'json') {
    if (destination) return pino(options, destination);
    const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    setInterval(() => stdout.flush(), 100).unref();
    // A process that exits (process.exit, a fatal error) writes what it still holds first.
    process.once('exit', () => {
      try {
        stdout.flushSync();
      } catch {
        // Not open yet (the process ends before its first line was written): nothing to write.
      }
    });
    return pino(options, stdout);
  }
  return pino(
    options,
    pretty({
      destination: destination ?? 1,
      sync: true,
      colorize: !destination && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
    }),
  );
}

/** Nest's start-up chatter: one line per module, controller and route (some 45 in all). */
const STARTUP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** Nest's logger interface over pino; Nest's start-up chatter goes to `debug`. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    if (context && STARTUP_CONTEXTS.has(context)) this.logger.debug({ context }, String(message));
    else this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
