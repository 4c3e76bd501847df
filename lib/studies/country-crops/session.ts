import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset';
import { loadImageFolder } from '../../data/imagefolder';
import { facades, FacadesOptions } from '../../data/synthetic/facades';
import { randomCrop } from '../../data/transforms';
import { EngineInfo, initEngine } from '../../engine/index';
import { withInputSize } from '../../models/index';
import { trainCached } from '../../train/cache';
import type { EpochRecord } from '../../train/trainer';
import { UserError } from '../../util/errors';
import { Rng } from '../../util/rng';
import type { StudyContext } from '../types';
import { COUNTRY_CROPS_CONFIGS, CountryCropsConfig } from './config';

/** One trained classifier: on random crops of side `crop`, or on whole images (crop = the image side). */
export interface CropModel {
  /** "crop 16 px" or "whole image". */
  label: string;
  crop: number;
  whole: boolean;
  /** The model at the image size (fully convolutional + GAP, so a crop model runs on whole images as in the post). */
  model: tf.LayersModel;
  /** The same weights at the crop size (the whole-image model: the same model). */
  cropModel: tf.LayersModel;
  history: EpochRecord[];
  fromCache: boolean;
}

/** The study's state: data, models and the seeded generator; every step takes it. `dispose` frees its tensors. */
export interface CountryCropsSession {
  ctx: StudyContext;
  config: CountryCropsConfig;
  engine: EngineInfo;
  rng: Rng;
  /** 'facades' or the ImageFolder's path. */
  dataset: string;
  train: Dataset;
  val: Dataset;
  test: Dataset;
  /** How the facades test split was drawn (null for an ImageFolder: no ground truth, no cue proxy). */
  truth: FacadesOptions | null;
  /** Test images [n,H,W,C] in [0,1] and their labels. */
  x: tf.Tensor4D;
  labels: number[];
  /** Crop models smallest first, then the whole-image model. */
  models: CropModel[];
  seconds: Record<string, number>;
}

/** The last `fraction` of a shuffled index list as validation, the rest as training (seeded). */
function splitVal(ds: Dataset, fraction: number, rng: Rng): { train: Dataset; val: Dataset } {
  const order = rng.permutation(ds.size);
  const nVal = Math.max(1, Math.round(ds.size * fraction));
  return { train: ds.subset(order.slice(nVal)), val: ds.subset(order.slice(0, nVal)) };
}

/** Loads the data (facades, or the ImageFolder of ctx.data), trains or loads the models. */
export async function prepare(
  ctx: StudyContext,
  config: CountryCropsConfig = COUNTRY_CROPS_CONFIGS[ctx.scale],
): Promise<CountryCropsSession> {
  const engine = await initEngine();
  const rng = new Rng(ctx.seed);
  const seconds: Record<string, number> = {};
  let t0 = Date.now();
  let all: Dataset;
  let test: Dataset;
  let truth: FacadesOptions | null = null;
  if (ctx.data) {
    all = await loadImageFolder(ctx.data, { split: 'train', imageSize: config.side, channels: 3, seed: ctx.seed });
    test = await loadImageFolder(ctx.data, { split: 'test', imageSize: config.side, channels: 3, seed: ctx.seed });
    if (all.numClasses < 2)
      throw new UserError(`country-crops: ${ctx.data} holds ${all.numClasses} class folder; the study needs at least 2`);
  } else {
    all = facades({ split: 'train', seed: ctx.seed, side: config.side, size: config.trainSize });
    truth = { split: 'test', seed: ctx.seed, side: config.side, size: config.testSize };
    test = facades(truth);
  }
  for (const c of config.crops) {
    if (c >= config.side)
      throw new UserError(`country-crops: crop ${c} px is not smaller than the ${config.side} px images; use smaller crops`);
  }
  const { train, val } = splitVal(all, config.valFraction, rng.fork('val-split'));
  seconds.data = (Date.now() - t0) / 1000;
  t0 = Date.now();
  const models: CropModel[] = [];
  for (const crop of [...config.crops, config.side]) {
    const whole = crop === config.side;
    const label = whole ? 'whole image' : `crop ${crop} px`;
    const trained = await trainCached({
      config: config.model,
      data: { train, val },
      train: {
        epochs: config.epochs,
        batchSize: config.batchSize,
        optimizer: { type: 'adam', lr: config.lr },
        schedule: { type: 'cosine' },
      },
      seed: ctx.seed,
      // One fresh random crop of every image at every step: the post's "trained on small random crops".
      augment: whole ? undefined : { fn: (xb, r) => randomCrop(xb, crop, r).x, key: `random-crop-${crop}` },
      name: `country-crops-${whole ? 'whole' : `crop${crop}`}`,
      progress: `country-crops ${label}`,
    });
    const cropModel = whole
      ? trained.model
      : withInputSize(trained.model, config.model, { inputShape: [crop, crop, train.channels], numClasses: train.numClasses });
    models.push({ label, crop, whole, model: trained.model, cropModel, history: trained.result.history, fromCache: trained.fromCache });
  }
  seconds.training = (Date.now() - t0) / 1000;
  const { x, y } = test.batch(Array.from({ length: test.size }, (_, i) => i));
  const labels = Array.from(y.dataSync());
  y.dispose();
  return { ctx, config, engine, rng, dataset: ctx.data ?? 'facades', train, val, test, truth, x, labels, models, seconds };
}

/** The crop model of side `crop`; a UserError naming the trained sides otherwise. */
export function modelOf(s: CountryCropsSession, crop: number): CropModel {
  const m = s.models.find((c) => c.crop === crop);
  if (!m) throw new UserError(`country-crops: no model for crop ${crop} px; trained: ${s.models.map((c) => c.crop).join(', ')}`);
  return m;
}

/** Frees the session's tensors (models and test images). */
export function dispose(s: CountryCropsSession): void {
  s.x.dispose();
  for (const m of s.models) {
    if (m.cropModel !== m.model) m.cropModel.dispose();
    m.model.dispose();
  }
}

/** Runs one step, recording its wall time as s.seconds[name]. */
export function timed<T>(s: CountryCropsSession, name: string, step: () => T): T {
  const t0 = Date.now();
  const out = step();
  s.seconds[name] = (Date.now() - t0) / 1000;
  return out;
}

/** Crops [n,size,size,C] of x [N,H,W,C]: image `images[i]` at top-left (ys[i], xs[i]), exact pixels (no resampling). */
export function cropsOf(
  x: tf.Tensor4D,
  images: ArrayLike<number>,
  ys: ArrayLike<number>,
  xs: ArrayLike<number>,
  size: number,
): tf.Tensor4D {
  const [, H, W] = x.shape;
  // Box corners on pixel centres and `size` samples: bilinear sampling lands exactly on pixels.
  const boxes = Array.from({ length: images.length }, (_, i) => [
    ys[i] / (H - 1),
    xs[i] / (W - 1),
    (ys[i] + size - 1) / (H - 1),
    (xs[i] + size - 1) / (W - 1),
  ]);
  return tf.image.cropAndResize(x, boxes, Array.from(images), [size, size], 'bilinear');
}
