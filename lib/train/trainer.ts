import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import { Rng } from '../util/rng';
import { UserError } from '../util/errors';
import { Progress } from '../util/progress';
import { Optimizer, OptimizerConfig, DEFAULT_OPTIMIZER } from './optim';
import { learningRate, ScheduleConfig } from './schedule';
import { evaluate } from './metrics';
import { latestCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint';

/** Augmentation hook: returns a new batch [n,H,W,C] from `x` (do not dispose `x`); draw randomness from `rng` only. */
export type Augment = (x: tf.Tensor4D, rng: Rng) => tf.Tensor4D;

export interface TrainOptions {
  epochs: number;
  /** Default 32. */
  batchSize?: number;
  /** Default Adam, lr 1e-3. */
  optimizer?: OptimizerConfig;
  /** Default constant. */
  schedule?: ScheduleConfig;
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
  /** Called before every batch (epoch 0-based): tests use it to stop or kill a run mid-epoch. */
  onBatch?: (epoch: number, batch: number) => void;
}

/** One epoch of training, as kept in the history and in checkpoints. */
export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Learning rate at the epoch's first batch. */
  lr: number;
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

/**
 * Trains `model` (logits output) on `data.train` with softmax cross-entropy, validating on `data.val` after every
 * epoch. A custom loop (not model.fit) so that it is deterministic and resumable: the data order and augmentation
 * come from one Rng seeded by `opts.seed`, whose state is checkpointed with the weights and the optimiser state after
 * each epoch; a run killed at any point and resumed ends with the same numbers as an uninterrupted one (on a
 * deterministic backend). A non-finite loss stops training before the update, with a TrainingDivergedError.
 */
export async function train(model: tf.LayersModel, data: { train: Dataset; val?: Dataset }, opts: TrainOptions): Promise<TrainResult> {
  const batchSize = opts.batchSize ?? 32;
  const optConfig = opts.optimizer ?? DEFAULT_OPTIMIZER.adam;
  const schedule = opts.schedule ?? { type: 'constant' };
  const C = data.train.numClasses;
  const k = Math.min(opts.topK ?? 5, C);
  const runKey = opts.runKey ?? '';
  if (data.train.size === 0) throw new UserError('training set is empty');
  const outShape = model.outputs[0].shape;
  if (outShape[outShape.length - 1] !== C) throw new UserError(`model outputs ${outShape[outShape.length - 1]} classes, the dataset has ${C}`);

  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = new Optimizer(optConfig, vars);
  const rng = new Rng(opts.seed ?? 0).fork('train');
  let history: EpochRecord[] = [];
  let startEpoch = 0;

  if (opts.resume && opts.checkpointDir) {
    const latest = latestCheckpoint(opts.checkpointDir);
    if (latest) {
      const state = loadCheckpoint<EpochRecord>(latest, model);
      if (state.runKey !== runKey) {
        throw new UserError(`checkpoint ${latest} belongs to another run (key ${state.runKey || '(none)'}, this run ${runKey || '(none)'}); use another --checkpoint directory or drop --resume`);
      }
      optimizer.setState(state.optimizer);
      rng.setState(state.rng);
      history = state.history;
      startEpoch = state.epoch;
    }
  }

  const batchesPerEpoch = Math.ceil(data.train.size / batchSize);
  try {
    for (let epoch = startEpoch; epoch < opts.epochs; epoch++) {
      const bar = opts.progress === false ? null : new Progress(`${opts.progress ?? 'train'} epoch ${epoch + 1}/${opts.epochs}`, batchesPerEpoch);
      const t0 = Date.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let batch = 0;
      const lr0 = learningRate(optConfig.lr, schedule, epoch, 0, batchesPerEpoch, opts.epochs);
      for (const idx of data.train.batches(batchSize, rng)) {
        opts.onBatch?.(epoch, batch);
        const lr = learningRate(optConfig.lr, schedule, epoch, batch, batchesPerEpoch, opts.epochs);
        const { x, y } = data.train.batch(idx);
        const xa = opts.augment ? opts.augment(x, rng) : x;
        let predicted: tf.Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const logits = model.apply(xa, { training: true }) as tf.Tensor2D;
          predicted = tf.keep(tf.argMax(logits, -1));
          return tf.losses.softmaxCrossEntropy(tf.oneHot(y, C), logits) as tf.Scalar;
        }, vars);
        const loss = value.dataSync()[0];
        if (!Number.isFinite(loss)) {
          tf.dispose([x, y, xa, value, predicted!]);
          tf.dispose(Object.values(grads));
          throw new TrainingDivergedError(
            `training diverged: the loss is ${loss} at epoch ${epoch + 1}, batch ${batch + 1} (learning rate ${lr.toPrecision(3)}); ` +
              `lower the learning rate or add warm-up. The last good weights are in the epoch-${epoch} checkpoint` +
              (opts.checkpointDir ? ` under ${opts.checkpointDir}` : ' (no --checkpoint was given)'),
          );
        }
        optimizer.apply(
          vars.map((v) => grads[v.name]),
          lr,
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
      bar?.finish(`loss ${record.trainLoss.toFixed(4)} acc ${record.trainAccuracy.toFixed(3)}` + (val ? ` val_acc ${val.accuracy.toFixed(3)}` : ''));
      if (opts.checkpointDir) {
        await saveCheckpoint(opts.checkpointDir, model, { epoch: epoch + 1, rng: rng.state(), history, optimizer: optimizer.state(), runKey });
      }
      opts.onEpoch?.(record);
    }
  } finally {
    optimizer.dispose();
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
