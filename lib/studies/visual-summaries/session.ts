import * as tf from '@tensorflow/tfjs';
import { wilsonInterval } from '../../analysis/intervals';
import type { Dataset } from '../../data/dataset';
import { loadDataset } from '../../data/index';
import { EngineInfo, initEngine } from '../../engine/index';
import { countParams } from '../../models/index';
import { trainCached } from '../../train/cache';
import { argmaxRows, predictLogits } from '../../train/metrics';
import { UserError } from '../../util/errors';
import { Rng } from '../../util/rng';
import type { Interval, StudyContext } from '../types';
import { ArchitecturePlan, VISUAL_SUMMARIES_CONFIGS, VisualSummariesConfig } from './config';

/** One architecture, trained or loaded from the model cache, with its test accuracy. */
export interface Architecture {
  plan: ArchitecturePlan;
  model: tf.LayersModel;
  params: number;
  trainSeconds: number;
  fromCache: boolean;
  /** Top-1 accuracy on the whole test set, its Wilson interval, and every test image's prediction. */
  accuracy: number;
  accuracyInterval: Interval;
  predictions: number[];
}

/**
 * The study's state: context, config, engine, seeded generator, data, and the architectures ordered by accuracy
 * (least accurate first). Holds tensors (the models and the test images); `dispose` frees them.
 */
export interface Session {
  ctx: StudyContext;
  config: VisualSummariesConfig;
  engine: EngineInfo;
  rng: Rng;
  train: Dataset;
  test: Dataset;
  /** Test images [n,64,64,3] in [0,1]. */
  x: tf.Tensor4D;
  architectures: Architecture[];
  /** Wall time of each step in seconds. */
  seconds: Record<string, number>;
}

/** Starts the study: engine, data, and the architectures trained with the BagNet study's birds settings (shared cache). */
export async function prepare(ctx: StudyContext): Promise<Session> {
  const engine = await initEngine();
  const config = VISUAL_SUMMARIES_CONFIGS[ctx.scale];
  const seconds: Record<string, number> = {};
  let t0 = Date.now();
  const [train, test] = await Promise.all([
    loadDataset(config.dataset, { split: 'train', size: config.trainSize, seed: ctx.seed }),
    loadDataset(config.dataset, { split: 'test', size: config.testSize, seed: ctx.seed }),
  ]);
  for (const c of config.classes) {
    if (!(c >= 0 && c < test.numClasses))
      throw new UserError(
        `visual-summaries: class ${c} is not a class of ${config.dataset} (0..${test.numClasses - 1}); fix \`classes\` in the config`,
      );
  }
  seconds.data = (Date.now() - t0) / 1000;
  t0 = Date.now();
  const { x } = (() => {
    const b = test.batch(Array.from({ length: test.size }, (_, i) => i));
    b.y.dispose();
    return b;
  })();
  const architectures: Architecture[] = [];
  for (const plan of config.architectures) {
    // The BagNet study's request for the same model: same name, config, data, options and seed give the same cache key.
    const cached = await trainCached({
      config: plan.config,
      data: { train },
      train: { epochs: plan.epochs, batchSize: config.batchSize, optimizer: { type: 'adam', lr: config.lr }, schedule: { type: 'cosine' } },
      seed: ctx.seed,
      name: `${config.dataset}-${plan.key}`,
      progress: `${config.dataset} ${plan.label}`,
    });
    const predictions = argmaxRows(predictLogits(cached.model, x), test.numClasses);
    const correct = predictions.filter((p, i) => p === test.labels[i]).length;
    architectures.push({
      plan,
      model: cached.model,
      params: countParams(cached.model),
      trainSeconds: cached.result.history.reduce((a, h) => a + h.seconds, 0),
      fromCache: cached.fromCache,
      accuracy: correct / test.size,
      accuracyInterval: wilsonInterval(correct, test.size, 0.95, 'test images'),
      predictions,
    });
  }
  architectures.sort((a, b) => a.accuracy - b.accuracy);
  seconds.training = (Date.now() - t0) / 1000;
  return { ctx, config, engine, rng: new Rng(ctx.seed), train, test, x, architectures, seconds };
}

/** Per architecture and class: the first `imagesPerClass` test images of the class that the architecture gets right. */
export interface Selection {
  /** [architecture][class position] -> test indices. */
  images: number[][][];
}

/** The images each architecture explains: as the reference, only images whose top-1 class is the true class. */
export function selectImages(s: Session): Selection {
  const { classes, imagesPerClass } = s.config;
  return {
    images: s.architectures.map((a) =>
      classes.map((c) => {
        const out: number[] = [];
        for (let i = 0; i < s.test.size && out.length < imagesPerClass; i++)
          if (s.test.labels[i] === c && a.predictions[i] === c) out.push(i);
        return out;
      }),
    ),
  };
}

/** Runs one step, recording its wall time. */
export function timed<T>(s: Session, name: string, step: () => T): T {
  const t0 = Date.now();
  const out = step();
  s.seconds[name] = (s.seconds[name] ?? 0) + (Date.now() - t0) / 1000;
  return out;
}

/** Frees the models and the test images. */
export function dispose(s: Session): void {
  s.x.dispose();
  for (const a of s.architectures) a.model.dispose();
}
