// `npm run build`'s step for packages/client: the TypeScript types of Herald's OpenAPI document, written
// by openapi-typescript. The client-drift test runs it too, on the document a running Herald serves.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
/** Request fields with a default stay optional; a schema-less object is `Record<string, unknown>`. */
export const OPENAPI_TYPESCRIPT_FLAGS = ['--empty-objects-unknown', '--default-non-nullable', 'false'];

const [document, out] = process.argv.slice(2);
if (!document || !out) {
  process.stderr.write('usage: node scripts/client-types.mjs <openapi.json> <out.ts>\n');
  process.exit(2);
}
const bin = join(ROOT, 'node_modules', '.bin', 'openapi-typescript');
const result = spawnSync(bin, [document, '-o', out, ...OPENAPI_TYPESCRIPT_FLAGS], { stdio: 'inherit' });
process.exit(result.status ?? 1);
