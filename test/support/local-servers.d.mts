export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A server an outage test can pause, kill and start again on the same port and data folder. */
export interface ControllableServer extends RunningServer {
  /** The data folder (Redis: only when given or durable). */
  readonly dir: string | null;
  /** The server's main process now (it changes with `restart`). */
  readonly pid: number;
  /** SIGSTOP: the server hangs, connections stay open (PostgreSQL: the postmaster and its children). */
  pause(): Promise<void>;
  /** SIGCONT to what `pause` stopped. */
  resume(): Promise<void>;
  /** Ends the server with `signal` (Redis: SIGKILL, PostgreSQL: SIGINT, a fast shutdown) and waits for its exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and folder, once it has ended. */
  restart(): Promise<void>;
}

export interface RedisServerOptions {
  /** Arguments after the defaults, which they override. */
  args?: string[];
  /** A fixed port; a free one by default. */
  port?: number;
  /** The data folder (`--dir`); with `durable` and none, a temporary one that `stop()` removes. */
  dir?: string;
  /** `appendonly yes` and `appendfsync always`: what Redis acknowledged survives SIGKILL. */
  durable?: boolean;
}

export function freePort(): Promise<number>;
export function startRedis(options?: string[] | RedisServerOptions): Promise<ControllableServer>;
export function postgresInstalled(): boolean;
export function startPostgres(): Promise<ControllableServer & { dir: string }>;
export function stopChild(child: import('node:child_process').ChildProcess): Promise<void>;
export function onPath(cmd: string): boolean;
export function waitForOutput(
  child: import('node:child_process').ChildProcess,
  pattern: RegExp,
  what: string,
): Promise<void>;
