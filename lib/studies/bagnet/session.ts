import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset';
import { EngineInfo, initEngine } from '../../engine/index';
import { UserError } from '../../util/errors';
import { Rng } from '../../util/rng';
import type { StudyContext } from '../types';
import { BAGNET_CONFIGS, BagNetStudyConfig, DatasetPlan } from './config';
import { loadData } from './data';
import { TrainedModel, trainModels } from './models';

/** The whole study's state: the context, the scale's config, the engine and the seeded generator of every dataset. */
export interface BagNetSession {
  ctx: StudyContext;
  config: BagNetStudyConfig;
  engine: EngineInfo;
  rng: Rng;
}

/** How many of the evaluation images each experiment uses (the plan's numbers, capped by the test set). */
export interface EvalCounts {
  /** Accuracy, scrambling and error correlation. */
  eval: number;
  /** Patch-mean check, patch-logit maps, gallery and wrong predictions (at most 64). */
  check: number;
  heatmap: number;
  removal: number;
  /** Pointing game; 0 without a pointing plan. */
  pointing: number;
  /** Per-pixel sweeps: enough for the heatmaps, the removal and the pointing game. */
  sweep: number;
}

/**
 * One dataset loaded, its models trained (or loaded) once: every step takes this. Holds tensors (the models and the
 * evaluation images `x`); `disposeDataset` frees them.
 */
export interface DatasetSession {
  plan: DatasetPlan;
  train: Dataset;
  /** The validation split carved from the training images. */
  val: Dataset;
  test: Dataset;
  /** The dataset's generator (the study's, forked by the dataset name); steps fork it again by experiment. */
  rng: Rng;
  /** The study's bootstrap resamples (config.resamples). */
  resamples: number;
  /** BagNets by increasing q, then the CNNs shallowest first. */
  models: TrainedModel[];
  bagnets: TrainedModel[];
  cnns: TrainedModel[];
  /** The BagNet with the largest q. */
  largest: TrainedModel;
  /** The first `counts.eval` test images [n,H,W,C] in [0,1] and their labels [n]. */
  x: tf.Tensor4D;
  labels: number[];
  counts: EvalCounts;
  /** Wall time of each step in seconds, by step name (results.json `seconds`). */
  seconds: Record<string, number>;
}

/** Starts the study: the engine, the config of ctx.scale and a generator seeded by ctx.seed. Trains nothing. */
export async function prepare(ctx: StudyContext): Promise<BagNetSession> {
  const engine = await initEngine();
  return { ctx, config: BAGNET_CONFIGS[ctx.scale], engine, rng: new Rng(ctx.seed) };
}

/** The plan of a dataset at the session's scale, by name. */
export function planOf(bag: BagNetSession, dataset: DatasetPlan['dataset']): DatasetPlan {
  const plan = bag.config.datasets.find((d) => d.dataset === dataset);
  if (!plan) {
    const known = bag.config.datasets.map((d) => d.dataset).join(', ');
    throw new UserError(`the BagNet study has no dataset "${dataset}" at scale ${bag.ctx.scale}; expected one of ${known}`);
  }
  return plan;
}

/** Loads a dataset (by name or plan), trains or loads its models and takes the evaluation images. */
export async function load(bag: BagNetSession, dataset: DatasetPlan | DatasetPlan['dataset']): Promise<DatasetSession> {
  const plan = typeof dataset === 'string' ? planOf(bag, dataset) : dataset;
  const seconds: Record<string, number> = {};
  let t0 = Date.now();
  const { train, val, test } = await loadData(plan, bag.ctx);
  seconds.data = (Date.now() - t0) / 1000;
  t0 = Date.now();
  const models = await trainModels(plan, { train, val }, bag.ctx.seed);
  seconds.training = (Date.now() - t0) / 1000;
  const nEval = Math.min(plan.evalImages, test.size);
  const { x, y } = test.batch(Array.from({ length: nEval }, (_, i) => i));
  const labels = Array.from(y.dataSync());
  y.dispose();
  const bagnets = models.filter((m) => m.kind === 'bagnet');
  return {
    plan,
    train,
    val,
    test,
    rng: bag.rng.fork(plan.dataset),
    resamples: bag.config.resamples,
    models,
    bagnets,
    cnns: models.filter((m) => m.kind === 'cnn'),
    largest: bagnets[bagnets.length - 1],
    x,
    labels,
    counts: evalCounts(plan, nEval),
    seconds,
  };
}

/** The counts of a plan given nEval evaluation images. */
export function evalCounts(plan: DatasetPlan, nEval: number): EvalCounts {
  const check = Math.min(64, nEval);
  const heatmap = Math.min(plan.heatmapImages, check);
  const removal = Math.min(plan.removal.images, nEval);
  const pointing = plan.pointing ? Math.min(plan.pointing.images, nEval) : 0;
  return { eval: nEval, check, heatmap, removal, pointing, sweep: Math.max(heatmap, removal, pointing) };
}

/** Frees a dataset's tensors (its models and evaluation images); the session is unusable afterwards. */
export function disposeDataset(ds: DatasetSession): void {
  ds.x.dispose();
  for (const m of ds.models) m.model.dispose();
}

/** Runs one step, recording its wall time as ds.seconds[name]. */
export function timed<T>(ds: DatasetSession, name: string, step: () => T): T {
  const t0 = Date.now();
  const out = step();
  ds.seconds[name] = (Date.now() - t0) / 1000;
  return out;
}

/** The first n images of x (a new tensor the caller disposes). */
export function firstImages(x: tf.Tensor4D, n: number): tf.Tensor4D {
  return x.slice([0, 0, 0, 0], [n, -1, -1, -1]);
}
