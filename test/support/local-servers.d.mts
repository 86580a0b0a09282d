export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number>;
export function startRedis(extraArgs?: string[]): Promise<RunningServer>;
export function postgresInstalled(): boolean;
export function startPostgres(): Promise<RunningServer>;
export function stopChild(child: import('node:child_process').ChildProcess): Promise<void>;
export function onPath(cmd: string): boolean;
export function waitForOutput(
  child: import('node:child_process').ChildProcess,
  pattern: RegExp,
  what: string,
): Promise<void>;
