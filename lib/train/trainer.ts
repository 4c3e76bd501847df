import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import { Rng } from '../util/rng';
import { UserError } from '../util/errors';
import { Progress } from '../util/progress';
import { Optimizer, OptimizerConfig, OptimizerState, DEFAULT_OPTIMIZER } from './optim';
import { learningRate, ScheduleConfig } from './schedule';
import { evaluate } from './metrics';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint';

/** Augmentation hook: returns a new batch [n,H,W,C] from `x` (do not dispose `x`); draw randomness from `rng` only. */
export type Augment = (x: tf.Tensor4D, rng: Rng) => tf.Tensor4D;

/**
 * Picks trainable weights by their `originalName`, '<layer>/<weight>' (e.g. 'logits/kernel', 'stage2_conv1/bias'):
 * a list of name prefixes ('logits/' is one layer; 'stage2_' every layer whose name starts so), or a predicate.
 * Only trainable weights are candidates (BatchNorm moving statistics never get gradients).
 */
export type WeightSelector = readonly string[] | ((w: tf.LayerVariable) => boolean);

/** What a loss hook sees, for one batch. Tensors belong to the trainer: do not dispose them. */
export interface LossContext {
  model: tf.LayersModel;
  /** The batch [n,H,W,C] in [0,1], after augmentation. */
  x: tf.Tensor4D;
  /** Class labels [n], int32. */
  y: tf.Tensor1D;
  /**
   * Logits [n,C] of the trainer's forward pass (training mode), run when first read: a hook that runs its own forward
   * pass (e.g. through a model sharing the layers, to get intermediate tensors) and returns `{ loss, logits }` costs
   * one pass, not two, and updates BatchNorm statistics once per batch.
   */
  readonly logits: tf.Tensor2D;
  numClasses: number;
  /** 0-based epoch of the run and of the stage, and batch of the epoch. */
  epoch: number;
  stageEpoch: number;
  batch: number;
  /** Name of the stage ('train' without stages). */
  stage: string;
  /**
   * A model weight by originalName, e.g. weight('logits/kernel') [features, C]. Reading it inside the hook lets the
   * loss reach it; only the stage's trainable weights get gradients, the others act as constants.
   */
  weight(name: string): tf.Variable;
}

/**
 * Loss hook: the scalar to minimise for one batch, computed inside the gradient tape. Return the loss alone (accuracy
 * then comes from `ctx.logits`), or `{ loss, logits }` with logits [n,C] from the hook's own forward pass.
 */
export type LossFn = (ctx: LossContext) => tf.Scalar | { loss: tf.Scalar; logits: tf.Tensor2D };

/** The default loss: mean softmax cross-entropy of ctx.logits against one-hot labels. */
export const crossEntropyLoss: LossFn = (ctx) => tf.losses.softmaxCrossEntropy(tf.oneHot(ctx.y, ctx.numClasses), ctx.logits) as tf.Scalar;

/** Weights of a stage that share one optimiser configuration (as PyTorch's parameter groups). */
export interface ParamGroup {
  trainable: WeightSelector;
  /** Default: the stage's optimiser. */
  optimizer?: OptimizerConfig;
}

/**
 * One stage of a staged run (e.g. ProtoPNet's warm, joint and last-layer stages): only its weights get gradients and
 * updates, from optimisers of its own. Stages with the same name share their optimisers (slots, step count) and one
 * schedule that runs over all their epochs together, as ProtoPNet's joint and last-layer optimisers persist across
 * push cycles; they must then select the same weights with the same optimiser configurations.
 */
