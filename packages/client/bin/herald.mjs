#!/usr/bin/env node
// The `herald` command. It runs the built CLI: `npm run build` (or `npm start`) in a Herald checkout
// builds it, and the published package carries it.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

const require = createRequire(import.meta.url);
const built = new URL('../dist/cli/index.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    'herald: the CLI is not built yet: run `npm run build` (or `npm start`) in the Herald checkout\n',
  );
  process.exit(1);
}
require(built.pathname).runCli();
