import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hasNbconvert, runNotebook } from '../../lib/report/notebook-runner';
import type { Notebook } from '../../lib/report/html';

// Each run starts a kernel and the TypeScript compiler: about 10 s on a quiet machine, minutes on a loaded one.
jest.setTimeout(300_000);

/** Executes tiny notebooks headless with both executors and checks outputs, execution counts and error messages. */
function notebook(...sources: string[]): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript (Tessera)', language: 'typescript' } },
    cells: sources.map((source) => ({ cell_type: 'code', source, outputs: [], execution_count: null, metadata: {} })),
  };
}

const executors = (['tslab', 'nbconvert'] as const).filter((e) => e === 'tslab' || hasNbconvert());

describe.each(executors)('runNotebook with %s', (executor) => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `tessera-nb-${executor}-`));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs cells, keeps outputs and execution counts, writes a report', async () => {
    const file = path.join(dir, 'ok.ipynb');
    fs.writeFileSync(
      file,
      JSON.stringify(
        notebook(
          'const x: number = 1 + 2;\nconsole.log(`x=${x}`);',
          "import * as tslab from 'tslab';\ntslab.display.html('<b>bold-' + String(x) + '</b>');",
          "import { Rng } from './lib/util/rng';\nconsole.log('rng', new Rng(1).int(1000));",
          // a folder import (lib/studies/index.ts), which tslab alone cannot load
          "import { studyNames } from './lib/studies';\nconsole.log('studies', studyNames().join(','));",
        ),
      ),
    );
    const result = await runNotebook(file, { outDir: dir, executor, cellTimeout: 120 });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    const nb = JSON.parse(fs.readFileSync(result.executedPath, 'utf8')) as Notebook;
    expect(nb.cells.map((c) => c.execution_count)).toEqual([1, 2, 3, 4]);
    expect(JSON.stringify(nb.cells[3].outputs)).toContain('studies smoke');
    expect(JSON.stringify(nb.cells[0].outputs)).toContain('x=3');
    expect(JSON.stringify(nb.cells[1].outputs)).toContain('<b>bold-3</b>');
    expect(JSON.stringify(nb.cells[2].outputs)).toMatch(/rng \d+/);
    const html = fs.readFileSync(result.htmlPath, 'utf8');
    expect(html).toContain('<b>bold-3</b>');
    expect(html).toContain('In [2]:');
  });

  it('keeps a cell that writes often without yielding (zeromq.js throws on the 514th synchronous IOPub send)', async () => {
    const file = path.join(dir, 'chatty.ipynb');
    const loop = 'for (let i = 0; i < 2000; i++) process.stdout.write(".");\nconsole.log("\\nwrote 2000");';
    fs.writeFileSync(file, JSON.stringify(notebook(loop, 'console.log("next cell");')));
    const result = await runNotebook(file, { outDir: dir, executor, cellTimeout: 120 });
    expect(result.error).toBeUndefined();
    const nb = JSON.parse(fs.readFileSync(result.executedPath, 'utf8')) as Notebook;
    expect(JSON.stringify(nb.cells[0].outputs)).toContain('wrote 2000');
    expect(JSON.stringify(nb.cells[1].outputs)).toContain('next cell');
  });

  it('reports a failing cell with its message', async () => {
    const file = path.join(dir, 'bad.ipynb');
    fs.writeFileSync(file, JSON.stringify(notebook('console.log("before");', 'throw new Error("boom-4711");', 'console.log("after");')));
    const result = await runNotebook(file, { outDir: dir, executor, cellTimeout: 120 });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/cell 2 failed: .*boom-4711/s);
    expect(fs.readFileSync(result.htmlPath, 'utf8')).toContain('boom-4711');
  });
});

describe('runNotebook with tslab: per-cell timeout', () => {
  it('stops a cell that runs too long and says which', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-nb-timeout-'));
    const file = path.join(dir, 'slow.ipynb');
    fs.writeFileSync(file, JSON.stringify(notebook('console.log(1);', 'await new Promise((r) => setTimeout(r, 60000));')));
    const result = await runNotebook(file, { outDir: dir, executor: 'tslab', cellTimeout: 8 });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/cell 2 ran longer than the 8s cell timeout/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe.each(executors)('progress on the terminal while a notebook runs (%s, under a pseudo-terminal)', (executor) => {
  const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
  (hasScript ? it : it.skip)("shows the kernel's progress bar, its cells and notes, redrawn in place", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tessera-nb-pty-${executor}-`));
    const file = path.join(dir, 'loop.ipynb');
    fs.writeFileSync(
      file,
      JSON.stringify(
        notebook(
          "import { info, Progress } from './lib/util/progress';\ninfo('note-from-kernel');",
          "const bar = new Progress('demo-loop', 6, { interval: 0 });\n" +
            'for (let i = 0; i < 6; i++) { await new Promise((r) => setTimeout(r, 150)); bar.tick(1, `step ${i}`); }\nbar.finish();',
        ),
      ),
    );
    const cli = path.join(__dirname, '..', '..', 'bin', 'tessera.js');
    const command = `node ${cli} notebook ${file} --out ${dir} --executor ${executor}`;
    const r = spawnSync('script', ['-qec', command, '/dev/null'], {
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '160' },
      timeout: 240_000,
    });
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/\x1b\[2K {2}demo-loop \[#{24}\] 6\/6 [\d.]+s step 5\r?\n/); // the final line, printed above the status
    expect(out).toMatch(/\[loop [\dms]+\] cell 2\/2/); // the status line names the running cell
    expect(out).toContain('note-from-kernel');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
