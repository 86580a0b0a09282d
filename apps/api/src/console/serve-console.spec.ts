import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConsoleDir } from './serve-console';

const ROOT = resolve(__dirname, '..', '..', '..', '..');

describe('defaultConsoleDir', () => {
  it.each([
    ['the sources (tests)', join(ROOT, 'apps', 'api', 'src', 'console')],
    ['dist/ (npm start, the Docker image)', join(ROOT, 'dist', 'apps', 'api', 'src', 'console')],
    [
      'a test build under node_modules/.cache',
      join(ROOT, 'node_modules', '.cache', 'b', 'apps', 'api', 'src', 'console'),
    ],
  ])('finds dist/console under the package root from %s', (_where, from) => {
    expect(defaultConsoleDir(from)).toBe(join(ROOT, 'dist', 'console'));
  });
});
