/** One `tessera` subcommand. `run` returns the process exit code. */
export interface Command {
  name: string;
  /** One line for `tessera --help`. */
  summary: string;
  /** Full usage text for `tessera <name> --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}
