import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset';
import { loadDataset } from '../../data/index';
import { EngineInfo, initEngine } from '../../engine/index';
import { countParams } from '../../models/index';
import { buildFor, trainCached } from '../../train/cache';
import type { EpochRecord } from '../../train/trainer';
import { UserError } from '../../util/errors';
import { Rng } from '../../util/rng';
import type { StudyContext } from '../types';
import { DatasetPlan, PROTOPNET_CONFIGS, ProtoPNetStudyConfig } from './config';

/** The whole study's state: the context, the scale's config, the engine and the study's generator. */
export interface ProtoPNetSession {
  ctx: StudyContext;
  config: ProtoPNetStudyConfig;
  engine: EngineInfo;
  rng: Rng;
}

/** A plain CNN trained from scratch (the pre-trained backbone, or the baseline), from the model cache when there. */
export interface PlainModel {
  model: tf.LayersModel;
  epochs: number;
  params: number;
  history: EpochRecord[];
  trainSeconds: number;
  fromCache: boolean;
}

/**
 * One dataset loaded and its backbone pre-trained (or loaded): what ProtoPNet's training needs. Holds tensors (the
 * backbone and the test images `x`); `disposeData` frees them.
 */
export interface ProtoPNetData {
  plan: DatasetPlan;
  /** The study's seed (ctx.seed: the model cache keys carry it). */
  seed: number;
  /** Training images (also the push set: never augmented here), the held-out validation part, the test set. */
  train: Dataset;
  val: Dataset;
  test: Dataset;
  /** The dataset's generator (the study's, forked by the dataset name); steps fork it again by purpose. */
  rng: Rng;
  /** The backbone trained as a plain classifier for `plan.pretrain.epochs` (ProtoPNet starts from a copy of it). */
  pretrained: PlainModel;
  /** Every test image [n,H,W,C] in [0,1] and the labels. */
  x: tf.Tensor4D;
  labels: number[];
  /** Wall time of each step in seconds. */
  seconds: Record<string, number>;
}

/** One dataset with both plain CNNs: the pre-trained backbone and the baseline. `disposeDataset` frees its tensors. */
export interface DatasetSession extends ProtoPNetData {
  /** The same CNN trained for as many epochs as the pre-training plus ProtoPNet's warm and joint epochs (fair budget). */
  baseline: PlainModel;
}

/** Starts the study: engine, the config of ctx.scale, the generator seeded by ctx.seed. Trains nothing. */
export async function prepare(ctx: StudyContext, config: ProtoPNetStudyConfig = PROTOPNET_CONFIGS[ctx.scale]): Promise<ProtoPNetSession> {
  const engine = await initEngine();
  return { ctx, config, engine, rng: new Rng(ctx.seed) };
}

/** The plan of a dataset at the session's scale, by name. */
export function planOf(s: ProtoPNetSession, dataset: DatasetPlan['dataset']): DatasetPlan {
  const plan = s.config.datasets.find((d) => d.dataset === dataset);
  if (!plan) {
    const known = s.config.datasets.map((d) => d.dataset).join(', ');
    throw new UserError(`the ProtoPNet study has no dataset "${dataset}" at scale ${s.ctx.scale}; expected one of ${known}`);
  }
  return plan;
}

/** Epochs in which ProtoPNet's backbone or add-on learn (pre-training, warm, joint): the baseline's budget. */
export function baselineEpochs(plan: DatasetPlan): number {
  return plan.pretrain.epochs + plan.warm.epochs + plan.cycles * plan.joint.epochs;
}

async function loadSplits(plan: DatasetPlan, ctx: StudyContext): Promise<{ all: Dataset; test: Dataset }> {
  const seed = ctx.seed;
  const opts = { data: ctx.data, seed, imageSize: plan.imageSize, cropToBox: plan.dataset === 'cub' ? true : undefined };
  const [all, test] = await Promise.all([
    loadDataset(plan.dataset, { ...opts, split: 'train', limit: plan.trainPerClass, size: plan.trainSize }),
    loadDataset(plan.dataset, { ...opts, split: 'test', limit: plan.testPerClass, size: plan.testSize }),
  ]);
  return { all, test };
}

