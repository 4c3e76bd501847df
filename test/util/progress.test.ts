import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { formatBar, formatSeconds, info, loopTimes, Progress, ProgressEvent } from '../../lib/util/progress';

/** What a Jupyter front end shows of a stream: '\r' moves to the line start and later characters overwrite old ones. */
function jupyterLine(stream: string): string {
  let line: string[] = [];
  let col = 0;
  for (const ch of stream) {
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      line = [];
      col = 0;
    } else line[col++] = ch;
  }
  return line.join('');
}

/** Runs `body` with stdout/stderr captured and the given environment; restores both. */
function capture(env: Record<string, string | undefined>, body: () => void): { stdout: string; stderr: string } {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  const out = { stdout: '', stderr: '' };
  const realOut = process.stdout.write;
  const realErr = process.stderr.write;
  process.stdout.write = ((s: string) => ((out.stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((out.stderr += s), true)) as typeof process.stderr.write;
  try {
    body();
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    process.env = saved;
  }
  return out;
}

describe('Progress', () => {
  it('shows done/total, a proportional bar and the status', () => {
    process.env.TESSERA_PROGRESS = '0';
    const p = new Progress('train', 4);
    p.tick(1, 'loss 0.5');
    expect(p.line()).toMatch(/^train \[######------------------\] 1\/4 .*loss 0\.5$/);
    p.tick(10);
    expect(p.line()).toContain('4/4');
    delete process.env.TESSERA_PROGRESS;
  });

  it("formats a bar from its state alone (the runner draws the kernel's bars with it)", () => {
    expect(formatBar({ label: 'x', done: 1, total: 2, elapsed: 3, status: 's' })).toBe('x [############------------] 1/2 3.0s eta 3.0s s');
  });

  it('formats seconds and minutes', () => {
    expect(formatSeconds(3.21)).toBe('3.2s');
    expect(formatSeconds(125)).toBe('2m05s');
  });

  it('in a notebook, pads a shorter redraw so that no tail of the longer line is left behind', () => {
    const { stdout } = capture({ TESSERA_NOTEBOOK: '1', TESSERA_PROGRESS: undefined, TESSERA_PROGRESS_FILE: undefined }, () => {
      const p = new Progress('fit', 60, { interval: 0 });
      p.tick(59, 'loss 0.030123 acc 0.663'); // long status
      p.tick(1, 'loss 0.03'); // shorter: without padding "...0.03" would be followed by the old tail
      p.finish();
    });
    expect(stdout).not.toContain('\x1b'); // front ends ignore ANSI erase codes
    const lines = stdout.split('\n').filter(Boolean);
    const last = jupyterLine(lines[lines.length - 1]);
    expect(last.trimEnd()).toMatch(/^fit \[#+\] 60\/60 [\d.]+s loss 0\.03$/);
  });

  it('writes every redraw, finished loop and note to the side channel as JSON lines, and records loop times', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-progress-'));
    const file = path.join(dir, 'events.jsonl');
    const before = loopTimes().length;
    const { stdout, stderr } = capture({ TESSERA_NOTEBOOK: '1', TESSERA_PROGRESS: undefined, TESSERA_PROGRESS_FILE: file }, () => {
      const p = new Progress('sweep', 3, { interval: 0 });
      p.tick(1);
      p.tick(2, 'done');
      p.finish();
      info('engine: test');
    });
    const events = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ProgressEvent);
    expect(events.map((e) => e.kind)).toEqual(['bar', 'bar', 'bar', 'info']);
    expect(events[0]).toMatchObject({ kind: 'bar', label: 'sweep', done: 1, total: 3, final: false });
    expect(events[2]).toMatchObject({ kind: 'bar', done: 3, status: 'done', final: true });
    expect(events[3]).toEqual({ kind: 'info', text: 'engine: test' });
    // in a notebook, notes go to stdout (Jupyter shows stderr in a red box)
    expect(stdout).toContain('engine: test\n');
    expect(stderr).toBe('');
    expect(
      loopTimes()
        .slice(before)
        .map((l) => [l.label, l.total]),
    ).toEqual([['sweep', 3]]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('outside a notebook, notes go to stderr so that stdout stays parseable', () => {
    const { stdout, stderr } = capture({ TESSERA_NOTEBOOK: undefined, TESSERA_PROGRESS_FILE: undefined }, () => info('engine: x'));
    expect(stdout).toBe('');
    expect(stderr).toBe('engine: x\n');
  });
});
