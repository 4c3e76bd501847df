import * as path from 'path';
import { tableText } from '../plot/table';
import { PROJECT_ROOT } from '../studies/context';
import { intFlag, parseArgs, stringFlag } from '../util/args';
import { UserError } from '../util/errors';
import { analyzeStoredAnswers, plural } from '../userstudy/analyze';
import { defaultDbFile } from '../userstudy/store';
import { USER_STUDY_DIR } from '../userstudy/tasks';
import type { Command } from './command';

const USAGE = `usage: tessera user-study analyze [--out DIR] [--db FILE] [--seed N]

Builds each study's user-study tables from the answers that \`tessera serve\` stored, with the same code the studies
run on simulated answers (lib/userstudy/analysis.ts), and writes them as CSV (<out>/<study>/${USER_STUDY_DIR}/tables/),
as a page (<out>/<study>/${USER_STUDY_DIR}/report.html) and into the study's report.html when it exists.

options:
  --out DIR    folder with the studies' outputs and task sets (default figures/)
  --db FILE    the answers' database (default <out>/${USER_STUDY_DIR}/responses.sqlite)
  --seed N     seed of the bootstrap intervals (default 0)`;

export const command: Command = {
  name: 'user-study',
  summary: "build the user-study tables from the stored answers (CSV and the study's report)",
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, { command: 'user-study', values: ['out', 'db', 'seed'] });
    const [verb, ...extra] = args.positional;
    if (verb !== 'analyze' || extra.length) {
      throw new UserError(`user-study: expected the verb "analyze", found "${args.positional.join(' ')}"; see tessera user-study --help`);
    }
    const out = path.resolve(stringFlag(args, 'out', path.join(PROJECT_ROOT, 'figures')));
    const db = path.resolve(stringFlag(args, 'db', defaultDbFile(out)));
    const studies = analyzeStoredAnswers({ out, db, seed: intFlag(args, 'seed', 0, { min: 0 }) });
    for (const s of studies) {
      const who = `${plural(s.answers, 'answer')} from ${plural(s.participants, 'participant')}`;
      console.log(`${s.study}: ${who}; tables in ${path.dirname(s.csvFiles[0])}`);
      for (const t of s.tables) console.log(`\n${t.caption}\n${t.rows.length ? tableText(t.rows) : '(no rows)'}`);
      console.log(`\nreport: ${s.report}${s.studyReport ? ` and a section in ${s.studyReport}` : ''}\n`);
    }
    return 0;
  },
};
