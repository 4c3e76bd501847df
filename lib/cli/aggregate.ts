import * as path from 'path';
import { aggregateRuns } from '../report/aggregate';
import { writeIndex } from '../report/index-page';
import { parseArgs, stringFlag } from '../util/args';
import { UserError } from '../util/errors';
import type { Command } from './command';
import { summaryLines } from './reproduce';

const USAGE = `usage: tessera aggregate <run folder ...> --out DIR

Merges independent runs (each the --out folder of one \`tessera reproduce STUDY --seed N --out runs/STUDY-sN\`, from
any machine) into claims decided over the seeds: per study, DIR/<study>/claims.json (the study's own rule over the
seeds, or the harness default: a verdict every seed agrees on, else inconclusive), results.json (seeds, every run's
verdicts and provenance), the figures of the lowest seed, and the dashboard DIR/index.html.

Refuses (exit 2) runs of different scales or code versions, a study and seed given twice, and studies run over
different seeds.`;

export const command: Command = {
  name: 'aggregate',
  summary: 'merge runs of several seeds (from any machines) into claims over seeds and the index page',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, { command: 'aggregate', values: ['out'] });
    const out = stringFlag(args, 'out');
    if (!out) throw new UserError('--out DIR is required: the folder that receives the aggregated claims and index page');
    const aggregates = aggregateRuns(args.positional, out);
    const index = writeIndex(path.resolve(out));
    console.log([...summaryLines([], aggregates).slice(0, -1), `dashboard: ${index}`].join('\n'));
    return 0;
  },
};
