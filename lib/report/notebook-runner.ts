import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../util/atomic';
import { UserError } from '../util/errors';
import type { Notebook } from './html';
import { joinText, notebookHtml } from './html';
import { CellTime, ProgressRelay } from './progress-relay';

const ROOT = path.resolve(__dirname, '..', '..');

export type NotebookExecutor = 'auto' | 'nbconvert' | 'tslab';

export interface RunNotebookOptions {
  /** Where the executed notebook (<name>.executed.ipynb) and the HTML report go. */
  outDir: string;
  /** File name of the HTML report (default <notebook name>.html). */
  htmlName?: string;
  /** nbconvert with the tslab kernel (what users run), tslab's executor without Jupyter, or auto (nbconvert when installed). */
  executor?: NotebookExecutor;
  /** Seconds one cell may run before the run is stopped (default 1800). */
  cellTimeout?: number;
  /** Extra environment for the kernel (e.g. TESSERA_SCALE). */
  env?: Record<string, string>;
  /**
   * Show the notebook's progress on this process's terminal while it runs (see ProgressRelay): the kernel's progress
   * bars, notes and cells, tagged with `tag` (default the notebook's name), with a rough estimate of what remains when
   * `expectedSeconds` is known. Off by default (tests).
   */
  progress?: boolean | { tag?: string; expectedSeconds?: number };
}

export interface RunNotebookResult {
  ok: boolean;
  executor: 'nbconvert' | 'tslab';
  executedPath: string;
  htmlPath: string;
  seconds: number;
  /** The first failure: which cell and its message. */
  error?: string;
  /** Wall time of each code cell that ran (from the progress side channel). */
  cells: CellTime[];
}

/** Jupyter's nbconvert on PATH (Debian's /usr/bin/jupyter runs the system python that has it). */
export function hasNbconvert(): boolean {
  return spawnSync('jupyter', ['nbconvert', '--version'], { stdio: 'ignore' }).status === 0;
}

function kernelspecReady(): boolean {
  return fs.existsSync(path.join(ROOT, '.jupyter', 'kernels', 'tslab', 'kernel.json'));
}

/** The first cell with an error output, as "cell N: message". */
export function firstError(nb: Notebook): string | undefined {
  for (let i = 0; i < nb.cells.length; i++) {
    const err = (nb.cells[i].outputs ?? []).find((o) => o.output_type === 'error');
    if (err) return `cell ${i + 1} failed: ${err.evalue || err.ename}`;
  }
  return undefined;
}

/**
 * Executes a notebook headless and writes the executed .ipynb and a self-contained HTML report. A failing cell
 * does not throw: the result says ok=false with the cell's message, and the report shows it.
 */
export async function runNotebook(input: string, opts: RunNotebookOptions): Promise<RunNotebookResult> {
  if (!fs.existsSync(input)) throw new UserError(`notebook "${input}" not found`);
  const name = path.basename(input, '.ipynb');
  fs.mkdirSync(opts.outDir, { recursive: true });
  const executedPath = path.join(path.resolve(opts.outDir), `${name}.executed.ipynb`);
  const htmlPath = path.join(path.resolve(opts.outDir), opts.htmlName ?? `${name}.html`);
  const choice = opts.executor ?? 'auto';
  const useNbconvert = choice === 'nbconvert' || (choice === 'auto' && hasNbconvert() && kernelspecReady());
  if (choice === 'nbconvert' && !hasNbconvert()) {
    throw new UserError(
      'jupyter nbconvert is not installed; run `npm run bootstrap` as root (apt-get install jupyter-nbconvert) or use --executor tslab',
    );
  }
  const timeout = opts.cellTimeout ?? 1800;
  // The kernel appends its progress events to this file (TESSERA_PROGRESS_FILE); the relay shows them here.
  const channelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-progress-'));
  const channel = path.join(channelDir, 'events.jsonl');
  fs.writeFileSync(channel, '');
  // Headless runs use the sources as they were at the start (see environment/tslab-headless.js).
  const env = {
    ...process.env,
    ...(opts.env ?? {}),
    TESSERA_NOTEBOOK: '1',
    TESSERA_FREEZE_SOURCES: '1',
    TESSERA_PROGRESS_FILE: channel,
    TESSERA_NOTEBOOK_DIR: path.dirname(path.resolve(input)),
  };
  const show = opts.progress ? (typeof opts.progress === 'object' ? opts.progress : {}) : null;
  const relay = new ProgressRelay({
    file: channel,
    tag: show?.tag ?? name,
    expectedSeconds: show?.expectedSeconds,
    write: show ? undefined : () => {},
  });
  relay.start();
  const started = Date.now();
  fs.rmSync(executedPath, { force: true });
  let runError: string | undefined;
  let cells: CellTime[];
  try {
    runError = useNbconvert
      ? await runNbconvert(path.resolve(input), executedPath, timeout, env, relay)
      : await runTslab(path.resolve(input), executedPath, timeout, env, relay);
  } finally {
    cells = relay.stop();
    fs.rmSync(channelDir, { recursive: true, force: true });
  }
  if (!fs.existsSync(executedPath)) {
    throw new Error(`notebook ${input} did not run: ${runError ?? 'no executed notebook was written'}`);
  }
  const nb = JSON.parse(fs.readFileSync(executedPath, 'utf8')) as Notebook;
  const error = firstError(nb) ?? runError;
  writeFileAtomic(htmlPath, notebookHtml(nb, name));
  const seconds = (Date.now() - started) / 1000;
  return { ok: !error, executor: useNbconvert ? 'nbconvert' : 'tslab', executedPath, htmlPath, seconds, error, cells };
}