/** A plain CNN of the plan's backbone, trained for `epochs` from the model cache (the same request, the same key). */
async function plainModel(s: ProtoPNetSession, plan: DatasetPlan, data: { train: Dataset; val: Dataset }, epochs: number, role: string) {
  const cached = await trainCached({
    config: plan.backbone,
    data,
    train: { epochs, batchSize: plan.batchSize, optimizer: { type: 'adam', lr: plan.pretrain.lr }, schedule: { type: 'cosine' } },
    seed: s.ctx.seed,
    name: `protopnet-${plan.dataset}-${role}`,
    progress: `${plan.dataset} ${role} CNN`,
  });
  const trainSeconds = cached.result.history.reduce((a, h) => a + h.seconds, 0);
  const model: PlainModel = {
    model: cached.model,
    epochs,
    params: countParams(cached.model),
    history: cached.result.history,
    trainSeconds,
    fromCache: cached.fromCache,
  };
  return model;
}

/**
 * Loads a dataset (by name or plan), splits off validation images and trains or loads the pre-trained backbone: what
 * ProtoPNet needs (the scores study stops here; `load` adds the baseline).
 */
export async function loadData(s: ProtoPNetSession, dataset: DatasetPlan | DatasetPlan['dataset']): Promise<ProtoPNetData> {
  const plan = typeof dataset === 'string' ? planOf(s, dataset) : dataset;
  const rng = s.rng.fork(plan.dataset);
  const seconds: Record<string, number> = {};
  let t0 = Date.now();
  const { all, test } = await loadSplits(plan, s.ctx);
  const order = rng.fork('val-split').permutation(all.size);
  const nVal = Math.max(1, Math.round(all.size * plan.valFraction));
  const train = all.subset(order.slice(nVal));
  const val = all.subset(order.slice(0, nVal));
  seconds.data = (Date.now() - t0) / 1000;
  t0 = Date.now();
  const pretrained = await plainModel(s, plan, { train, val }, plan.pretrain.epochs, 'backbone');
  seconds.backbone = (Date.now() - t0) / 1000;
  const { x, y } = test.batch(Array.from({ length: test.size }, (_, i) => i));
  const labels = Array.from(y.dataSync());
  y.dispose();
  return { plan, seed: s.ctx.seed, train, val, test, rng, pretrained, x, labels, seconds };
}

/** Loads a dataset (by name or plan) as `loadData`, then trains or loads the baseline CNN of the same budget. */
export async function load(s: ProtoPNetSession, dataset: DatasetPlan | DatasetPlan['dataset']): Promise<DatasetSession> {
  const data = await loadData(s, dataset);
  const t0 = Date.now();
  const baseline = await plainModel(s, data.plan, data, baselineEpochs(data.plan), 'baseline');
  data.seconds.baseline = (Date.now() - t0) / 1000;
  return { ...data, baseline };
}

/** A copy of the pre-trained backbone (same architecture, weights copied): ProtoPNet trains it without touching the original. */
export function backboneCopy(ds: ProtoPNetData): tf.LayersModel {
  const copy = buildFor(ds.plan.backbone, ds.train, ds.rng.fork('backbone-copy').seed());
  copy.setWeights(ds.pretrained.model.getWeights());
  return copy;
}

/** Frees a dataset's tensors (its plain models and test images). */
export function disposeDataset(ds: ProtoPNetData | DatasetSession): void {
  ds.x.dispose();
  ds.pretrained.model.dispose();
  if ('baseline' in ds) ds.baseline.model.dispose();
}

/** Runs one step, recording its wall time as ds.seconds[name]. */
export async function timed<T>(ds: ProtoPNetData, name: string, step: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await step();
  ds.seconds[name] = (Date.now() - t0) / 1000;
  return out;
}
