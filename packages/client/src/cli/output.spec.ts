import { describe, expect, it } from 'vitest';
import { fields, ProgressBar, table } from './output';

class Captured {
  text = '';
  constructor(readonly isTTY: boolean) {}
  write(s: string) {
    this.text += s;
  }
}

describe('the CLI output', () => {
  it('aligns table columns under upper-case headers, with - for nothing', () => {
    const rows = [
      { id: 'sub_1', status: 'active', topics: ['a', 'b'] },
      { id: 'sub_22', status: null, topics: [] },
    ];
    expect(table(rows, ['id', 'status', 'topics'])).toBe(
      'ID      STATUS  TOPICS\nsub_1   active  a,b\nsub_22  -       -\n',
    );
    expect(fields({ id: 'x', counts: { a: 1 } }, ['id', 'counts'])).toBe('id      x\ncounts  {"a":1}\n');
  });

  it('draws a progress bar on a terminal and nothing elsewhere', () => {
    const tty = new Captured(true);
    const pipe = new Captured(false);
    for (const stream of [tty, pipe]) {
      const bar = new ProgressBar(stream, 2, 'redriving');
      bar.tick();
      bar.tick();
    }
    expect(tty.text).toBe(
      `\rredriving [${'#'.repeat(15)}${'.'.repeat(15)}] 1/2\rredriving [${'#'.repeat(30)}] 2/2\n`,
    );
    expect(pipe.text).toBe('');
  });
});
