import { main } from './main';

/** The `herald` command: runs argv, with Ctrl-C (or SIGTERM) ending `listen`. */
export function runCli(argv = process.argv.slice(2)): void {
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  void main(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    interrupted,
  }).then((code) => process.exit(code));
}
