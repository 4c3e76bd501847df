import { parseArgs, intFlag, stringFlag } from '../util/args';
import { UserError } from '../util/errors';
import type { Command } from './command';

export const command: Command = {
  name: 'bench',
  summary: 'benchmark the training/inference engine (JSON)',
  usage:
    'usage: tessera bench [--reps N] [--rounds N] [--nets reference,conv64,bagnet,antialiased] [--loops]\n\n' +
    'Trains and runs the benchmark ' +
    'nets on the chosen backend and in PyTorch (both memory formats, when /usr/bin/python3 imports torch) in --rounds ' +
    'paired rounds (default 8): in each, every side makes one timed run (the best of --reps, default 1) back to back. ' +
    "Prints a table (stderr) and one JSON object (stdout): images per second, the paired ratio to PyTorch's better " +
    'format with its 95% interval over rounds and whether the engine is at least as fast, GFLOP/s and the fraction ' +
    "of the machine's limit (a large matmul and conv through the engine). --loops adds images/s inside a sliding " +
    'window, occlusion and a shift sweep on the reference net, against its plain predict.',
  async run(argv) {
    const args = parseArgs(argv, { command: 'bench', values: ['reps', 'rounds', 'nets'], booleans: ['loops'] });
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { runBench, formatBenchTable, BENCH_NETS, BENCH_DEFAULTS } = require('../engine/bench') as typeof import('../engine/bench');
    const nets = stringFlag(args, 'nets', BENCH_NETS.join(','))
      .split(',')
      .map((n) => n.trim());
    const unknown = nets.filter((n) => !(BENCH_NETS as readonly string[]).includes(n));
    if (unknown.length)
      throw new UserError(
        `bench: unknown net ${unknown.join(', ')}; expected a comma-separated list of ${BENCH_NETS.join(', ')}, e.g. --nets conv64,bagnet`,
      );
    const result = await runBench({
      reps: intFlag(args, 'reps', BENCH_DEFAULTS.reps, { min: 1 }),
      rounds: intFlag(args, 'rounds', BENCH_DEFAULTS.rounds, { min: 2 }),
      nets: nets as (typeof BENCH_NETS)[number][],
    });
    process.stderr.write(formatBenchTable(result) + '\n');
    if (args.flags.loops === true) {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { benchLoops } = require('./bench-loops') as typeof import('./bench-loops');
      const loops = benchLoops(intFlag(args, 'reps', 3, { min: 1 }));
      process.stderr.write(loops.map((l) => `${l.loop}: ${l.images_per_s} img/s (${l.of_predict}x predict)`).join('\n') + '\n');
      console.log(JSON.stringify({ ...result, loops }));
      return 0;
    }
    console.log(JSON.stringify(result));
    return 0;
  },
};
