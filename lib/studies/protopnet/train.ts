import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  buildProtoPNet,
  classIdentity,
  distanceLayer,
  keepPrototypes,
  lossModel,
  nearestPatches,
  NearestPatches,
  PROTO_LAYERS,
  prototypeCosts,
  prototypesPerClass,
  pushPrototypes,
  PushRecord,
} from '../../models/prototype';
import { argmaxRows, predictLogits } from '../../train/metrics';
import { EpochRecord, LossFn, train, TrainStage } from '../../train/trainer';
import { recordModel } from '../../util/provenance';
import type { DatasetPlan } from './config';
import { loadRun, protoPNetRunKey, runDir, saveRun } from './run-cache';
import { backboneCopy, ProtoPNetData, timed } from './session';

/** The add-on, prototype and last-layer weights; everything else is the backbone. */
const ADDON = [`${PROTO_LAYERS.addon}/`, `${PROTO_LAYERS.latent}/`];
const PROTOTYPES = [`${PROTO_LAYERS.distances}/`];
const LAST = [`${PROTO_LAYERS.logits}/`];
const isBackbone = (w: tf.LayerVariable) => ![...ADDON, ...PROTOTYPES, ...LAST].some((p) => w.originalName.startsWith(p));

/** Predicted classes of the test images at one point of the schedule. */
export interface Checkpoint {
  /** 'before push', 'after push', 'after last layer', 'after pruning' (with the cycle for the first three). */
  name: string;
  cycle: number;
  predictions: number[];
}

/** A trained ProtoPNet with everything its schedule produced. The model holds tensors (disposeRun frees them). */
export interface ProtoPNetRun {
  /** The model after the last cycle's last-layer stage (before pruning). */
  model: tf.LayersModel;
  /** The model after pruning and its last-layer stage. */
  pruned: tf.LayersModel;
  prototypeClasses: number[];
  /** Per push cycle, where every prototype went. */
  pushes: PushRecord[][];
  /** Test predictions before/after each push and last-layer stage, and after pruning. */
  checkpoints: Checkpoint[];
  /** The k nearest training patches of every prototype of `model` (what pruning decides on). */
  nearest: NearestPatches;
  /** Prototypes kept by pruning (indices into `model`'s). */
  kept: number[];
  history: EpochRecord[];
  pruneHistory: EpochRecord[];
  trainSeconds: number;
  /** Loaded from the run cache (run-cache.ts) rather than trained now; its key and folder there. */
  fromCache: boolean;
  key: string;
  dir: string;
}

/**
 * The paper's loss for every stage: CE + 0.8 Clst - 0.08 Sep + 1e-4 L1 (plan.coefficients), computed from one forward
 * pass through a view of the model that also returns the min distances. Clst and Sep reach no weight of the
 * last-layer stage, L1 none of the others, as in the reference.
 */
export function protoPNetLoss(model: tf.LayersModel, plan: DatasetPlan, numClasses: number): LossFn {
  const view = lossModel(model);
  const classes = distanceLayer(model).prototypeClasses;
  const identity = tf.keep(classIdentity(classes, numClasses));
  const c = plan.coefficients;
  return (ctx) => {
    const [logits, minDistances] = view.apply(ctx.x, { training: true }) as [tf.Tensor2D, tf.Tensor2D];
    const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(ctx.y, ctx.numClasses), logits) as tf.Scalar;
    const costs = prototypeCosts(
      minDistances,
      ctx.y,
      identity,
      ctx.weight(`${PROTO_LAYERS.logits}/kernel`) as tf.Tensor as tf.Tensor2D,
      plan.channels,
    );
    const terms = [
      tf.mul(c.crossEntropy, ce),
      tf.mul(c.cluster, costs.cluster),
      tf.mul(c.separation, costs.separation),
      tf.mul(c.l1, costs.l1),
    ];
    return { loss: tf.addN(terms) as tf.Scalar, logits };
  };
}

/** The warm, joint and last-layer stages of the paper's schedule, with `push` run at the start of every last-layer stage. */
export function protoPNetStages(plan: DatasetPlan, loss: LossFn, push: TrainStage['onStart']): TrainStage[] {
  const adam = (lr: number, weightDecay = 0) => ({ type: 'adam' as const, lr, weightDecay });
  const warm: TrainStage = {
    name: 'warm',
    epochs: plan.warm.epochs,
    groups: [
      { trainable: ADDON, optimizer: adam(plan.warm.lr, plan.warm.weightDecay) },
      { trainable: PROTOTYPES, optimizer: adam(plan.warm.lr) },
    ],
    loss,
  };
  const j = plan.joint;
  const joint: TrainStage = {
    name: 'joint',
    epochs: j.epochs,
    groups: [
      { trainable: isBackbone, optimizer: adam(j.featuresLr, j.weightDecay) },
      { trainable: ADDON, optimizer: adam(j.lr, j.weightDecay) },
      { trainable: PROTOTYPES, optimizer: adam(j.lr) },
    ],
    schedule: { type: 'step', stepEpochs: j.stepEpochs, gamma: j.gamma },
    loss,
  };
  const last: TrainStage = {
    name: 'last layer',
    epochs: plan.lastLayer.epochs,
    trainable: LAST,
    optimizer: adam(plan.lastLayer.lr),
    loss,
    onStart: push,
  };
  return [warm, ...Array.from({ length: plan.cycles }, () => [joint, last]).flat()];
}

