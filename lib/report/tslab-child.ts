/**
 * Runs a notebook's code cells with tslab's executor, without Jupyter (started by notebook-runner.ts as a child
 * process, from the project root). Usage: node -r bin/register.js lib/report/tslab-child.ts <input.ipynb> <output.ipynb>
 * Before each cell it tells the parent (IPC) which cell starts, so the parent can enforce the per-cell timeout, and
 * announces it on the progress side channel (TESSERA_PROGRESS_FILE) like nbconvert's hook does;
 * after each cell it writes the notebook so far (atomically), so a killed run still leaves every finished cell.
 * Like Jupyter's "run all", it stops at the first cell that fails.
 */
import * as fs from 'fs';
import { writeFileAtomic } from '../util/atomic';
import { emitProgressEvent } from '../util/progress';
import type { Notebook, NotebookOutput } from './html';
import { joinText } from './html';

async function main(): Promise<void> {
  const [input, output] = process.argv.slice(2);
  const nb = JSON.parse(fs.readFileSync(input, 'utf8')) as Notebook;
  require('../../environment/tslab-folder-imports').patchTslabFolderImports(process.cwd());
  require('../../environment/tslab-headless').freezeTslabSources(process.cwd());
  const { createConverter } = require('tslab/dist/converter');
  const { createExecutor } = require('tslab/dist/executor');
  const jupyter = require('tslab/dist/jupyter');

  let outputs: NotebookOutput[] = [];
  const appendStream = (name: 'stdout' | 'stderr', text: string) => {
    const last = outputs[outputs.length - 1];
    if (last && last.output_type === 'stream' && last.name === name) last.text = joinText(last.text) + text;
    else outputs.push({ output_type: 'stream', name, text });
  };
  const writer =
    (stream: 'stdout' | 'stderr') =>
    (chunk: string | Uint8Array, ...rest: unknown[]) => {
      appendStream(stream, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
  const converters = {
    node: createConverter({ isJS: false, isBrowser: false }),
    browser: createConverter({ isJS: false, isBrowser: true }),
    close() {
      this.node.close();
      this.browser.close();
    },
  };
  const executor = createExecutor(process.cwd(), converters, {
    log: (...args: unknown[]) => appendStream('stdout', args.map(String).join(' ') + '\n'),
    error: (...args: unknown[]) =>
      appendStream('stderr', args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' ') + '\n'),
  });
  jupyter.lastWriteDisplayData = (msg: { data: Record<string, unknown> }) => {
    outputs.push({ output_type: 'display_data', data: msg.data, metadata: {} } as NotebookOutput);
  };

  const realStdout = process.stdout.write.bind(process.stdout);
  const realStderr = process.stderr.write.bind(process.stderr);
  let count = 0;
  let failed = false;
  const codeCells = nb.cells.filter((c) => c.cell_type === 'code').length;
  let ordinal = 0;
  for (let i = 0; i < nb.cells.length; i++) {
    const cell = nb.cells[i];
    if (cell.cell_type !== 'code') continue;
    if (failed) {
      cell.outputs = [];
      cell.execution_count = null;
      continue;
    }
    process.send?.({ type: 'cell', index: i });
    const firstLine =
      joinText(cell.source)
        .split('\n')
        .find((l) => l.trim()) ?? '';
    emitProgressEvent({ kind: 'cell', index: ++ordinal, of: codeCells, source: firstLine.slice(0, 100), at: Date.now() });
    outputs = [];
    process.stdout.write = writer('stdout') as typeof process.stdout.write;
    process.stderr.write = writer('stderr') as typeof process.stderr.write;
    let ok: boolean;
    try {
      ok = await executor.execute(joinText(cell.source));
    } finally {
      process.stdout.write = realStdout;
      process.stderr.write = realStderr;
    }
    cell.execution_count = ++count;
    if (!ok) {
      const message = outputs
        .filter((o) => o.output_type === 'stream' && o.name === 'stderr')
        .map((o) => joinText(o.text))
        .join('')
        .trim();
      outputs.push({ output_type: 'error', ename: 'CellError', evalue: message || 'the cell failed', traceback: [] });
      failed = true;
    }
    cell.outputs = outputs;
    writeFileAtomic(output, JSON.stringify(nb, null, 1) + '\n');
  }
  writeFileAtomic(output, JSON.stringify(nb, null, 1) + '\n');
  executor.close?.();
  converters.close();
  process.send?.({ type: 'done', failed });
  // Notebook code may leave handles open (timers, tfjs backends); the run is over.
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`tslab-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
