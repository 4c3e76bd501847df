import * as tf from '@tensorflow/tfjs';
import { Dataset } from '../../data/dataset';
import { loadDataset } from '../../data/index';
import { batchRanges } from '../../util/batches';
import { Rng } from '../../util/rng';
import type { StudyContext } from '../types';
import type { DatasetPlan } from './config';

/** Train, validation and test sets of one plan, every image `plan.side` pixels wide. */
export interface StudyData {
  train: Dataset;
  /** Held out from the training images (plan.valFraction, seeded): the plateau and any choice are read here. */
  val: Dataset;
  test: Dataset;
}

/**
 * Fashion-MNIST subsets per class (resized to plan.side), or the generated world drawn at plan.side; then a seeded
 * validation split carved from the training images (the test images are never used for a choice).
 */
export async function loadData(plan: DatasetPlan, ctx: StudyContext): Promise<StudyData> {
  let train: Dataset;
  let test: Dataset;
  if (plan.dataset === 'fashion-mnist') {
    const [tr, te] = await Promise.all([
      loadDataset('fashion-mnist', { split: 'train', data: ctx.data, limit: plan.trainPerClass, seed: ctx.seed }),
      loadDataset('fashion-mnist', { split: 'test', data: ctx.data, limit: plan.testPerClass, seed: ctx.seed }),
    ]);
    train = resizeDataset(tr, plan.side);
    test = resizeDataset(te, plan.side);
  } else {
    [train, test] = await Promise.all([
      loadDataset(plan.dataset, { split: 'train', size: plan.trainSize, imageSize: plan.side, seed: ctx.seed }),
      loadDataset(plan.dataset, { split: 'test', size: plan.testSize, imageSize: plan.side, seed: ctx.seed }),
    ]);
  }
  return { ...splitValidation(train, plan.valFraction, new Rng(ctx.seed).fork(`${plan.dataset}-val`)), test };
}

/** Splits off round(fraction * size) images, chosen by `rng`, as the validation set. */
export function splitValidation(ds: Dataset, fraction: number, rng: Rng): { train: Dataset; val: Dataset } {
  const nVal = Math.round(fraction * ds.size);
  if (!(fraction > 0 && nVal >= 1 && nVal < ds.size)) {
    throw new Error(`splitValidation: valFraction ${fraction} of ${ds.size} images leaves no validation or no training image`);
  }
  const order = rng.permutation(ds.size);
  const valIdx = order.slice(0, nVal).sort((a, b) => a - b);
  const trainIdx = order.slice(nVal).sort((a, b) => a - b);
  return { train: ds.subset(trainIdx), val: ds.subset(valIdx) };
}

/** The dataset with every image resized (bilinear, half-pixel centres) to side x side; itself when already that size. */
export function resizeDataset(ds: Dataset, side: number): Dataset {
  if (ds.height === side && ds.width === side) return ds;
  if (ds.truth.partMaps || ds.truth.boxes || ds.truth.keypoints || ds.truth.positions) {
    throw new Error(`resizeDataset: ${ds.name} has pixel-level ground truth, which a resize would misplace; draw it at ${side} px`);
  }
  const per = side * side * ds.channels;
  const images = new Uint8Array(ds.size * per);
  for (const [start, count] of batchRanges(ds.size, 256)) {
    const { x, y } = ds.batch(Array.from({ length: count }, (_, i) => start + i));
    const out = tf.tidy(() => tf.round(tf.mul(tf.clipByValue(tf.image.resizeBilinear(x, [side, side], false, true), 0, 1), 255)));
    images.set(Uint8Array.from(out.dataSync()), start * per);
    tf.dispose([x, y, out]);
  }
  return new Dataset({
    name: ds.name,
    split: ds.split,
    images,
    labels: ds.labels,
    height: side,
    width: side,
    channels: ds.channels,
    classNames: ds.classNames,
  });
}
