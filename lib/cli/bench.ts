import { parseArgs, intFlag } from '../util/args';
import type { Command } from './command';

export const command: Command = {
  name: 'bench',
  summary: 'benchmark the training/inference engine (JSON)',
  usage: 'usage: tessera bench [--reps N]\n\nTrains and runs the benchmark nets on the chosen backend (and PyTorch, when /usr/bin/python3 imports torch) and prints one JSON object of images per second.',
  async run(argv) {
    const args = parseArgs(argv, { command: 'bench', values: ['reps'] });
    const { runBench } = require('../engine/bench') as { runBench(opts: { reps?: number }): Promise<object> };
    const result = await runBench({ reps: intFlag(args, 'reps', 3, { min: 1 }) });
    console.log(JSON.stringify(result));
    return 0;
  },
};
