import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../util/errors';
import { SCALES, Scale, StudyContext } from './types';

/** The project root (two levels above lib/studies). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export function parseScale(value: string): Scale {
  if (!(SCALES as readonly string[]).includes(value)) {
    throw new UserError(`unknown scale "${value}"; expected one of ${SCALES.join(', ')}`);
  }
  return value as Scale;
}

/** Checks that `dir` exists or can be created, and that we can write in it. */
export function ensureWritableDir(dir: string, what: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    const probe = path.join(dir, `.write-probe-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (err) {
    throw new UserError(
      `${what} "${dir}" is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass a folder you can write to`,
    );
  }
}

/** A validated context: known scale, an existing --data folder if given, a writable output folder. */
export function makeContext(opts: { study: string; scale: string; seed: number; outRoot: string; data?: string }): StudyContext {
  const scale = parseScale(opts.scale);
  if (!Number.isInteger(opts.seed) || opts.seed < 0) throw new UserError(`seed must be a non-negative integer, found ${opts.seed}`);
  let data: string | undefined;
  if (opts.data !== undefined) {
    data = path.resolve(opts.data);
    if (!fs.existsSync(data) || !fs.statSync(data).isDirectory()) {
      throw new UserError(`--data folder "${opts.data}" does not exist or is not a folder; pass the folder that holds your dataset`);
    }
  }
  const outRoot = path.resolve(opts.outRoot);
  const out = path.join(outRoot, opts.study);
  ensureWritableDir(out, 'output folder');
  return { study: opts.study, scale, seed: opts.seed, outRoot, out, data };
}

/**
 * The context for a notebook: the notebook runner passes the CLI's choices through TESSERA_SCALE, TESSERA_SEED,
 * TESSERA_OUT and TESSERA_DATA; opened by hand, a notebook runs the quick scale with seed 0 into figures/.
 */
export function notebookContext(study: string): StudyContext {
  const env = process.env;
  return makeContext({
    study,
    scale: env.TESSERA_SCALE ?? 'quick',
    seed: env.TESSERA_SEED !== undefined ? Number(env.TESSERA_SEED) : 0,
    outRoot: env.TESSERA_OUT ?? path.join(PROJECT_ROOT, 'figures'),
    data: env.TESSERA_DATA || undefined,
  });
}
