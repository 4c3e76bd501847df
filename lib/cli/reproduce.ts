import * as path from 'path';
import type { AggregatedStudy } from '../report/aggregate';
import { countsText, verdictCounts } from '../report/claims';
import { reproduce, StudyRun } from '../report/reproduce';
import { parseScale, PROJECT_ROOT } from '../studies/context';
import type { Claim, Scale } from '../studies/types';
import { intFlag, parseArgs, ParsedArgs, stringFlag } from '../util/args';
import { UserError } from '../util/errors';
import { formatSeconds } from '../util/progress';
import type { Command } from './command';

/** Seeds a scale runs when neither --seed nor --seeds is given: verdicts of the larger scales must not hang on one seed. */
export const DEFAULT_SEEDS: Record<Scale, number[]> = { quick: [0], standard: [0, 1, 2], full: [0, 1, 2] };

const USAGE = `usage: tessera reproduce [study ...] [options]

Runs studies (all when none is named) and writes, per study, <out>/<study>/claims.json, results.json (with the
run's provenance), figures/<name>.png|.svg|.html and report.html, then the dashboard <out>/index.html.

options:
  --scale quick|standard|full   size of the run (default quick)
  --out DIR                     output folder (default figures/)
  --data DIR                    a folder with your own data, for studies that accept it
  --seed N                      one seed of every random choice, results in <out>/<study>/
  --seeds 0,1,2                 several seeds: each runs into <out>/runs/<study>-s<N>/ (what
                                \`tessera reproduce STUDY --seed N --out <out>/runs/<study>-s<N>\` writes), then
                                \`tessera aggregate\` decides the claims over the seeds into <out>/<study>/.
                                Default: ${Object.entries(DEFAULT_SEEDS)
                                  .map(([s, seeds]) => `${s} ${seeds.join(',')}`)
                                  .join('; ')}
  --notebooks auto|nbconvert|tslab|off
                                run each study through its notebook: with Jupyter's nbconvert when installed
                                (auto), always nbconvert, tslab's executor without Jupyter, or not at all (off:
                                the CLI runs the study and writes its own report). Default auto.
  --cell-timeout SECONDS        per-cell timeout when running notebooks (default 3600)

Many (study, seed, scale) runs: run each as its own job on any machine, then merge them with \`tessera aggregate\`
(README: a Slurm job array and GNU parallel). Exit code 0 when every study ran, whatever the verdicts of its claims;
1 when a study failed; 2 on bad input.`;

/** The seeds asked for: --seed N, --seeds a,b,c (distinct non-negative integers), or the scale's default. */
export function seedsFlag(args: ParsedArgs, scale: Scale): number[] {
  const list = stringFlag(args, 'seeds');
  if (list !== undefined && args.flags.seed !== undefined) throw new UserError('give --seed N or --seeds a,b,c, not both');
  if (list === undefined) return args.flags.seed !== undefined ? [intFlag(args, 'seed', 0, { min: 0 })] : DEFAULT_SEEDS[scale];
  const seeds = list.split(',').map((s) => s.trim());
  if (seeds.some((s) => !/^\d+$/.test(s)))
    throw new UserError(`--seeds expects non-negative integers separated by commas (e.g. 0,1,2), found "${list}"`);
  const numbers = seeds.map(Number);
  if (new Set(numbers).size !== numbers.length) throw new UserError(`--seeds names a seed twice: "${list}"`);
  return numbers;
}

/** One line per study run and per aggregate: time, verdict counts (paper's claims; checks apart), where it went. */
export function summaryLines(runs: StudyRun[], aggregates: AggregatedStudy[]): string[] {
  const counts = (claims: Claim[]) => {
    const c = verdictCounts(claims);
    const other = c.other.holds + c.other.fails + c.other.inconclusive;
    return `paper claims: ${countsText(c.paper)}${other ? `; checks: ${countsText(c.other)}` : ''}`;
  };
  const rel = (p: string) => (p.startsWith(process.cwd() + path.sep) ? path.relative(process.cwd(), p) : p);
  const lines = runs.map(
    (r) =>
      `${r.study.padEnd(12)} seed ${String(r.seed).padEnd(6)} ${r.via.padEnd(8)} ${formatSeconds(r.seconds).padStart(7)}  ` +
      (r.ok ? `${counts(r.claims)} -> ${rel(r.dir)}` : `FAILED: ${r.error}`),
  );
  for (const a of aggregates)
    lines.push(
      `${a.study.padEnd(12)} seeds ${a.seeds.join(',').padEnd(5)} ${'over'.padEnd(8)} ${''.padStart(7)}  ` +
        `${counts(a.claims)} -> ${rel(a.dir)}`,
    );
  const total = runs.reduce((s, r) => s + r.seconds, 0);
  lines.push(`total ${formatSeconds(total)}`);
  return lines;
}

export const command: Command = {
  name: 'reproduce',
  summary: 'run studies and write figures, claims and reports',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, { command: 'reproduce', values: ['scale', 'out', 'data', 'seed', 'seeds', 'notebooks', 'cell-timeout'] });
    const notebooks = stringFlag(args, 'notebooks', 'auto');
    if (!['auto', 'nbconvert', 'tslab', 'off'].includes(notebooks)) {
      throw new UserError(`--notebooks expects auto, nbconvert, tslab or off, found "${notebooks}"`);
    }
    const scale = parseScale(stringFlag(args, 'scale', 'quick'));
    const outRoot = stringFlag(args, 'out', path.join(PROJECT_ROOT, 'figures'));
    const seeds = seedsFlag(args, scale);
    const { runs, aggregates, index } = await reproduce({
      studies: args.positional,
      scale,
      outRoot,
      data: stringFlag(args, 'data'),
      seeds,
      notebooks: notebooks as 'auto' | 'nbconvert' | 'tslab' | 'off',
      cellTimeout: intFlag(args, 'cell-timeout', 3600, { min: 1 }),
    });
    console.log(['', ...summaryLines(runs, aggregates), `dashboard: ${index}`].join('\n'));
    return runs.some((r) => !r.ok) ? 1 : 0;
  },
};
