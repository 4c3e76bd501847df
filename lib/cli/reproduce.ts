import * as path from 'path';
import { verdictSummary } from '../report/html';
import { reproduce } from '../report/reproduce';
import { PROJECT_ROOT } from '../studies/context';
import { intFlag, parseArgs, stringFlag } from '../util/args';
import { UserError } from '../util/errors';
import type { Command } from './command';

const USAGE = `usage: tessera reproduce [study ...] [options]

Runs studies (all when none is named) and writes, per study, <out>/<study>/claims.json, results.json,
figures/<name>.png|.svg|.html and report.html, then <out>/index.html.

options:
  --scale quick|standard|full   size of the run (default quick)
  --out DIR                     output folder (default figures/)
  --data DIR                    a folder with your own data, for studies that accept it
  --seed N                      seed of every random choice (default 0)
  --notebooks auto|nbconvert|tslab|off
                                run each study through its notebook: with Jupyter's nbconvert when installed
                                (auto), always nbconvert, tslab's executor without Jupyter, or not at all (off:
                                the CLI runs the study and writes its own report). Default auto.
  --cell-timeout SECONDS        per-cell timeout when running notebooks (default 3600)

Exit code 0 when every study ran, whatever the verdicts of its claims; 1 when a study failed; 2 on bad input.`;

export const command: Command = {
  name: 'reproduce',
  summary: 'run studies and write figures, claims and reports',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, { command: 'reproduce', values: ['scale', 'out', 'data', 'seed', 'notebooks', 'cell-timeout'] });
    const notebooks = stringFlag(args, 'notebooks', 'auto');
    if (!['auto', 'nbconvert', 'tslab', 'off'].includes(notebooks)) {
      throw new UserError(`--notebooks expects auto, nbconvert, tslab or off, found "${notebooks}"`);
    }
    const runs = await reproduce({
      studies: args.positional,
      scale: stringFlag(args, 'scale', 'quick'),
      outRoot: stringFlag(args, 'out', path.join(PROJECT_ROOT, 'figures')),
      data: stringFlag(args, 'data'),
      seed: intFlag(args, 'seed', 0, { min: 0 }),
      notebooks: notebooks as 'auto' | 'nbconvert' | 'tslab' | 'off',
      cellTimeout: intFlag(args, 'cell-timeout', 3600, { min: 1 }),
    });
    const failed = runs.filter((r) => !r.ok);
    for (const r of runs) {
      const verdict = r.ok ? verdictSummary(r.claims) : `FAILED: ${r.error}`;
      console.log(`${r.study.padEnd(20)} ${r.via.padEnd(8)} ${r.seconds.toFixed(1).padStart(7)}s  ${verdict}`);
    }
    return failed.length ? 1 : 0;
  },
};
