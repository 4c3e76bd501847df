import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ProgressRelay } from '../../lib/report/progress-relay';
import type { ProgressEvent } from '../../lib/util/progress';

describe('ProgressRelay', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-relay-'));
    file = path.join(dir, 'events.jsonl');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const append = (...events: ProgressEvent[]) => fs.appendFileSync(file, events.map((e) => JSON.stringify(e) + '\n').join(''));
  const bar = (done: number, final = false): ProgressEvent => ({
    kind: 'bar',
    label: 'train',
    done,
    total: 10,
    elapsed: done,
    status: '',
    final,
  });

  it('in logs: cells, notes, every tenth of a loop once and its final line, tagged; times the cells', () => {
    let out = '';
    const relay = new ProgressRelay({ file, tag: 'smoke s0', tty: false, write: (t) => (out += t) });
    relay.poll(); // no file yet: nothing
    const t0 = Date.now();
    append({ kind: 'cell', index: 1, of: 2, source: 'const a = 1;', at: t0 - 3000 }, { kind: 'info', text: 'engine: torch' });
    // a half-written line waits for its end
    fs.appendFileSync(file, JSON.stringify(bar(1)).slice(0, 10));
    relay.poll();
    fs.appendFileSync(file, JSON.stringify(bar(1)).slice(10) + '\n');
    append(bar(1), bar(5), bar(10, true), { kind: 'cell', index: 2, of: 2, source: 'show(x)', at: t0 });
    const cells = relay.stop();
    const lines = out
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\[smoke s0 [\d.ms]+\] /, ''));
    expect(lines).toEqual([
      'cell 1/2: const a = 1;',
      'engine: torch',
      expect.stringMatching(/^train \[#{2}-{22}\] 1\/10 /),
      expect.stringMatching(/^train \[#{12}-{12}\] 5\/10 /),
      expect.stringMatching(/^train \[#{24}\] 10\/10 /),
      'cell 2/2: show(x)',
    ]);
    expect(out.startsWith('[smoke s0 ')).toBe(true);
    expect(cells.map((c) => [c.cell, c.source])).toEqual([
      [1, 'const a = 1;'],
      [2, 'show(x)'],
    ]);
    expect(cells[0].seconds).toBeCloseTo(3, 0);
  });

  it('on a terminal: one status line redrawn in place, finished loops printed above it, cleared at the end', () => {
    let out = '';
    const relay = new ProgressRelay({ file, tag: 'bagnet s1', tty: true, columns: 200, expectedSeconds: 600, write: (t) => (out += t) });
    append({ kind: 'cell', index: 3, of: 9, source: 'const acc = accuracy(fm);', at: Date.now() }, bar(4));
    relay.poll();
    expect(out).toMatch(/\r\x1b\[2K\[bagnet s1 0s, ~10m00s left\] cell 3\/9: train \[#+-+\] 4\/10/);
    out = '';
    relay.poll(); // nothing new, same second: no redraw
    expect(out).toBe('');
    append(bar(10, true));
    relay.poll();
    expect(out).toMatch(/^\r\x1b\[2K {2}train \[#{24}\] 10\/10 .*\n\r\x1b\[2K\[bagnet s1 .*\] cell 3\/9: const acc/);
    out = '';
    relay.stop();
    expect(out.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('cuts the status line to the terminal width', () => {
    let out = '';
    const relay = new ProgressRelay({ file, tag: 't', tty: true, columns: 30, write: (t) => (out += t) });
    append({ kind: 'cell', index: 1, of: 1, source: 'x'.repeat(100), at: Date.now() });
    relay.poll();
    const status = out.split('\x1b[2K').pop()!;
    expect(status.length).toBe(29);
    expect(status.endsWith('…')).toBe(true);
    relay.stop();
  });
});
