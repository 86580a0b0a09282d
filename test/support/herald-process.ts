import { spawn, type ChildProcess } from 'node:child_process';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A built Herald entry point (`node <build>/apps/…/main.js`) running as a child process with exactly
 * the environment given (plus PATH), its stdout and stderr collected. Waiting is event-driven:
 * `waitForOutput` resolves when a line matching appears, `exited` when the process ends.
 */
export class HeraldProcess {
  private static readonly running = new Set<HeraldProcess>();
  private static readonly groups = new Set<HeraldProcess>();

  stdout = '';
  stderr = '';
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private exit: ProcessExit | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly group: boolean;

  /**
   * `main` is a built entry point run with this Node, or, with `options.command`, any command line (such as
   * `['npm', 'start']`). `options.group` starts it in a process group of its own, for `killGroup`.
   */
  constructor(
    main: string,
    env: Record<string, string>,
    options: { cwd?: string; command?: string[]; group?: boolean } = {},
  ) {
    const [file, ...args] = options.command ?? [process.execPath, main];
    this.group = options.group ?? false;
    this.child = spawn(file, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.group,
    });
    HeraldProcess.running.add(this);
    if (this.group) HeraldProcess.groups.add(this);
    this.child.stdout!.on('data', (c: Buffer) => {
      this.stdout += c.toString();
      this.notify();
    });
    this.child.stderr!.on('data', (c: Buffer) => {
      this.stderr += c.toString();
      this.notify();
    });
    this.exited = new Promise((resolve) => {
      // 'close' rather than 'exit': every byte of stdout and stderr has been read by then.
      this.child.once('close', (code, signal) => {
        this.exit = { code, signal };
        HeraldProcess.running.delete(this);
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** True until the process has ended. */
  get running(): boolean {
    return this.exit === null;
  }

  /** Everything the process wrote, stdout then stderr. */
  get output(): string {
    return `${this.stdout}${this.stderr}`;
  }

  /** The JSON log lines on stdout, parsed (the structured log is pino's JSON lines). */
  get logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Resolves once stdout or stderr matches `pattern`; rejects if the process ends first. */
  async waitForOutput(pattern: RegExp, what = String(pattern)): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(this.output)) {
          this.waiters.delete(check);
          resolve();
        } else if (this.exit) {
          this.waiters.delete(check);
          reject(
            new Error(
              `the process ended (${JSON.stringify(this.exit)}) before ${what}:\n${this.output.slice(-3000)}`,
            ),
          );
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Resolves once `${url}/readyz` answers 200 (polled every 50 ms: readiness has no event to wait on);
   * rejects at once, with the output, if the process ends first, and after `timeoutMs`.
   */
  async ready(url: string, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) {
        throw new Error(
          `Herald exited (${JSON.stringify(this.exit)}) before it was ready:\n${this.output.slice(-3000)}`,
        );
      }
      try {
        if ((await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${url}/readyz did not answer 200 within ${timeoutMs} ms:\n${this.output.slice(-3000)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /**
   * `signal` to every process of its group, as a terminal's Ctrl-C does (needs `group: true`), even after
   * the process itself ended: what it started may still be running.
   */
  killGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** SIGTERM, and the exit it led to. */
  async stop(): Promise<ProcessExit> {
    this.kill('SIGTERM');
    return this.exited;
  }

  /** Kills (SIGKILL) every process started here that is still running, with its group: for afterAll/afterEach. */
  static async killAll(): Promise<void> {
    const left = [...HeraldProcess.running];
    for (const p of HeraldProcess.groups) p.killGroup('SIGKILL');
    HeraldProcess.groups.clear();
    for (const p of left) p.kill('SIGKILL');
    await Promise.all(left.map((p) => p.exited));
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