/** The pruned model's last-layer stage (the reference's last-layer iterations after prune_prototypes). */
export function pruneStage(plan: DatasetPlan, loss: LossFn): TrainStage {
  return {
    name: 'last layer after pruning',
    epochs: plan.prune.lastEpochs,
    trainable: LAST,
    optimizer: { type: 'adam', lr: plan.lastLayer.lr },
    loss,
  };
}

export interface TrainProtoPNetOptions {
  /** Model cache folder (default the project's, or $TESSERA_MODELS). */
  cacheDir?: string;
  /** Train even when the cache holds the run (and replace it). */
  retrain?: boolean;
}

/**
 * ProtoPNet on `ds`, trained once and reused: from the run cache (run-cache.ts) when it holds a run of the same key,
 * else trained by `trainNew` and saved there.
 */
export async function trainProtoPNet(ds: ProtoPNetData, options: TrainProtoPNetOptions = {}): Promise<ProtoPNetRun> {
  const none = () => undefined;
  const noLoss: LossFn = () => {
    throw new Error('a key-only stage');
  };
  const key = protoPNetRunKey(ds, [...protoPNetStages(ds.plan, noLoss, none), pruneStage(ds.plan, noLoss)]);
  const dir = runDir(ds, key, options.cacheDir);
  const cached = options.retrain ? null : await timed(ds, 'protopnet', () => loadRun(dir));
  if (cached) {
    recordModel({ name: path.basename(dir), key, fromCache: true, seconds: 0 });
    return cached;
  }
  const t0 = Date.now();
  const run = await trainNew(ds, key, dir);
  await saveRun(dir, run);
  recordModel({ name: path.basename(dir), key, fromCache: false, seconds: (Date.now() - t0) / 1000 });
  return run;
}

/**
 * Builds ProtoPNet on a copy of the pre-trained backbone and trains it by the paper's schedule (warm, then per cycle:
 * joint, push, last layer), recording the test predictions around every push; then prunes (k nearest patches, tau) and
 * retrains the last layer of the pruned model. `key` and `dir` name the run in the cache.
 */
export async function trainNew(ds: ProtoPNetData, key: string, dir: string): Promise<ProtoPNetRun> {
  return timed(ds, 'protopnet', async () => {
    const { plan, train: data, val } = ds;
    const K = data.numClasses;
    const input = { inputShape: data.imageShape, numClasses: K };
    const classes = prototypesPerClass(K, plan.perClass);
    const model = buildProtoPNet(backboneCopy(ds), { channels: plan.channels, prototypeClasses: classes }, input, ds.rng.fork('protopnet'));
    const predict = (m: tf.LayersModel) => argmaxRows(predictLogits(m, ds.x), K);
    const checkpoints: Checkpoint[] = [];
    const pushes: PushRecord[][] = [];
    const push: TrainStage['onStart'] = ({ model: m }) => {
      const cycle = pushes.length + 1;
      checkpoints.push({ name: 'before push', cycle, predictions: predict(m) });
      pushes.push(pushPrototypes(m, data, { batchSize: 128, progress: `${plan.dataset} push ${cycle}` }));
      checkpoints.push({ name: 'after push', cycle, predictions: predict(m) });
    };
    const loss = protoPNetLoss(model, plan, K);
    const stages = protoPNetStages(plan, loss, push);
    const epochs = stages.reduce((a, s) => a + s.epochs, 0);
    const result = await train(
      model,
      { train: data, val },
      {
        epochs,
        batchSize: plan.batchSize,
        stages,
        seed: ds.rng.fork('protopnet-train').seed(),
        progress: `${plan.dataset} ProtoPNet`,
        // The pre-training's optimiser is not carried over: each stage starts its own, as the reference's.
      },
    );
    checkpoints.push({ name: 'after last layer', cycle: plan.cycles, predictions: predict(model) });

    const nearest = nearestPatches(model, data, plan.prune.k, { progress: `${plan.dataset} nearest patches` });
    const own = classes.map((c, j) => nearest.neighbours[j].filter((e) => e.label === c).length);
    const passing = classes.map((_, j) => j).filter((j) => own[j] >= plan.prune.tau);
    // A model needs one prototype: should pruning remove them all, the purest stays (the reference would fail there).
    const kept = passing.length ? passing : [own.indexOf(Math.max(...own))];
    const pruned = keepPrototypes(model, kept, () => backboneCopy(ds), input);
    const pruneResult = plan.prune.lastEpochs
      ? await train(
          pruned,
          { train: data, val },
          {
            epochs: plan.prune.lastEpochs,
            batchSize: plan.batchSize,
            stages: [pruneStage(plan, protoPNetLoss(pruned, plan, K))],
            seed: ds.rng.fork('prune-train').seed(),
            progress: `${plan.dataset} pruned ProtoPNet`,
          },
        )
      : null;
    checkpoints.push({ name: 'after pruning', cycle: plan.cycles, predictions: predict(pruned) });
    const history = result.history;
    const pruneHistory = pruneResult?.history ?? [];
    const trainSeconds = [...history, ...pruneHistory].reduce((a, h) => a + h.seconds, 0);
    return {
      model,
      pruned,
      prototypeClasses: classes,
      pushes,
      checkpoints,
      nearest,
      kept,
      history,
      pruneHistory,
      trainSeconds,
      fromCache: false,
      key,
      dir,
    };
  });
}

/** Frees the run's models. */
export function disposeRun(run: ProtoPNetRun): void {
  run.model.dispose();
  run.pruned.dispose();
}
