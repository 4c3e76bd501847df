import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import { Rng } from '../util/rng';
import { sourcesFingerprint } from '../util/source-tokens';
import { UserError } from '../util/errors';
import { buildModel, loadModel, ModelConfig, modelName, saveModelFiles } from '../models/index';
import { writeDirAtomic } from '../util/atomic';
import { recordModel } from '../util/provenance';
import { LossFn, train, TrainOptions, TrainResult } from './trainer';

/** The project's model cache: <repo>/data/models, or $TESSERA_MODELS. */
export function defaultCacheDir(): string {
  return process.env.TESSERA_MODELS ?? path.resolve(__dirname, '..', '..', 'data', 'models');
}

/** A fingerprint of a dataset's content (name, split, shape, classes, every byte and label). */
export function datasetFingerprint(ds: Dataset): string {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ name: ds.name, split: ds.split, shape: ds.imageShape, classes: ds.classNames, n: ds.size }));
  h.update(ds.images);
  h.update(new Uint8Array(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
  return h.digest('hex');
}

/**
 * Training options that change the result (callbacks, paths and progress do not). The loss hook comes separately,
 * with a key; stages with function-valued fields need a `key` of their own (see runKey).
 */
type CachedTrainOptions = Omit<
  TrainOptions,
  'augment' | 'loss' | 'checkpointDir' | 'resume' | 'runKey' | 'progress' | 'onEpoch' | 'onBatch'
>;

export interface CacheRequest {
  config: ModelConfig;
  data: { train: Dataset; val?: Dataset };
  train: CachedTrainOptions;
  /** Seeds the weights (Rng(seed).fork('init')) and the training (data order, augmentation). */
  seed: number;
  /** Augmentation hook, with a string naming it and its parameters (part of the cache key). */
  augment?: { fn: TrainOptions['augment']; key: string };
  /** Loss hook (default softmax cross-entropy), with a string naming it and its parameters (part of the cache key). */
  loss?: { fn: LossFn; key: string };
  /** Folder name prefix (default modelName(config)). */
  name?: string;
  cacheDir?: string;
  /** Progress bar label, or false. */
  progress?: string | false;
  /** Ignore (and replace) a cached model. */
  retrain?: boolean;
}

export interface CachedModel {
  model: tf.LayersModel;
  /** The engine that trained it (the backend and build, as in the key; from meta.json when loaded). */
  engine: EngineBuild;
  /** The training history and final metrics (from meta.json when loaded from the cache). */
  result: TrainResult;
  dir: string;
  fromCache: boolean;
  key: string;
}

/** The engine a model is trained on: tfjs backend, tfjs version and the backend package's build. */
export interface EngineBuild {
  backend: string;
  tfjs: string;
  build: string;
}

/** The backend packages whose version (and native build) changes the numbers, by tfjs backend name. */
const BACKEND_PACKAGES: Record<string, string> = {
  torch: 'tfjs-backend-torch',
  wasm: '@tensorflow/tfjs-backend-wasm',
  tensorflow: '@tensorflow/tfjs-node',
};

/** The engine in use now (call after initEngine). */
export function engineBuild(): EngineBuild {
  const backend = tf.getBackend();
  const pkg = BACKEND_PACKAGES[backend];
  let build = 'tfjs ' + tf.version_core;
  if (pkg) {
    try {
      build = `${pkg} ${require(`${pkg}/package.json`).version}`;
      const info = (require(pkg) as { info?: () => { version?: string } | null }).info?.();
      if (info?.version) build += ` (libtorch ${info.version})`;
    } catch {
      build = `${pkg} (version unknown)`;
    }
  }
  return { backend, tfjs: tf.version_core, build };
}

let codeHash: string | null = null;

/**
 * A fingerprint of the code that builds and trains a model: the tokens of every source file of lib/models and
 * lib/train (sorted by name). Any change to that code gives new cache keys, so old models retrain rather than being
 * reused unchecked; reformatting and comments do not (sourceTokens), so a prettier run keeps the cache.
 */
export function codeFingerprint(): string {
  if (codeHash) return codeHash;
  const files = [path.resolve(__dirname, '..', 'models'), __dirname].flatMap((dir) =>
    fs
      .readdirSync(dir)
      .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .sort()
      .map((f): [string, string] => [`${path.basename(dir)}/${f}`, path.join(dir, f)]),
  );
  codeHash = sourcesFingerprint(files);
  return codeHash;
}

/**
 * The hash that names a run: config, input, training options, augmentation and loss keys, data content and seed,
 * the engine build (engineBuild) and the model and trainer code (codeFingerprint).
 * JSON cannot see a function, so a stage whose trainable predicate, loss or onStart is a function must carry a `key`
 * naming it (else two runs differing only there would share a key, and a cache hit would return the wrong model).
 */
export function runKey(req: Pick<CacheRequest, 'config' | 'data' | 'train' | 'seed' | 'augment' | 'loss'>): string {
  for (const st of req.train.stages ?? []) {
    const fns = [st.trainable, st.loss, st.onStart, ...(st.groups ?? []).map((g) => g.trainable)];
    if (fns.some((f) => typeof f === 'function') && !st.key) {
      throw new UserError(
        `stage "${st.name}" has a function (trainable, loss or onStart) but no \`key\`; ` +
          'give it a key naming the function and its parameters so the model cache can tell runs apart',
      );
    }
  }
  const h = crypto.createHash('sha256');
  h.update(
    JSON.stringify({
      config: req.config,
      train: req.train,
      seed: req.seed,
      augment: req.augment?.key ?? null,
      data: { train: datasetFingerprint(req.data.train), val: req.data.val ? datasetFingerprint(req.data.val) : null },
      ...(req.loss ? { loss: req.loss.key } : {}),
      engine: engineBuild(),
      code: codeFingerprint(),
    }),
  );
  return h.digest('hex').slice(0, 16);
}

/** Builds the model for a config and dataset, its weights seeded by `seed`. */
export function buildFor(config: ModelConfig, data: Dataset, seed: number): tf.LayersModel {
  return buildModel(config, { inputShape: data.imageShape, numClasses: data.numClasses }, new Rng(seed).fork('init'));
}

/**
 * Trains a model once and reuses it: the result lives in <cacheDir>/<name>-<key>/ (model.json, weights.bin,
 * meta.json with the history). A changed config, option, dataset or seed gives another key and trains anew. While
 * training, checkpoints go to <name>-<key>.ckpt/, so a killed run resumes where it stopped.
 */
export async function trainCached(req: CacheRequest): Promise<CachedModel> {
  if (req.train.epochs < 1) throw new UserError('trainCached needs at least one epoch');
  const key = runKey(req);
  const root = req.cacheDir ?? defaultCacheDir();
  const dir = path.join(root, `${req.name ?? modelName(req.config)}-${key}`);
  const metaFile = path.join(dir, 'meta.json');
  if (!req.retrain && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    recordModel({ name: path.basename(dir), key, fromCache: true, seconds: 0 });
    const engine: EngineBuild = meta.engine ?? { backend: meta.backend, tfjs: 'unknown', build: 'unknown' };
    return { model: await loadModel(dir), engine, result: meta.result as TrainResult, dir, fromCache: true, key };
  }
  const model = buildFor(req.config, req.data.train, req.seed);
  const trainStart = Date.now();
  const ckpt = `${dir}.ckpt`;
  const result = await train(model, req.data, {
    ...req.train,
    seed: req.seed,
    augment: req.augment?.fn,
    loss: req.loss?.fn,
    checkpointDir: ckpt,
    resume: !req.retrain,
    runKey: key,
    progress: req.progress ?? modelName(req.config),
  });
  const meta = {
    key,
    config: req.config,
    train: req.train,
    seed: req.seed,
    augment: req.augment?.key ?? null,
    loss: req.loss?.key ?? null,
    data: {
      train: { name: req.data.train.name, split: req.data.train.split, size: req.data.train.size },
      val: req.data.val ? { name: req.data.val.name, split: req.data.val.split, size: req.data.val.size } : null,
    },
    backend: tf.getBackend(),
    engine: engineBuild(),
    code: codeFingerprint(),
    date: new Date().toISOString(),
    result,
  };
  await writeDirAtomic(dir, async (tmp) => {
    await saveModelFiles(model, tmp, { tessera: { key, config: req.config } });
    fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  });
  fs.rmSync(ckpt, { recursive: true, force: true });
  recordModel({ name: path.basename(dir), key, fromCache: false, seconds: (Date.now() - trainStart) / 1000 });
  return { model, engine: engineBuild(), result, dir, fromCache: false, key };
}
