import { UserError } from './errors';

/** Parsed command line: positional words and `--flag value` / `--flag=value` / boolean `--flag` options. */
export interface ParsedArgs {
  positional: string[];
  flags: Record<string, string | boolean>;
}

/**
 * Parses argv against the flags a command accepts. `booleans` take no value; every other flag needs one.
 * Unknown flags are an error naming the accepted ones, so a typo never silently falls back to a default.
 */
export function parseArgs(
  argv: readonly string[],
  spec: { values?: readonly string[]; booleans?: readonly string[]; command: string },
): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const booleans = new Set(spec.booleans ?? []);
  const out: ParsedArgs = { positional: [], flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      out.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    if (booleans.has(name)) {
      if (eq >= 0) throw new UserError(`${spec.command}: --${name} takes no value, found "${arg}"`);
      out.flags[name] = true;
    } else if (values.has(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith('--'))) {
        throw new UserError(`${spec.command}: --${name} needs a value`);
      }
      out.flags[name] = value;
    } else {
      const known = [...values, ...booleans].map((f) => `--${f}`).join(', ') || '(none)';
      throw new UserError(`${spec.command}: unknown option --${name}; accepted: ${known}`);
    }
  }
  return out;
}

/** A string flag, or the fallback. */
export function stringFlag(args: ParsedArgs, name: string, fallback: string): string;
export function stringFlag(args: ParsedArgs, name: string): string | undefined;
export function stringFlag(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : fallback;
}

/** An integer flag checked against a range. */
export function intFlag(args: ParsedArgs, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n)) throw new UserError(`--${name} expects an integer, found "${String(v)}"`);
  if (range.min !== undefined && n < range.min) throw new UserError(`--${name} must be at least ${range.min}, found ${n}`);
  if (range.max !== undefined && n > range.max) throw new UserError(`--${name} must be at most ${range.max}, found ${n}`);
  return n;
}

/** A float flag. */
export function numberFlag(args: ParsedArgs, name: string, fallback: number): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n)) throw new UserError(`--${name} expects a number, found "${String(v)}"`);
  return n;
}
