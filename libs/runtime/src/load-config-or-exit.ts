import { ConfigError, loadConfig, type HeraldConfig } from '@herald/config';

/** Reads the configuration for a process entry point; invalid settings print every problem and exit 2. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): HeraldConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
