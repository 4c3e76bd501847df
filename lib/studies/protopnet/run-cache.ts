import * as fs from 'fs';
import * as path from 'path';
import { loadModel, saveModelFiles } from '../../models/io';
import { datasetFingerprint, defaultCacheDir, engineBuild, runKey } from '../../train/cache';
import type { TrainStage } from '../../train/trainer';
import { writeDirAtomic } from '../../util/atomic';
import { UserError } from '../../util/errors';
import { sourcesFingerprint } from '../../util/source-tokens';
import type { ProtoPNetData } from './session';
import type { ProtoPNetRun } from './train';

/**
 * The ProtoPNet run cache: a trained run (its model before pruning, the pruned model and every record of its schedule)
 * is kept in <cacheDir>/protopnet-<dataset>-run-<key>/ (model/, pruned/: model.json + weights.bin; run.json: the
 * records), so the study's second run and the scores study load it instead of training again. The key is the model
 * cache's own (lib/train/cache.ts runKey: backbone config, data, seed, engine build, lib/models + lib/train code), told
 * the ProtoPNet schedule as keyed stages: each stage's key names the plan's ProtoPNet fields, the test set (the
 * checkpoints predict it) and a fingerprint of this study's training code (train.ts, session.ts, this file).
 */

/** The run's records in run.json: everything of ProtoPNetRun but the two models. */
type RunRecords = Omit<ProtoPNetRun, 'model' | 'pruned' | 'fromCache' | 'key' | 'dir'>;

/** run.json: the records, the key, the engine that trained the run and when. */
type RunFile = RunRecords & { key: string; engine: ReturnType<typeof engineBuild>; date: string };

/** Study files whose code decides what a run trains and keeps. */
const STUDY_CODE = ['train', 'session', 'run-cache'];

let studyHash: string | null = null;

/** A fingerprint of the tokens of STUDY_CODE (formatting and comments aside, as codeFingerprint). */
export function studyCodeFingerprint(): string {
  if (studyHash) return studyHash;
  const files = STUDY_CODE.map((name): [string, string] => {
    const file = ['.ts', '.js'].map((ext) => path.join(__dirname, name + ext)).find((f) => fs.existsSync(f));
    if (!file) throw new Error(`protopnet run cache: ${name}.ts (or .js) not found in ${__dirname}`);
    return [name, file];
  });
  studyHash = sourcesFingerprint(files);
  return studyHash;
}

/**
 * The cache key of a run on `ds` whose schedule is `stages` (the trainer's stages then the pruned model's last-layer
 * stage; their functions are named by the keys given here).
 */
export function protoPNetRunKey(ds: ProtoPNetData, stages: TrainStage[]): string {
  const { label: _label, reasoningImages: _r, topPrototypes: _t, galleryPrototypes: _g, occlusion: _o, ...training } = ds.plan;
  const what = JSON.stringify({ protopnet: training, test: datasetFingerprint(ds.test), code: studyCodeFingerprint() });
  const keyed = stages.map((st) => ({ ...st, key: `protopnet ${st.name}: ${what}` }));
  const epochs = stages.reduce((a, st) => a + st.epochs, 0);
  return runKey({
    config: ds.plan.backbone,
    data: { train: ds.train, val: ds.val },
    train: { epochs, batchSize: ds.plan.batchSize, stages: keyed },
    seed: ds.seed,
  });
}

/** The folder of a run: <cacheDir>/protopnet-<dataset>-run-<key>. */
export function runDir(ds: ProtoPNetData, key: string, cacheDir = defaultCacheDir()): string {
  return path.join(cacheDir, `protopnet-${ds.plan.dataset}-run-${key}`);
}

/** Writes a run into `dir` atomically (a killed write leaves no half folder). */
export async function saveRun(dir: string, run: ProtoPNetRun): Promise<void> {
  const { model, pruned, fromCache: _f, key, dir: _d, ...records } = run;
  const file: RunFile = {
    key,
    engine: engineBuild(),
    date: new Date().toISOString(),
    ...records,
  };
  await writeDirAtomic(dir, async (tmp) => {
    for (const [name, m] of [
      ['model', model],
      ['pruned', pruned],
    ] as const) {
      fs.mkdirSync(path.join(tmp, name));
      await saveModelFiles(m, path.join(tmp, name), { tessera: { key, protopnet: name } });
    }
    fs.writeFileSync(path.join(tmp, 'run.json'), JSON.stringify(file) + '\n');
  });
}

/** Reads a run written by saveRun; null when `dir` holds none. */
export async function loadRun(dir: string): Promise<ProtoPNetRun | null> {
  const file = path.join(dir, 'run.json');
  if (!fs.existsSync(file)) return null;
  const { key, engine: _e, date: _d, ...records } = JSON.parse(fs.readFileSync(file, 'utf8')) as RunFile;
  for (const field of ['prototypeClasses', 'pushes', 'checkpoints', 'nearest', 'kept', 'history', 'pruneHistory'] as const) {
    if (records[field] === undefined)
      throw new UserError(`the cached ProtoPNet run ${dir} has no "${field}" in run.json; delete the folder to train it again`);
  }
  const model = await loadModel(path.join(dir, 'model'));
  const pruned = await loadModel(path.join(dir, 'pruned'));
  return { ...records, model, pruned, fromCache: true, key, dir };
}
