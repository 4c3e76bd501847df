import * as path from 'path';
import { runNotebook } from '../report/notebook-runner';
import { intFlag, parseArgs, stringFlag } from '../util/args';
import { UserError } from '../util/errors';
import type { Command } from './command';

const USAGE = `usage: tessera notebook <file.ipynb ...> [--out DIR] [--executor auto|nbconvert|tslab] [--cell-timeout S]

Executes notebooks headless and writes <out>/<name>.executed.ipynb and <out>/<name>.html (a self-contained report).
--executor: Jupyter's nbconvert with the tslab kernel (auto picks it when installed) or tslab's executor without
Jupyter. Exit code 1 when a cell fails (its message is printed).`;

export const command: Command = {
  name: 'notebook',
  summary: 'execute notebooks headless to .ipynb and HTML',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, { command: 'notebook', values: ['out', 'executor', 'cell-timeout'] });
    if (args.positional.length === 0) throw new UserError('name at least one notebook (.ipynb)');
    const executor = stringFlag(args, 'executor', 'auto');
    if (!['auto', 'nbconvert', 'tslab'].includes(executor))
      throw new UserError(`--executor expects auto, nbconvert or tslab, found "${executor}"`);
    let failures = 0;
    for (const file of args.positional) {
      const result = await runNotebook(file, {
        outDir: stringFlag(args, 'out', path.dirname(path.resolve(file))),
        executor: executor as 'auto' | 'nbconvert' | 'tslab',
        cellTimeout: intFlag(args, 'cell-timeout', 1800, { min: 1 }),
        progress: true,
      });
      if (result.ok) console.log(`${file}: ok in ${result.seconds.toFixed(1)}s (${result.executor}) -> ${result.htmlPath}`);
      else {
        failures++;
        console.error(`${file}: ${result.error}\n  report: ${result.htmlPath}`);
      }
    }
    return failures ? 1 : 0;
  },
};
