import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import { Rng } from '../util/rng';
import { UserError } from '../util/errors';
import { buildModel, loadModel, ModelConfig, modelName, saveModelFiles } from '../models/index';
import { writeDirAtomic } from '../util/atomic';
import { train, TrainOptions, TrainResult } from './trainer';

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

/** Training options that change the result (callbacks, paths and progress do not). */
type CachedTrainOptions = Omit<TrainOptions, 'augment' | 'checkpointDir' | 'resume' | 'runKey' | 'progress' | 'onEpoch' | 'onBatch'>;

export interface CacheRequest {
  config: ModelConfig;
  data: { train: Dataset; val?: Dataset };
  train: CachedTrainOptions;
  /** Seeds the weights (Rng(seed).fork('init')) and the training (data order, augmentation). */
  seed: number;
  /** Augmentation hook, with a string naming it and its parameters (part of the cache key). */
  augment?: { fn: TrainOptions['augment']; key: string };
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
  /** The training history and final metrics (from meta.json when loaded from the cache). */
  result: TrainResult;
  dir: string;
  fromCache: boolean;
  key: string;
}

/** The hash that names a run: config, input, training options, augmentation key, data content and seed. */
export function runKey(req: Pick<CacheRequest, 'config' | 'data' | 'train' | 'seed' | 'augment'>): string {
  const h = crypto.createHash('sha256');
  h.update(
    JSON.stringify({
      config: req.config,
      train: req.train,
      seed: req.seed,
      augment: req.augment?.key ?? null,
      data: { train: datasetFingerprint(req.data.train), val: req.data.val ? datasetFingerprint(req.data.val) : null },
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
    return { model: await loadModel(dir), result: meta.result as TrainResult, dir, fromCache: true, key };
  }
  const model = buildFor(req.config, req.data.train, req.seed);
  const ckpt = `${dir}.ckpt`;
  const result = await train(model, req.data, {
    ...req.train,
    seed: req.seed,
    augment: req.augment?.fn,
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
    data: { train: { name: req.data.train.name, split: req.data.train.split, size: req.data.train.size }, val: req.data.val ? { name: req.data.val.name, split: req.data.val.split, size: req.data.val.size } : null },
    backend: tf.getBackend(),
    date: new Date().toISOString(),
    result,
  };
  await writeDirAtomic(dir, async (tmp) => {
    await saveModelFiles(model, tmp, { tessera: { key, config: req.config } });
    fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  });
  fs.rmSync(ckpt, { recursive: true, force: true });
  return { model, result, dir, fromCache: false, key };
}