/** Passes a child's output on to the relay line by line (the relay keeps its status line intact around them). */
function lineForwarder(relay: ProgressRelay): (d: Buffer) => void {
  let partial = '';
  return (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) relay.note(line);
  };
}

function runNbconvert(
  input: string,
  output: string,
  timeout: number,
  env: NodeJS.ProcessEnv,
  relay: ProgressRelay,
): Promise<string | undefined> {
  const jupyterPath = [path.join(ROOT, '.jupyter'), env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  const args = [
    'nbconvert',
    '--to',
    'notebook',
    '--execute',
    input,
    '--output-dir',
    path.dirname(output),
    '--output',
    path.basename(output),
    '--ExecutePreprocessor.kernel_name=tslab',
    `--ExecutePreprocessor.timeout=${timeout}`,
    // After a cell's reply nbclient waits this long for the kernel's last outputs (default 4 s); on a loaded machine
    // they come later, and a failed cell then loses its error message.
    '--ExecutePreprocessor.iopub_timeout=120',
    '--config',
    path.join(__dirname, 'nbconvert-hooks.py'),
  ];
  return new Promise((resolve) => {
    const child = spawn('jupyter', args, { cwd: ROOT, env: { ...env, JUPYTER_PATH: jupyterPath }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const forward = lineForwarder(relay);
    child.stdout.on('data', forward);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      forward(d);
    });
    child.on('error', (err) => resolve(`could not start jupyter: ${err.message}`));
    child.on('close', (code) => {
      if (code === 0) return resolve(undefined);
      const timedOut = /timed out|TimeoutError|CellTimeoutError/.test(stderr);
      const tail = stderr.trim().split('\n').slice(-15).join('\n');
      resolve(timedOut ? `a cell ran longer than the ${timeout}s cell timeout` : `jupyter nbconvert exited with code ${code}:\n${tail}`);
    });
  });
}

function runTslab(
  input: string,
  output: string,
  timeout: number,
  env: NodeJS.ProcessEnv,
  relay: ProgressRelay,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['-r', path.join(ROOT, 'bin', 'register.js'), path.join(__dirname, 'tslab-child.ts'), input, output],
      {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      },
    );
    let stderr = '';
    let current = -1;
    let timer: NodeJS.Timeout | undefined;
    let timedOut: string | undefined;
    child.on('message', (msg: { type: string; index: number }) => {
      if (msg.type !== 'cell') return;
      current = msg.index;
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = `cell ${current + 1} ran longer than the ${timeout}s cell timeout and was stopped`;
        child.kill('SIGKILL');
      }, timeout * 1000);
    });
    const forward = lineForwarder(relay);
    child.stdout!.on('data', forward);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      forward(d);
    });
    child.on('error', (err) => resolve(`could not start the tslab executor: ${err.message}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) {
        markTimeout(input, output, current, timedOut);
        return resolve(timedOut);
      }
      resolve(code === 0 ? undefined : `the tslab executor exited with code ${code}:\n${stderr.trim().split('\n').slice(-15).join('\n')}`);
    });
  });
}

/** Records a timeout as the error output of the cell that was running, in the partial executed notebook. */
function markTimeout(input: string, output: string, cellIndex: number, message: string): void {
  if (cellIndex < 0) return;
  const nb = JSON.parse(fs.readFileSync(fs.existsSync(output) ? output : input, 'utf8')) as Notebook;
  const cell = nb.cells[cellIndex];
  cell.outputs = [{ output_type: 'error', ename: 'CellTimeout', evalue: message, traceback: [] }];
  writeFileAtomic(output, JSON.stringify(nb, null, 1) + '\n');
}

/** The source of every code cell, for tests and summaries. */
export function codeCells(nb: Notebook): string[] {
  return nb.cells.filter((c) => c.cell_type === 'code').map((c) => joinText(c.source));
}
