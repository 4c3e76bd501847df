import { getStudy, studyNames } from '../studies/index';
import { parseArgs } from '../util/args';
import type { Command } from './command';

export const command: Command = {
  name: 'list',
  summary: 'list the studies',
  usage: 'usage: tessera list [--json]\n\nLists the studies `tessera reproduce` knows, with their papers and notebooks.',
  async run(argv) {
    const args = parseArgs(argv, { command: 'list', booleans: ['json'] });
    const studies = studyNames().map((n) => getStudy(n));
    if (args.flags.json) {
      console.log(
        JSON.stringify(
          studies.map(({ name, title, paper, summary, notebook }) => ({ name, title, paper, summary, notebook })),
          null,
          2,
        ),
      );
      return 0;
    }
    for (const s of studies) {
      console.log(`${s.name}\n  ${s.title} — ${s.paper}\n  ${s.summary}${s.notebook ? `\n  notebook: ${s.notebook}` : ''}\n`);
    }
    return 0;
  },
};
