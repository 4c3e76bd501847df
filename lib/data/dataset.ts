import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';

/** Per-image ground truth that explanation methods can be scored against. All fields optional. */
export interface GroundTruth {
  /** Names of the parts; index k+1 in a part map is partNames[k] (0 is background). */
  partNames?: string[];
  /** One uint8 label map per image (N*H*W), values 0..partNames.length. */
  partMaps?: Uint8Array;
  /** Per class, the names of the parts that tell it apart from the others. */
  discriminativeParts?: string[][];
  /** Per image, an object box [x0, y0, x1, y1] in pixels (x1, y1 exclusive). */
  boxes?: Int32Array;
  /** Per image, an object position [x, y] in pixels (e.g. the paste offset of a shifted object). */
  positions?: Int32Array;
  /** Names of annotated keypoints (e.g. CUB's 15 parts). */
  keypointNames?: string[];
  /** Per image and keypoint, [x, y, visible] in output pixels (visible 0 or 1): N*K*3. */
  keypoints?: Float32Array;
}

export type Split = 'train' | 'test';

export interface DatasetInit {
  name: string;
  split: Split;
  /** N*H*W*C bytes, NHWC, 0..255. */
  images: Uint8Array;
  labels: Int32Array;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  truth?: GroundTruth;
}

/**
 * Images stored compactly as uint8 NHWC with integer labels; converted to float tensors in [0,1] one batch at a
 * time. Shuffling and subsetting take an Rng so that a seed fixes the order.
 */
export class Dataset {
  readonly name: string;
  readonly split: Split;
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classNames: string[];
  readonly truth: GroundTruth;

  constructor(init: DatasetInit) {
    const pixels = init.height * init.width * init.channels;
    if (init.images.length !== init.labels.length * pixels) {
      throw new Error(
        `Dataset ${init.name}: ${init.labels.length} labels need ${init.labels.length * pixels} bytes of ` +
          `${init.height}x${init.width}x${init.channels} images, found ${init.images.length}`,
      );
    }
    for (const label of init.labels) {
      if (label < 0 || label >= init.classNames.length) {
        throw new Error(`Dataset ${init.name}: label ${label} outside 0..${init.classNames.length - 1}`);
      }
    }
    this.name = init.name;
    this.split = init.split;
    this.images = init.images;
    this.labels = init.labels;
    this.height = init.height;
    this.width = init.width;
    this.channels = init.channels;
    this.classNames = init.classNames;
    this.truth = init.truth ?? {};
  }

  get size(): number {
    return this.labels.length;
  }

  get numClasses(): number {
    return this.classNames.length;
  }

  get imageShape(): [number, number, number] {
    return [this.height, this.width, this.channels];
  }

  /** The bytes of image i (a view, not a copy). */
  imageBytes(i: number): Uint8Array {
    const n = this.height * this.width * this.channels;
    return this.images.subarray(i * n, (i + 1) * n);
  }

  /** Images at `indices` as a float32 [n,H,W,C] tensor in [0,1] and their labels as int32 [n]. */
  batch(indices: readonly number[]): { x: tf.Tensor4D; y: tf.Tensor1D } {
    const n = this.height * this.width * this.channels;
    const data = new Float32Array(indices.length * n);
    const labels = new Int32Array(indices.length);
    indices.forEach((idx, b) => {
      const src = this.imageBytes(idx);
      const off = b * n;
      for (let j = 0; j < n; j++) data[off + j] = src[j] / 255;
      labels[b] = this.labels[idx];
    });
    return {
      x: tf.tensor4d(data, [indices.length, this.height, this.width, this.channels]),
      y: tf.tensor1d(labels, 'int32'),
    };
  }

  /** Index batches covering the set once; shuffled by `rng` when given. The last batch may be short. */
  *batches(batchSize: number, rng?: Rng): Generator<number[]> {
    const order = rng ? rng.permutation(this.size) : Array.from({ length: this.size }, (_, i) => i);
    for (let i = 0; i < order.length; i += batchSize) yield order.slice(i, i + batchSize);
  }

  /**
   * Per-channel mean and standard deviation of the pixel values scaled to [0,1] (over every pixel of every image),
   * e.g. for input normalisation or a 'constant' occlusion fill.
   */
  channelStats(): { mean: number[]; std: number[] } {
    const c = this.channels;
    const sum = new Float64Array(c);
    const sq = new Float64Array(c);
    const imgs = this.images;
    for (let i = 0; i < imgs.length; i += c) {
      for (let k = 0; k < c; k++) {
        const v = imgs[i + k];
        sum[k] += v;
        sq[k] += v * v;
      }
    }
    const n = imgs.length / c || 1;
    const mean = Array.from(sum, (s) => s / n / 255);
    const std = Array.from(sq, (s, k) => Math.sqrt(Math.max(0, s / n / (255 * 255) - mean[k] * mean[k])));
    return { mean, std };
  }

  /** Image counts per class. */
  classCounts(): number[] {
    const counts = new Array(this.numClasses).fill(0);
    for (const label of this.labels) counts[label]++;
    return counts;
  }

  /** A new Dataset holding the images at `indices`, in that order, with their ground truth. */
  subset(indices: readonly number[]): Dataset {
    const n = this.height * this.width * this.channels;
    const hw = this.height * this.width;
    const images = new Uint8Array(indices.length * n);
    const labels = new Int32Array(indices.length);
    indices.forEach((idx, k) => {
      images.set(this.imageBytes(idx), k * n);
      labels[k] = this.labels[idx];
    });
    const t = this.truth;
    const truth: GroundTruth = { partNames: t.partNames, discriminativeParts: t.discriminativeParts };
    if (t.partMaps) {
      truth.partMaps = new Uint8Array(indices.length * hw);
      indices.forEach((idx, k) => truth.partMaps!.set(t.partMaps!.subarray(idx * hw, (idx + 1) * hw), k * hw));
    }
    if (t.boxes) truth.boxes = Int32Array.from(indices.flatMap((idx) => Array.from(t.boxes!.subarray(idx * 4, idx * 4 + 4))));
    if (t.keypoints && t.keypointNames) {
      const k3 = t.keypointNames.length * 3;
      truth.keypointNames = t.keypointNames;
      truth.keypoints = new Float32Array(indices.length * k3);
      indices.forEach((idx, k) => truth.keypoints!.set(t.keypoints!.subarray(idx * k3, (idx + 1) * k3), k * k3));
    }
    if (t.positions) truth.positions = Int32Array.from(indices.flatMap((idx) => [t.positions![idx * 2], t.positions![idx * 2 + 1]]));
    return new Dataset({ ...this, images, labels, truth });
  }

  /** At most `perClass` images of each class, chosen by `rng` (or the first ones), in a shuffled order. */
  perClassSubset(perClass: number, rng: Rng): Dataset {
    const byClass: number[][] = this.classNames.map(() => []);
    for (const idx of rng.permutation(this.size)) {
      const list = byClass[this.labels[idx]];
      if (list.length < perClass) list.push(idx);
    }
    return this.subset(rng.shuffle(byClass.flat()));
  }
}
