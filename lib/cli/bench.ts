import { parseArgs, intFlag, stringFlag } from '../util/args';
import { UserError } from '../util/errors';
import type { Command } from './command';

export const command: Command = {
  name: 'bench',
  summary: 'benchmark the training/inference engine (JSON)',
  usage:
    'usage: tessera bench [--reps N] [--nets reference,conv64,bagnet,antialiased]\n\nTrains and runs the benchmark nets on the chosen ' +
    'backend (and PyTorch, when /usr/bin/python3 imports torch) and prints one JSON object of images per second.',
  async run(argv) {
    const args = parseArgs(argv, { command: 'bench', values: ['reps', 'nets'] });
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { runBench, BENCH_NETS } = require('../engine/bench') as typeof import('../engine/bench');
    const nets = stringFlag(args, 'nets', BENCH_NETS.join(','))
      .split(',')
      .map((n) => n.trim());
    const unknown = nets.filter((n) => !(BENCH_NETS as readonly string[]).includes(n));
    if (unknown.length)
      throw new UserError(
        `bench: unknown net ${unknown.join(', ')}; expected a comma-separated list of ${BENCH_NETS.join(', ')}, e.g. --nets conv64,bagnet`,
      );
    const result = await runBench({ reps: intFlag(args, 'reps', 3, { min: 1 }), nets: nets as (typeof BENCH_NETS)[number][] });
    console.log(JSON.stringify(result));
    return 0;
  },
};
