import type { Command } from './command';
import { UserError } from '../util/errors';

/**
 * The subcommands, loaded lazily so that `tessera list` does not pay for TensorFlow.js. To add one, write
 * lib/cli/<name>.ts exporting `command: Command` and add a line here.
 */
const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  list: { summary: 'list the studies and their claims', load: () => require('./list').command },
  reproduce: { summary: 'run studies and write figures, claims and reports', load: () => require('./reproduce').command },
  aggregate: {
    summary: 'merge runs of several seeds (from any machines) into claims over seeds and the index page',
    load: () => require('./aggregate').command,
  },
  notebook: { summary: 'execute notebooks headless to .ipynb and HTML', load: () => require('./notebook').command },
  bench: { summary: 'benchmark the training/inference engine (JSON)', load: () => require('./bench').command },
  data: { summary: 'describe a dataset or write a grid of samples with ground-truth overlays', load: () => require('./data').command },
  train: {
    summary: 'train a model (bagnet, vgg, resnet, gap) with checkpoints; prints a JSON line',
    load: () => require('./train').command,
  },
  explain: {
    summary: "explain a tfjs model's predictions on PNG/JPEG images with any method: overlay PNGs, maps as JSON",
    load: () => require('./explain').command,
  },
  serve: {
    summary: 'serve the user-study task sets to participants in the browser; answers stored durably',
    load: () => require('./serve').command,
  },
  'user-study': {
    summary: "build the user-study tables from the stored answers (CSV and the study's report)",
    load: () => require('./user-study').command,
  },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return ['usage: tessera <command> [options]', '', 'commands:', ...lines, '', 'tessera <command> --help for its options.'].join('\n');
}

/** Runs the CLI; returns the exit code. User errors print their message alone; bugs print their stack. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`tessera: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  const command = entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UserError) {
      // Messages from parseArgs and the commands already start with the command's name.
      console.error(`tessera ${name}: ${err.message.startsWith(`${name}: `) ? err.message.slice(name.length + 2) : err.message}`);
      return 2;
    }
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    return 1;
  }
}