export interface TrainStage {
  name: string;
  /** Epochs of this stage (0 skips it, onStart included). */
  epochs: number;
  /** Weights to train (default every trainable weight). Give either this or `groups`. */
  trainable?: WeightSelector;
  /** Disjoint weight groups with optimisers of their own, e.g. a lower lr for the features. */
  groups?: ParamGroup[];
  /** Default opts.optimizer (Adam, lr 1e-3). */
  optimizer?: OptimizerConfig;
  /** Default opts.schedule (constant). Its epochs are those of the stages with this name, counted together. */
  schedule?: ScheduleConfig;
  /** Default opts.loss (softmax cross-entropy). */
  loss?: LossFn;
  /**
   * Runs before the stage's first epoch (e.g. ProtoPNet's push); `epoch` is the 0-based epoch of the run where the stage
   * starts. Not rerun when a resume lands inside the stage: the weights it changed are in the checkpoint; keep anything
   * else it produces yourself.
   */
  onStart?: (ctx: { model: tf.LayersModel; stage: string; epoch: number }) => void | Promise<void>;
  /**
   * Names the stage's function-valued fields (trainable predicate, loss, onStart) and their parameters for the model
   * cache: trainCached refuses a stage that has functions but no key, because a cache key cannot see a function.
   */
  key?: string;
}

export interface TrainOptions {
  /** Epochs of the run; with `stages`, their sum. */
  epochs: number;
  /** Default 32. */
  batchSize?: number;
  /** Default Adam, lr 1e-3. */
  optimizer?: OptimizerConfig;
  /** Default constant. */
  schedule?: ScheduleConfig;
  /** Default softmax cross-entropy (crossEntropyLoss). Validation loss is always cross-entropy. */
  loss?: LossFn;
  /**
   * Stages run one after another, each over its own weights with its own optimisers. Without it: one stage named
   * 'train' over every trainable weight for opts.epochs (the numbers of a run without stages do not change).
   */
  stages?: TrainStage[];
  /** Seeds the data order and augmentation (weights are seeded when the model is built). Default 0. */
  seed?: number;
  /** k of the top-k accuracy (default 5, capped at the number of classes). */
  topK?: number;
  augment?: Augment;
  /** Directory for per-epoch checkpoints; none when absent. */
  checkpointDir?: string;
  /** Continue from the latest checkpoint in checkpointDir (starts fresh if there is none). */
  resume?: boolean;
  /** Identifies the run in checkpoints; a resume from a checkpoint with another key is refused. */
  runKey?: string;
  /** Label of the progress bar (default "train"). false hides it. */
  progress?: string | false;
  /** Validation images to use per epoch (default all). */
  valLimit?: number;
  /** Called after every epoch (after its checkpoint is written). */
  onEpoch?: (record: EpochRecord) => void;
  /** Called before every batch (epoch 0-based, over the whole run): tests use it to stop or kill a run mid-epoch. */
  onBatch?: (epoch: number, batch: number) => void;
}

