import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as os from 'os';
import * as path from 'path';
import { currentEngine, EngineInfo } from '../engine/index';
import type { StudyContext } from '../studies/types';
import { LoopTime, loopTimes } from '../util/progress';
import { ModelUse, modelsUsed } from '../util/provenance';
import type { CellTime } from './progress-relay';

const ROOT = path.resolve(__dirname, '..', '..');

/** Which code ran: the git commit, whether tracked files differed from it, and a hash of that difference. */
export interface CodeVersion {
  commit: string;
  dirty: boolean;
  /** sha256 (16 hex) of `git diff HEAD` when dirty: two dirty runs with the same edits share it. */
  diffHash?: string;
  /** 'git', or 'TESSERA_CODE_VERSION' when the environment named the version (a tarball without git, a test). */
  source: 'git' | 'TESSERA_CODE_VERSION' | 'unknown';
}

/** What a run was, recorded in results.json `provenance` (the index page shows it; `tessera aggregate` checks it). */
export interface Provenance {
  study: string;
  scale: string;
  seed: number;
  code: CodeVersion;
  engine: EngineInfo | null;
  versions: { node: string; tfjs: string; libtorch: string | null; tslab: string | null };
  host: { platform: string; arch: string; cpus: number; cpuModel: string };
  /** ISO time results.json was written. */
  savedAt: string;
  /** Every progress loop of the run with its wall time (training epochs, sweeps...). */
  loops: LoopTime[];
  /** Trained models the run used, and whether each came from the model cache. */
  models: ModelUse[];
  /** Set by the harness after the run: how it ran, its wall time and the time of each notebook cell. */
  via?: 'notebook' | 'cli';
  seconds?: number;
  steps?: CellTime[];
}

function git(args: string[]): string | null {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return r.status === 0 ? r.stdout : null;
}

/** The code version: TESSERA_CODE_VERSION when set, else git's HEAD and the state of tracked files. */
export function codeVersion(): CodeVersion {
  const named = process.env.TESSERA_CODE_VERSION;
  if (named) return { commit: named, dirty: false, source: 'TESSERA_CODE_VERSION' };
  const commit = git(['rev-parse', 'HEAD'])?.trim();
  if (!commit) return { commit: 'unknown', dirty: false, source: 'unknown' };
  const diff = git(['diff', 'HEAD', '--no-color', '--no-ext-diff']) ?? '';
  if (!diff) return { commit, dirty: false, source: 'git' };
  return { commit, dirty: true, diffHash: crypto.createHash('sha256').update(diff).digest('hex').slice(0, 16), source: 'git' };
}

/** "a1b2c3d4e5f6" or "a1b2c3d4e5f6+dirty:0123abcd": one string that equal code versions share. */
export function codeVersionLabel(v: CodeVersion): string {
  const commit = v.source === 'git' ? v.commit.slice(0, 12) : v.commit;
  return v.dirty ? `${commit}+dirty:${v.diffHash ?? '?'}` : commit;
}

function packageVersion(name: string): string | null {
  try {
    return (require(require.resolve(`${name}/package.json`, { paths: [ROOT] })) as { version: string }).version;
  } catch {
    return null;
  }
}

function libtorchVersion(): string | null {
  try {
    return (require('tfjs-backend-torch') as { info(): { version?: string } | null }).info()?.version ?? null;
  } catch {
    return null;
  }
}

/** The provenance this process knows when a study's output is saved (the harness adds via, seconds and steps). */
export function collectProvenance(ctx: StudyContext): Provenance {
  const cpus = os.cpus();
  const engine = currentEngine();
  return {
    study: ctx.study,
    scale: ctx.scale,
    seed: ctx.seed,
    code: codeVersion(),
    engine,
    versions: {
      node: process.version,
      tfjs: packageVersion('@tensorflow/tfjs') ?? '?',
      libtorch: engine?.backend === 'torch' ? libtorchVersion() : null,
      tslab: packageVersion('tslab'),
    },
    host: { platform: process.platform, arch: process.arch, cpus: cpus.length, cpuModel: cpus[0]?.model ?? '?' },
    savedAt: new Date().toISOString(),
    loops: loopTimes(),
    models: modelsUsed(),
  };
}
