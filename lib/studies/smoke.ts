import * as tf from '@tensorflow/tfjs';
import { Dataset } from '../data/dataset';
import { initEngine } from '../engine/index';
import { lineChart } from '../plot/line';
import { evaluate } from '../train/metrics';
import { Progress } from '../util/progress';
import { Rng } from '../util/rng';
import { writeSmokeTasks } from './smoke-tasks';
import type { Claim, Scale, Study, StudyContext, StudyOutput } from './types';

/**
 * The smoke study: not a paper, a check of the whole path CLI -> study -> figures -> claims -> notebook -> report.
 * A tiny conv net (conv 3x3 -> ReLU -> global average pooling -> linear) learns to tell horizontal from vertical
 * stripes in noisy generated images.
 */
export interface SmokeConfig {
  imageSize: number;
  trainImages: number;
  testImages: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  filters: number;
  /** Pixel noise standard deviation (on a 0..1 scale). */
  noise: number;
}

export const SMOKE_CONFIGS: Record<Scale, SmokeConfig> = {
  quick: { imageSize: 8, trainImages: 256, testImages: 128, steps: 60, batchSize: 32, learningRate: 0.03, filters: 4, noise: 0.25 },
  standard: { imageSize: 12, trainImages: 1024, testImages: 512, steps: 200, batchSize: 32, learningRate: 0.03, filters: 8, noise: 0.3 },
  full: { imageSize: 16, trainImages: 4096, testImages: 1024, steps: 500, batchSize: 64, learningRate: 0.02, filters: 8, noise: 0.35 },
};

/** Noisy stripes: label 0 = horizontal, 1 = vertical; stripe period 2 with a random phase. */
export function makeStripes(n: number, size: number, noise: number, rng: Rng, split: 'train' | 'test'): Dataset {
  const images = new Uint8Array(n * size * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = rng.int(2);
    const phase = rng.int(2);
    labels[i] = label;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const stripe = ((label === 0 ? y : x) + phase) % 2 === 0 ? 0.8 : 0.2;
        const v = Math.min(1, Math.max(0, stripe + rng.normal(0, noise)));
        images[i * size * size + y * size + x] = Math.round(v * 255);
      }
    }
  }
  return new Dataset({
    name: 'stripes',
    split,
    images,
    labels,
    height: size,
    width: size,
    channels: 1,
    classNames: ['horizontal', 'vertical'],
  });
}

/** conv3x3 (same) -> ReLU -> GAP -> dense(2) logits, initialised from `seed`. */
export function buildSmokeModel(cfg: SmokeConfig, seed: number): tf.LayersModel {
  const rng = new Rng(seed);
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [cfg.imageSize, cfg.imageSize, 1],
        filters: cfg.filters,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }),
      }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }) }),
    ],
  });
}

/** Trains with Adam on shuffled batches; returns the loss of every step. */
export async function trainSmoke(model: tf.LayersModel, train: Dataset, cfg: SmokeConfig, rng: Rng): Promise<number[]> {
  const optimizer = tf.train.adam(cfg.learningRate);
  const losses: number[] = [];
  const bar = new Progress('smoke: training', cfg.steps);
  let batches = train.batches(cfg.batchSize, rng);
  for (let step = 0; step < cfg.steps; step++) {
    let next = batches.next();
    if (next.done) {
      batches = train.batches(cfg.batchSize, rng);
      next = batches.next();
    }
    const { x, y } = train.batch(next.value as number[]);
    const loss = optimizer.minimize(() => {
      const logits = model.apply(x, { training: true }) as tf.Tensor2D;
      return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 2), logits) as tf.Scalar;
    }, true) as tf.Scalar;
    const value = (await loss.data())[0];
    tf.dispose([x, y, loss]);
    if (!Number.isFinite(value)) throw new Error(`smoke: loss became ${value} at step ${step}; lower the learning rate`);
    losses.push(value);
    bar.tick(1, `loss ${value.toFixed(3)}`);
  }
  bar.finish();
  optimizer.dispose();
  return losses;
}

/** Top-1 accuracy on a dataset. */
export async function accuracy(model: tf.LayersModel, data: Dataset): Promise<number> {
  return evaluate(model, data, { batchSize: 256 }).accuracy;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The two smoke claims, each with its pass rule. */
export function smokeClaims(losses: number[], testAccuracy: number): Claim[] {
  const k = Math.max(1, Math.floor(losses.length / 10));
  const first = mean(losses.slice(0, k));
  const last = mean(losses.slice(-k));
  const checked = (pass: boolean) => ({ pass, verdict: pass ? ('holds' as const) : ('fails' as const), kind: 'check' as const });
  return [
    {
      id: 'loss-decreases',
      claim: 'Training lowers the loss',
      paper: 'sanity check (no paper)',
      measured: `mean loss of the first ${k} steps ${first.toFixed(3)}, of the last ${k} steps ${last.toFixed(3)}`,
      ...checked(last < 0.8 * first),
      details: 'pass when the mean loss of the last tenth of the steps is below 0.8x that of the first tenth',
    },
    {
      id: 'above-chance',
      claim: 'The net tells horizontal from vertical stripes on held-out images',
      paper: 'sanity check (no paper); chance is 50%',
      measured: `test accuracy ${(100 * testAccuracy).toFixed(1)}%`,
      ...checked(testAccuracy >= 0.75),
      details: 'pass when the test accuracy is at least 75% (chance 50%)',
    },
  ];
}

export async function runSmoke(ctx: StudyContext): Promise<StudyOutput> {
  const engine = await initEngine();
  const cfg = SMOKE_CONFIGS[ctx.scale];
  const rng = new Rng(ctx.seed);
  const train = makeStripes(cfg.trainImages, cfg.imageSize, cfg.noise, rng.fork('train-data'), 'train');
  const test = makeStripes(cfg.testImages, cfg.imageSize, cfg.noise, rng.fork('test-data'), 'test');
  const model = buildSmokeModel(cfg, rng.fork('init').seed());
  const losses = await trainSmoke(model, train, cfg, rng.fork('batches'));
  const testAccuracy = await accuracy(model, test);
  model.dispose();
  // The demo user-study task set that `tessera serve` and its tests use (<out>/smoke/user-study/).
  await writeSmokeTasks(ctx.out, test, rng.fork('user-study'));
  const figure = lineChart({
    title: 'Smoke study: training loss',
    xTitle: 'step',
    yTitle: 'cross-entropy loss',
    series: [{ name: 'training loss', x: losses.map((_, i) => i + 1), y: losses }],
  });
  return {
    results: { config: cfg, scale: ctx.scale, seed: ctx.seed, backend: engine.backend, losses, testAccuracy },
    claims: smokeClaims(losses, testAccuracy),
    figures: [{ name: 'training-loss', caption: 'Training loss per step of the tiny stripes net.', spec: figure }],
  };
}

export const study: Study = {
  name: 'smoke',
  title: 'Smoke test of the harness',
  paper: 'none (a check of the whole pipeline)',
  summary:
    'A tiny conv net learns horizontal vs vertical stripes: one figure, two claims; checks CLI, figures, claims, notebook and report.',
  notebook: 'notebooks/smoke.ipynb',
  run: runSmoke,
};