/** One epoch of training, as kept in the history and in checkpoints. */
export interface EpochRecord {
  /** 1-based, over the whole run. */
  epoch: number;
  /** The stage's name ('train' without stages) and the epoch within it (1-based). */
  stage: string;
  stageEpoch: number;
  /** Learning rate at the epoch's first batch (of the stage's first group). */
  lr: number;
  /** Mean of the training loss (the loss hook's value). */
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  valTopK: number | null;
  /** Top-1 per class; null for a class without validation images (JSON-safe, so resumed histories compare equal). */
  valPerClass: (number | null)[] | null;
  /** Seconds of training (without validation) and images per second. */
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainResult {
  history: EpochRecord[];
  /** The last epoch's validation metrics (null without validation data). */
  valAccuracy: number | null;
  valTopK: number | null;
  k: number;
  valPerClass: (number | null)[] | null;
  /** Epoch the run resumed after (0 when it started fresh). */
  resumedFrom: number;
}

/** Thrown when the loss stops being finite. */
export class TrainingDivergedError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/** One optimiser over one group of weights. */
interface Group {
  vars: tf.Variable[];
  config: OptimizerConfig;
  optimizer: Optimizer;
}

/** A stage resolved against the model: where it sits in the run and its (possibly shared) optimisers. */
interface Plan {
  name: string;
  /** 0-based epoch of the run where the stage starts. */
  start: number;
  epochs: number;
  loss: LossFn;
  schedule: ScheduleConfig;
  groups: Group[];
  /** The stage's epochs on its schedule's timeline, which spans every stage of this name. */
  timelineStart: number;
  timelineEpochs: number;
  onStart?: TrainStage['onStart'];
}

function selectWeights(model: tf.LayersModel, selector: WeightSelector, where: string): tf.LayerVariable[] {
  const all = model.trainableWeights;
  const names = () => all.map((w) => w.originalName).join(', ');
  if (typeof selector !== 'function') {
    for (const prefix of selector) {
      // A prefix that matches nothing is almost surely a typo: say so rather than train fewer weights.
      if (!all.some((w) => w.originalName.startsWith(prefix))) {
        throw new UserError(`${where}: no trainable weight's name starts with "${prefix}"; trainable weights are ${names()}`);
      }
    }
  }
  const picks = (w: tf.LayerVariable) =>
    typeof selector === 'function' ? selector(w) : selector.some((prefix) => w.originalName.startsWith(prefix));
  const picked = all.filter(picks);
  if (!picked.length) throw new UserError(`${where}: trainable selects no weight; trainable weights are ${names()}`);
  return picked;
}

/** Slots an Optimizer keeps for `n` variables (adam: m and v; sgd: velocity), to split a checkpoint's flat list. */
function slotCount(config: OptimizerConfig, n: number): number {
  return (config.type === 'adam' ? 2 : 1) * n;
}

/**
 * Resolves the stages (or the one implicit stage) against the model. Stages of one name get one set of optimisers,
 * created here; `owners` lists each set once, in order of first appearance (the order of the checkpoint's slots).
 */
function planStages(model: tf.LayersModel, opts: TrainOptions): { plans: Plan[]; owners: Group[][] } {
  const baseOptimizer = opts.optimizer ?? DEFAULT_OPTIMIZER.adam;
  const baseSchedule = opts.schedule ?? { type: 'constant' };
  const baseLoss = opts.loss ?? crossEntropyLoss;
  const stages: TrainStage[] = opts.stages ?? [{ name: 'train', epochs: opts.epochs }];
  if (opts.stages) {
    if (!stages.length) throw new UserError('train: `stages` is empty; give at least one stage or leave it out');
    const sum = stages.reduce((a, st) => a + st.epochs, 0);
    if (sum !== opts.epochs) {
      throw new UserError(`train: the stages add up to ${sum} epochs, opts.epochs is ${opts.epochs}; set epochs to ${sum}`);
    }
  }
  const shared = new Map<string, { groups: Group[]; signature: string; epochs: number }>();
  for (const st of stages) {
    if (!Number.isInteger(st.epochs) || st.epochs < 0) {
      throw new UserError(`stage "${st.name}": epochs must be a whole number >= 0, found ${st.epochs}`);
    }
    const e = shared.get(st.name);
    if (e) e.epochs += st.epochs;
    else shared.set(st.name, { groups: [], signature: '', epochs: st.epochs });
  }
  const plans: Plan[] = [];
  const done = new Map<string, number>();
  const created: Optimizer[] = [];
  let start = 0;
  try {
    for (const st of stages) {
      const where = `stage "${st.name}"`;
      if (st.trainable && st.groups) throw new UserError(`${where}: give either trainable or groups, not both`);
      const specs: ParamGroup[] = st.groups ?? [{ trainable: st.trainable ?? ((w: tf.LayerVariable) => w.trainable) }];
      if (!specs.length) throw new UserError(`${where}: groups is empty`);
      const resolved = specs.map((g, i) => ({
        weights: selectWeights(model, g.trainable, specs.length > 1 ? `${where}, group ${i + 1}` : where),
        config: g.optimizer ?? st.optimizer ?? baseOptimizer,
      }));
      const seen = new Set<string>();
      for (const g of resolved) {
        for (const w of g.weights) {
          if (seen.has(w.originalName)) throw new UserError(`${where}: weight ${w.originalName} is in more than one group`);
          seen.add(w.originalName);
        }
      }
      const schedule = st.schedule ?? baseSchedule;
      const groupsSig = resolved.map((g) => ({ weights: g.weights.map((w) => w.originalName), optimizer: g.config }));
      const signature = JSON.stringify({ groups: groupsSig, schedule });
      const entry = shared.get(st.name)!;
      if (!entry.groups.length) {
        entry.signature = signature;
        entry.groups = resolved.map((g) => {
          const vars = g.weights.map((w) => w.read() as tf.Variable);
          const optimizer = new Optimizer(g.config, vars);
          created.push(optimizer);
          return { vars, config: g.config, optimizer };
        });
      } else if (entry.signature !== signature) {
        throw new UserError(
          `${where}: an earlier stage of this name selects other weights, optimisers or schedule; ` +
            'stages of one name share them, so rename one',
        );
      }
      const timelineStart = done.get(st.name) ?? 0;
      done.set(st.name, timelineStart + st.epochs);
      plans.push({
        name: st.name,
        start,
        epochs: st.epochs,
        loss: st.loss ?? baseLoss,
        schedule,
        groups: entry.groups,
        timelineStart,
        timelineEpochs: entry.epochs,
        onStart: st.onStart,
      });
      start += st.epochs;
    }
  } catch (e) {
    // A mistake in a later stage: free the slots of the optimisers made so far.
    created.forEach((o) => o.dispose());
    throw e;
  }
  return { plans, owners: [...shared.values()].filter((e) => e.groups.length).map((e) => e.groups) };
}

/**
 * Trains `model` (logits output [n,C]) on `data.train`, validating on `data.val` after every epoch. The loss is
 * softmax cross-entropy unless `opts.loss` (or a stage's loss) says otherwise; `opts.stages` trains chosen weights in
 * stages, each with its own optimisers. A custom loop (not model.fit) so that it is deterministic and resumable: the
 * data order and augmentation come from one Rng seeded by `opts.seed`, whose state is checkpointed with the weights and
 * every optimiser's state after each epoch; a run killed at any point (in any stage) and resumed ends with the same
 * numbers as an uninterrupted one (on a deterministic backend). The forward pass runs in training mode in every stage,
 * so BatchNorm statistics keep updating even where the BatchNorm layer is not trained (as PyTorch's model.train()).
 * A non-finite loss stops training before the update, with a TrainingDivergedError.
 */
export async function train(model: tf.LayersModel, data: { train: Dataset; val?: Dataset }, opts: TrainOptions): Promise<TrainResult> {
  const batchSize = opts.batchSize ?? 32;
  const C = data.train.numClasses;
  const k = Math.min(opts.topK ?? 5, C);
  const runKey = opts.runKey ?? '';
  if (data.train.size === 0) throw new UserError('training set is empty');
  const outShape = model.outputs[0].shape;
  if (outShape[outShape.length - 1] !== C) {
    throw new UserError(`model outputs ${outShape[outShape.length - 1]} classes, the dataset has ${C}`);
  }

  const { plans, owners } = planStages(model, opts);
  const staged = opts.stages !== undefined;
  const optimizers = owners.flat().map((g) => g.optimizer);
  const weightByName = new Map(model.weights.map((w) => [w.originalName, w]));
  const rng = new Rng(opts.seed ?? 0).fork('train');
  const batchesPerEpoch = Math.ceil(data.train.size / batchSize);
  let history: EpochRecord[] = [];
  let startEpoch = 0;

  try {
    if (opts.resume && opts.checkpointDir) {
      const latest = latestCheckpoint(opts.checkpointDir);
      if (latest) {
        const state = loadCheckpoint<EpochRecord>(latest, model);
        if (state.runKey !== runKey) {
          throw new UserError(
            `checkpoint ${latest} belongs to another run (key ${state.runKey || '(none)'}, this run ${runKey || '(none)'}); ` +
              'use another --checkpoint directory or drop --resume',
          );
        }
        restoreOptimizers(latest, state.optimizer, state.epoch, plans, owners, batchesPerEpoch);
        rng.setState(state.rng);
        history = state.history;
        startEpoch = state.epoch;
      }
    }

    for (const plan of plans) {
      if (plan.epochs === 0 || plan.start + plan.epochs <= startEpoch) continue;
      // A stage's start hook ran before the checkpoint only if the checkpoint lies inside the stage.
      if (startEpoch <= plan.start) await plan.onStart?.({ model, stage: plan.name, epoch: plan.start });
      const vars = plan.groups.flatMap((g) => g.vars);
      for (let stageEpoch = Math.max(0, startEpoch - plan.start); stageEpoch < plan.epochs; stageEpoch++) {
        const epoch = plan.start + stageEpoch;
        const timelineEpoch = plan.timelineStart + stageEpoch;
        const lrAt = (batch: number) =>
          plan.groups.map((g) => learningRate(g.config.lr, plan.schedule, timelineEpoch, batch, batchesPerEpoch, plan.timelineEpochs));
        const label = opts.progress ?? 'train';
        const title = staged
          ? `${label} ${plan.name} ${stageEpoch + 1}/${plan.epochs} (epoch ${epoch + 1}/${opts.epochs})`
          : `${label} epoch ${epoch + 1}/${opts.epochs}`;
        const bar = opts.progress === false ? null : new Progress(title, batchesPerEpoch);
        const t0 = Date.now();
        let lossSum = 0;
        let correct = 0;
        let seen = 0;
        let batch = 0;
        const lr0 = lrAt(0)[0];
        for (const idx of data.train.batches(batchSize, rng)) {
          opts.onBatch?.(epoch, batch);
          const lrs = lrAt(batch);
          const { x, y } = data.train.batch(idx);
          const xa = opts.augment ? opts.augment(x, rng) : x;
          let predicted: tf.Tensor | null = null;
          const { value, grads } = tf.variableGrads(() => {
            let logits: tf.Tensor2D | null = null;
            const forward = () => (logits ??= model.apply(xa, { training: true }) as tf.Tensor2D);
            const ctx: LossContext = {
              model,
              x: xa,
              y,
              get logits() {
                return forward();
              },
              numClasses: C,
              epoch,
              stageEpoch,
              batch,
              stage: plan.name,
              weight: (name) => {
                const w = weightByName.get(name);
                if (!w) {
                  const known = [...weightByName.keys()].join(', ');
                  throw new UserError(`loss hook: the model has no weight "${name}"; its weights are ${known}`);
                }
                return w.read() as tf.Variable;
              },
            };
            const out = plan.loss(ctx);
            const loss = out instanceof tf.Tensor ? out : out.loss;
            if (loss.rank !== 0) {
              throw new UserError(`loss hook returned shape [${loss.shape}]; it must return a scalar (reduce with tf.mean or tf.sum)`);
            }
            predicted = tf.keep(tf.argMax(out instanceof tf.Tensor ? forward() : out.logits, -1));
            return loss;
          }, vars);
          const loss = value.dataSync()[0];
          const missing = vars.find((v) => !grads[v.name]);
          if (!Number.isFinite(loss) || missing) {
            tf.dispose([x, y, value, predicted!]);
            if (xa !== x) xa.dispose();
            tf.dispose(Object.values(grads));
            if (missing) {
              const name = model.trainableWeights.find((w) => w.read() === missing)?.originalName ?? missing.name;
              throw new UserError(
                `stage "${plan.name}": weight ${name} gets no gradient from the loss; leave it out of the stage's trainable weights`,
              );
            }
            throw new TrainingDivergedError(
              `training diverged: the loss is ${loss} at epoch ${epoch + 1}${staged ? ` (stage ${plan.name})` : ''}, batch ${batch + 1} ` +
                `(learning rate ${lrs[0].toPrecision(3)}); ` +
                `lower the learning rate or add warm-up. The last good weights are in the epoch-${epoch} checkpoint` +
                (opts.checkpointDir ? ` under ${opts.checkpointDir}` : ' (no --checkpoint was given)'),
            );
          }
          plan.groups.forEach((g, i) =>
            g.optimizer.apply(
              g.vars.map((v) => grads[v.name]),
              lrs[i],
            ),
          );
          const pred = predicted!.dataSync();
          for (let i = 0; i < idx.length; i++) if (pred[i] === data.train.labels[idx[i]]) correct++;
          lossSum += loss * idx.length;
          seen += idx.length;
          tf.dispose([x, y, value, predicted!]);
          if (xa !== x) xa.dispose();
          tf.dispose(Object.values(grads));
          batch++;
          bar?.tick(1, `loss ${(lossSum / seen).toFixed(4)} acc ${(correct / seen).toFixed(3)}`);
          // Let timers, signals and progress output run between batches.
          if (batch % 8 === 0) await new Promise((r) => setImmediate(r));
        }
        const seconds = (Date.now() - t0) / 1000;
        const val = data.val ? evaluate(model, data.val, { k, limit: opts.valLimit }) : null;
        const record: EpochRecord = {
          epoch: epoch + 1,
          stage: plan.name,
          stageEpoch: stageEpoch + 1,
          lr: lr0,
          trainLoss: lossSum / seen,
          trainAccuracy: correct / seen,
          valLoss: val ? val.loss : null,
          valAccuracy: val ? val.accuracy : null,
          valTopK: val ? val.topK : null,
          valPerClass: val ? val.perClass.map((v) => (Number.isFinite(v) ? v : null)) : null,
          seconds,
          imagesPerSecond: seen / Math.max(seconds, 1e-6),
        };
        history.push(record);
        const valText = val ? ` val_acc ${val.accuracy.toFixed(3)}` : '';
        bar?.finish(`loss ${record.trainLoss.toFixed(4)} acc ${record.trainAccuracy.toFixed(3)}${valText}`);
        if (opts.checkpointDir) {
          // The flat slot list holds every optimiser (stage-name order); `step` counts the run's batches, from which
          // each optimiser's own step follows (restoreOptimizers). Without stages this is the single optimiser's state.
          const slots = optimizers.flatMap((o) => o.state().slots);
          const optimizer = { step: (epoch + 1) * batchesPerEpoch, slots };
          await saveCheckpoint(opts.checkpointDir, model, { epoch: epoch + 1, rng: rng.state(), history, optimizer, runKey });
        }
        opts.onEpoch?.(record);
      }
    }
  } finally {
    optimizers.forEach((o) => o.dispose());
  }
  const last = history[history.length - 1];
  return {
    history,
    valAccuracy: last?.valAccuracy ?? null,
    valTopK: last?.valTopK ?? null,
    k,
    valPerClass: last?.valPerClass ?? null,
    resumedFrom: startEpoch,
  };
}

/**
 * Restores every optimiser from a checkpoint written after `epochs` epochs. Each optimiser stepped once per batch of
 * every epoch of the stages that share it, so its step count follows from the plan (the checkpoint format keeps one
 * step, the run's batch count; with one stage the two coincide).
 */
function restoreOptimizers(
  where: string,
  saved: OptimizerState,
  epochs: number,
  plans: Plan[],
  owners: Group[][],
  batchesPerEpoch: number,
): void {
  if (saved.step !== epochs * batchesPerEpoch) {
    throw new UserError(
      `checkpoint ${where} has ${saved.step} optimiser steps after ${epochs} epochs, this run makes ${batchesPerEpoch} per epoch; ` +
        'a different dataset or batch size: use another checkpoint directory',
    );
  }
  const need = owners.flat().reduce((a, g) => a + slotCount(g.config, g.vars.length), 0);
  if (saved.slots.length !== need) {
    throw new UserError(
      `checkpoint ${where} holds ${saved.slots.length} optimiser slots, this run's stages need ${need}; ` +
        'the stages or optimisers changed: use another checkpoint directory',
    );
  }
  let off = 0;
  for (const groups of owners) {
    const epochsDone = plans.filter((p) => p.groups === groups).reduce((a, p) => a + Math.min(Math.max(epochs - p.start, 0), p.epochs), 0);
    for (const g of groups) {
      const n = slotCount(g.config, g.vars.length);
      g.optimizer.setState({ step: epochsDone * batchesPerEpoch, slots: saved.slots.slice(off, off + n) });
      off += n;
    }
  }
}
