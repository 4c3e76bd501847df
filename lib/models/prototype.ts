import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset';
import { batchRanges } from '../util/batches';
import { UserError } from '../util/errors';
import { Progress } from '../util/progress';
import { Rng } from '../util/rng';
import type { ModelInput } from './common';
import { receptiveField, type LayerRF } from './rf';

/**
 * ProtoPNet (Chen, Li, Tao, Barnett, Su, Rudin, "This Looks Like That: Deep Learning for Interpretable Image
 * Recognition", NeurIPS 2019, arXiv 1806.10574), after the reference code (cfchen-duke/ProtoPNet, model.py, push.py):
 *
 *   image -> backbone conv body ("features") -> add-on: 1x1 conv D + ReLU ("addon"), 1x1 conv D + sigmoid ("latent")
 *   -> squared L2 distance of every latent cell z to every 1x1xD prototype p ("prototype_distances", [N,h,w,M])
 *   -> min over the map ("min_distances", [N,M]) -> similarity log((d+1)/(d+eps)) ("similarities", [N,M])
 *   -> linear layer without bias ("logits", [N,K]), initialised +1 for the prototype's own class and -0.5 otherwise.
 *
 * Distances use the expansion ||z||^2 - 2 z.p + ||p||^2 followed by ReLU (the reference's `_l2_convolution`); with
 * 1x1 prototypes the convolution is one matMul. The class of every prototype is part of the distance layer's config.
 */

/** The names of the ProtoPNet layers (weights are '<layer>/<weight>', e.g. 'prototype_distances/prototypes'). */
export const PROTO_LAYERS = {
  features: 'features',
  addon: 'addon',
  latent: 'latent',
  distances: 'prototype_distances',
  minDistances: 'min_distances',
  similarities: 'similarities',
  logits: 'logits',
} as const;

/** The reference's epsilon of the log similarity. */
export const SIMILARITY_EPSILON = 1e-4;

export interface PrototypeDistancesArgs {
  /** Class of each prototype (length M): prototype j stands for class prototypeClasses[j]. */
  prototypeClasses: number[];
  name?: string;
}

/**
 * Squared L2 distances [N,h,w,M] of every cell of z [N,h,w,D] to M prototypes [M,D] (weight "prototypes"; zeros
 * here, buildProtoPNet draws them U[0,1) from its Rng): relu(||z||^2 - 2 z.p + ||p||^2). Registered with
 * tf.serialization, so saved models load.
 */
export class PrototypeDistances extends tf.layers.Layer {
  static className = 'PrototypeDistances';
  readonly prototypeClasses: number[];
  private prototypes: tf.LayerVariable | null = null;

  constructor(args: PrototypeDistancesArgs) {
    super({ name: args.name ?? PROTO_LAYERS.distances });
    if (!args.prototypeClasses?.length) throw new UserError('PrototypeDistances needs at least one prototype (prototypeClasses is empty)');
    this.prototypeClasses = [...args.prototypeClasses];
  }

  get count(): number {
    return this.prototypeClasses.length;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const d = shape[3];
    if (d == null) throw new UserError('PrototypeDistances needs a known channel count D');
    this.prototypes = this.addWeight('prototypes', [this.count, d], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0], s[1], s[2], this.count];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const z = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      return squaredDistances(z, this.prototypes!.read() as tf.Tensor2D);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), prototypeClasses: this.prototypeClasses };
  }
}
tf.serialization.registerClass(PrototypeDistances);

/** relu(||z||^2 - 2 z.p + ||p||^2) for z [N,h,w,D] and prototypes p [M,D]: [N,h,w,M] (one matMul). */
export function squaredDistances(z: tf.Tensor4D, p: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, d] = z.shape;
    const flat = tf.reshape(z, [n * h * w, d]);
    const z2 = tf.sum(tf.square(flat), 1, true);
    const p2 = tf.sum(tf.square(p), 1);
    const zp = tf.matMul(flat, p, false, true);
    return tf.reshape(tf.relu(tf.add(tf.sub(z2, tf.mul(2, zp)), p2)), [n, h, w, p.shape[0]]);
  });
}

/** Minimum over the spatial axes: [N,h,w,M] -> [N,M] (the reference's global min-pool, -maxpool(-d)). */
export class GlobalMinPool extends tf.layers.Layer {
  static className = 'GlobalMinPool';
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0], s[3]];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.min((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D, [1, 2]);
  }
}
tf.serialization.registerClass(GlobalMinPool);

/** log((d + 1) / (d + eps)) elementwise: the reference's 'log' activation of distances into similarities. */
export function logSimilarity(d: tf.Tensor, epsilon = SIMILARITY_EPSILON): tf.Tensor {
  return tf.tidy(() => tf.log(tf.div(tf.add(d, 1), tf.add(d, epsilon))));
}

/** The similarity activation as a layer (no weights). */
export class LogSimilarity extends tf.layers.Layer {
  static className = 'LogSimilarity';
  readonly epsilon: number;
  constructor(args: { name?: string; epsilon?: number } = {}) {
    super({ name: args.name });
    this.epsilon = args.epsilon ?? SIMILARITY_EPSILON;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return logSimilarity(Array.isArray(inputs) ? inputs[0] : inputs, this.epsilon);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(LogSimilarity);

/** m prototypes per class, in class order: [0 x m, 1 x m, ...] (the reference's prototype_class_identity). */
export function prototypesPerClass(numClasses: number, m: number): number[] {
  return Array.from({ length: numClasses * m }, (_, j) => Math.floor(j / m));
}

/** The last layer's initial kernel [M,K] (tfjs Dense layout): +1 where prototype j is of class k, `incorrect` otherwise. */
export function lastLayerInit(prototypeClasses: readonly number[], numClasses: number, incorrect = -0.5): tf.Tensor2D {
  const M = prototypeClasses.length;
  const w = new Float32Array(M * numClasses).fill(incorrect);
  prototypeClasses.forEach((c, j) => (w[j * numClasses + c] = 1));
  return tf.tensor2d(w, [M, numClasses]);
}

export interface ProtoPNetSpec {
  /** Add-on (latent) channels D (the paper: 128). */
  channels: number;
  /** Class of every prototype (length M). */
  prototypeClasses: number[];
  /** The last layer's weight for other classes' prototypes (the paper: -0.5). */
  incorrectWeight?: number;
}

/**
 * A ProtoPNet on the spatial output of `backbone`'s layer "features" (the conv body of any CNN family; the head after
 * it is not used). The backbone's layers are shared with `backbone` (copy it first to keep the original), so a
 * backbone trained as a plain classifier stands in for the paper's ImageNet pre-training. Add-on convs get He-normal
 * kernels (the reference: kaiming_normal, fan_out) and zero biases, seeded from `rng`; prototypes U[0,1) from `rng`.
 */
export function buildProtoPNet(backbone: tf.LayersModel, spec: ProtoPNetSpec, input: ModelInput, rng: Rng): tf.LayersModel {
  let features: tf.SymbolicTensor;
  try {
    features = backbone.getLayer(PROTO_LAYERS.features).output as tf.SymbolicTensor;
  } catch {
    throw new UserError(`buildProtoPNet: the backbone has no layer "features"; use a model from buildModel (vgg, resnet, gap, bagnet)`);
  }
  if (features.shape.length !== 4)
    throw new UserError(`buildProtoPNet: layer "features" must be a spatial map [N,h,w,C], found [${features.shape}]`);
  const bad = spec.prototypeClasses.find((c) => !Number.isInteger(c) || c < 0 || c >= input.numClasses);
  if (bad !== undefined) throw new UserError(`buildProtoPNet: prototype class ${bad} is not a class (0..${input.numClasses - 1})`);
  const conv = (name: string, activation: 'relu' | 'sigmoid') =>
    tf.layers.conv2d({
      name,
      filters: spec.channels,
      kernelSize: 1,
      activation,
      kernelInitializer: tf.initializers.heNormal({ seed: rng.seed() }),
      biasInitializer: 'zeros',
    });
  const addon = conv(PROTO_LAYERS.addon, 'relu').apply(features) as tf.SymbolicTensor;
  const latent = conv(PROTO_LAYERS.latent, 'sigmoid').apply(addon) as tf.SymbolicTensor;
  const protoLayer = new PrototypeDistances({ prototypeClasses: spec.prototypeClasses });
  const distances = protoLayer.apply(latent) as tf.SymbolicTensor;
  const minDistances = new GlobalMinPool({ name: PROTO_LAYERS.minDistances }).apply(distances) as tf.SymbolicTensor;
  const similarities = new LogSimilarity({ name: PROTO_LAYERS.similarities }).apply(minDistances) as tf.SymbolicTensor;
  const kernel = lastLayerInit(spec.prototypeClasses, input.numClasses, spec.incorrectWeight ?? -0.5);
  const logits = tf.layers
    .dense({ name: PROTO_LAYERS.logits, units: input.numClasses, useBias: false, weights: [kernel] })
    .apply(similarities);
  kernel.dispose();
  const model = tf.model({ inputs: backbone.inputs, outputs: logits as tf.SymbolicTensor, name: 'protopnet' });
  // The reference's torch.rand: U[0,1), here from the project's Rng (tfjs's seeded randomUniform gave values below 0).
  const init = rng.fork('prototypes');
  setPrototypes(
    model,
    Float32Array.from({ length: spec.prototypeClasses.length * spec.channels }, () => init.next()),
  );
  return model;
}

/** The distance layer of a ProtoPNet, or a UserError naming what is missing. */
export function distanceLayer(model: tf.LayersModel): PrototypeDistances {
  const layer = model.layers.find((l) => l instanceof PrototypeDistances);
  if (!layer) throw new UserError(`not a ProtoPNet: no PrototypeDistances layer among ${model.layers.map((l) => l.name).join(', ')}`);
  return layer as PrototypeDistances;
}

/** The prototypes [M,D] as a new tensor (the caller disposes it). */
export function getPrototypes(model: tf.LayersModel): tf.Tensor2D {
  return distanceLayer(model).getWeights()[0].clone() as tf.Tensor2D;
}

/** Replaces the prototypes with `values` [M*D] (row-major). */
export function setPrototypes(model: tf.LayersModel, values: Float32Array): void {
  const layer = distanceLayer(model);
  const shape = layer.getWeights()[0].shape as [number, number];
  if (values.length !== shape[0] * shape[1])
    throw new Error(`setPrototypes: expected ${shape[0]}x${shape[1]} values, found ${values.length}`);
  const t = tf.tensor2d(values, shape);
  layer.setWeights([t]);
  t.dispose();
}

/** The input -> latent sub-model and its receptive field (the geometry of every distance map cell). */
export function latentModel(model: tf.LayersModel): { body: tf.LayersModel; rf: LayerRF } {
  const body = tf.model({ inputs: model.inputs, outputs: model.getLayer(PROTO_LAYERS.latent).output as tf.SymbolicTensor });
  return { body, rf: receptiveField(body, PROTO_LAYERS.latent) };
}

/** Input -> [latent [N,h,w,D], distances [N,h,w,M]] sharing the model's weights. */
export function distanceModel(model: tf.LayersModel): tf.LayersModel {
  const out = [PROTO_LAYERS.latent, distanceLayer(model).name].map((n) => model.getLayer(n).output as tf.SymbolicTensor);
  return tf.model({ inputs: model.inputs, outputs: out });
}

/** Input -> [logits [N,K], min distances [N,M]] sharing the model's weights (for the loss). */
export function lossModel(model: tf.LayersModel): tf.LayersModel {
  const out = [PROTO_LAYERS.logits, PROTO_LAYERS.minDistances].map((n) => model.getLayer(n).output as tf.SymbolicTensor);
  return tf.model({ inputs: model.inputs, outputs: out });
}

/** Input -> similarities [N,M] (each prototype's max similarity over the map), sharing the model's weights. */
export function similarityModel(model: tf.LayersModel): tf.LayersModel {
  return tf.model({ inputs: model.inputs, outputs: model.getLayer(PROTO_LAYERS.similarities).output as tf.SymbolicTensor });
}

/** The class identity [M,K]: 1 where prototype j belongs to class k. */
export function classIdentity(prototypeClasses: readonly number[], numClasses: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(prototypeClasses as number[], 'int32'), numClasses).toFloat() as tf.Tensor2D);
}

/** The three prototype costs of one batch (scalars). */
export interface PrototypeCosts {
  cluster: tf.Scalar;
  separation: tf.Scalar;
  l1: tf.Scalar;
}

/**
 * The costs of the reference's train_and_test.py, in its masked-max form (a masked min would be 0 at every masked-out
 * prototype): with dmax = D (latent in [0,1]^D, so no squared distance exceeds D),
 *   Clst = mean_i (dmax - max_j (dmax - d_ij) * [class(j) = y_i]),  Sep = the same over [class(j) != y_i],
 *   L1 = sum |w_jk| over prototypes j not of class k (kernel [M,K]).
 * minDistances [N,M], labels [N] int32, identity [M,K] from classIdentity, kernel [M,K].
 */
export function prototypeCosts(
  minDistances: tf.Tensor2D,
  labels: tf.Tensor1D,
  identity: tf.Tensor2D,
  kernel: tf.Tensor2D,
  dmax: number,
): PrototypeCosts {
  return tf.tidy(() => {
    const own = tf.transpose(tf.gather(identity, labels, 1)) as tf.Tensor2D; // [N,M]: prototype j is of image i's class
    const inverted = tf.sub(dmax, minDistances);
    const clusterInv = tf.max(tf.mul(inverted, own), 1);
    const sepInv = tf.max(tf.mul(inverted, tf.sub(1, own)), 1);
    return {
      cluster: tf.mean(tf.sub(dmax, clusterInv)) as tf.Scalar,
      separation: tf.mean(tf.sub(dmax, sepInv)) as tf.Scalar,
      l1: tf.sum(tf.abs(tf.mul(kernel, tf.sub(1, identity)))) as tf.Scalar,
    };
  });
}

/** Loss coefficients (the reference: crs_ent 1, clst 0.8, sep -0.08, l1 1e-4). */
export interface CostCoefficients {
  crossEntropy: number;
  cluster: number;
  separation: number;
  l1: number;
}

export const PAPER_COEFFICIENTS: CostCoefficients = { crossEntropy: 1, cluster: 0.8, separation: -0.08, l1: 1e-4 };

/** Where one prototype was pushed: its source training image and latent cell, with the boxes on that image. */
export interface PushRecord {
  prototype: number;
  cls: number;
  /** Index of the source image in the push set, and its label (always `cls`: the search is within the class). */
  image: number;
  label: number;
  /** Latent cell [y, x] of the patch. */
  cell: [number, number];
  /** The squared distance from the prototype before the push to that patch (the minimum over the class). */
  distance: number;
  /** Receptive field of the cell on the image [y0, x0, y1, x1) clipped to the image. */
  rfBox: [number, number, number, number];
  /** Smallest box holding the pixels >= the `percentile`-th percentile of the upsampled similarity map [y0, x0, y1, x1). */
  activationBox: [number, number, number, number];
}

export interface PushOptions {
  /** Images per forward pass (default 128; the reference: 75). */
  batchSize?: number;
  /** Percentile of the high-activation box (default 95). */
  percentile?: number;
  /** Progress label (false: none). */
  progress?: string | false;
}

/**
 * The nearest latent patch of each prototype over the images of its class: per prototype, the (image, cell) that
 * minimises the squared distance, with the latent vector there. Reads `data` un-augmented, in batches.
 */
export function nearestClassPatches(
  model: tf.LayersModel,
  data: Dataset,
  opts: Pick<PushOptions, 'batchSize' | 'progress'> = {},
): { image: Int32Array; cell: Int32Array; distance: Float64Array; vectors: Float32Array; dims: number } {
  const layer = distanceLayer(model);
  const classes = layer.prototypeClasses;
  const M = classes.length;
  const net = distanceModel(model);
  const best = { image: new Int32Array(M).fill(-1), cell: new Int32Array(M), distance: new Float64Array(M).fill(Infinity) };
  let vectors = new Float32Array(0);
  let dims = 0;
  const ranges = batchRanges(data.size, opts.batchSize ?? 128);
  const bar = opts.progress === false ? null : new Progress(opts.progress ?? 'push', ranges.length);
  for (const [start, count] of ranges) {
    const idx = Array.from({ length: count }, (_, i) => start + i);
    const { x, y } = data.batch(idx);
    const [zt, dt] = tf.tidy(() => net.predict(x) as tf.Tensor[]);
    const z = zt.dataSync() as Float32Array;
    const d = dt.dataSync() as Float32Array;
    const [, h, w, D] = zt.shape as number[];
    tf.dispose([x, y, zt, dt]);
    if (!dims) {
      dims = D;
      vectors = new Float32Array(M * D);
    }
    const hw = h * w;
    for (let b = 0; b < count; b++) {
      const label = data.labels[start + b];
      for (let j = 0; j < M; j++) {
        if (classes[j] !== label) continue;
        for (let p = 0; p < hw; p++) {
          const v = d[(b * hw + p) * M + j];
          if (v < best.distance[j]) {
            best.distance[j] = v;
            best.image[j] = start + b;
            best.cell[j] = p;
            vectors.set(z.subarray((b * hw + p) * D, (b * hw + p + 1) * D), j * D);
          }
        }
      }
    }
    bar?.tick();
  }
  bar?.finish();
  const missing = classes.findIndex((_, j) => best.image[j] < 0);
  if (missing >= 0) throw new UserError(`push: prototype ${missing} is of class ${classes[missing]}, which has no image in the push set`);
  return { ...best, vectors, dims };
}

/**
 * Push (the reference's push.push_prototypes, class-specific): every prototype is replaced by its nearest latent patch
 * among the un-augmented images of `data` of its class. Returns where each went, with the receptive-field box of the
 * cell and the high-activation box (the reference's find_high_activation_crop on the similarity map upsampled to the
 * image; bilinear here, bicubic in the reference).
 */
export function pushPrototypes(model: tf.LayersModel, data: Dataset, opts: PushOptions = {}): PushRecord[] {
  const near = nearestClassPatches(model, data, opts);
  const { rf } = latentModel(model);
  const [h, w] = rf.outputSize!;
  const classes = distanceLayer(model).prototypeClasses;
  // As the reference: the activation maps of the prototypes as they were before the push, on their source images.
  const maps = similarityMapsOf(model, data, Array.from(near.image));
  setPrototypes(model, near.vectors);
  return classes.map((cls, j) => {
    const cell: [number, number] = [Math.floor(near.cell[j] / w), near.cell[j] % w];
    const plane = maps.subarray(j * h * w * classes.length, (j + 1) * h * w * classes.length);
    const own = Float32Array.from({ length: h * w }, (_, p) => plane[p * classes.length + j]);
    return {
      prototype: j,
      cls,
      image: near.image[j],
      label: data.labels[near.image[j]],
      cell,
      distance: near.distance[j],
      rfBox: cellBox(rf, cell, [data.height, data.width]),
      activationBox: highActivationBox(upsample(own, h, w, data.height, data.width), data.height, data.width, opts.percentile ?? 95),
    };
  });
}

/** Similarity maps [n,h,w,M] (log similarity of every cell's distance) of the images at `indices`. */
export function similarityMapsOf(model: tf.LayersModel, data: Dataset, indices: readonly number[]): Float32Array {
  const net = tf.model({ inputs: model.inputs, outputs: model.getLayer(distanceLayer(model).name).output as tf.SymbolicTensor });
  const { x, y } = data.batch(indices as number[]);
  const t = tf.tidy(() => logSimilarity(net.predict(x) as tf.Tensor));
  const out = t.dataSync() as Float32Array;
  tf.dispose([x, y, t]);
  return out;
}

/** The receptive field of a latent cell on the image, [y0, x0, y1, x1) clipped to the image. */
export function cellBox(rf: Pick<LayerRF, 'y' | 'x'>, cell: [number, number], image: [number, number]): [number, number, number, number] {
  const y0 = rf.y.start + cell[0] * rf.y.jump;
  const x0 = rf.x.start + cell[1] * rf.x.jump;
  return [Math.max(0, y0), Math.max(0, x0), Math.min(image[0], y0 + rf.y.size), Math.min(image[1], x0 + rf.x.size)];
}

/**
 * A map [h*w] resized to [H*W] bilinearly with half-pixel centres (as cv2.resize; the reference uses bicubic), clamped
 * at the borders.
 */
export function upsample(map: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const coord = (q: number, n: number, N: number) => {
    const s = Math.min(n - 1, Math.max(0, ((q + 0.5) * n) / N - 0.5));
    const i0 = Math.floor(s);
    return [i0, Math.min(n - 1, i0 + 1), s - i0] as const;
  };
  for (let Y = 0; Y < H; Y++) {
    const [y0, y1, fy] = coord(Y, h, H);
    for (let X = 0; X < W; X++) {
      const [x0, x1, fx] = coord(X, w, W);
      const top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
      const bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
      out[Y * W + X] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/**
 * The reference's find_high_activation_crop: the smallest box [y0, x0, y1, x1) holding every pixel whose value is at
 * least the `percentile`-th percentile of the map (numpy's linear-interpolation percentile).
 */
export function highActivationBox(map: ArrayLike<number>, H: number, W: number, percentile = 95): [number, number, number, number] {
  const sorted = Float64Array.from(map).sort();
  const pos = ((sorted.length - 1) * percentile) / 100;
  const lo = Math.floor(pos);
  const threshold = sorted[lo] + (sorted[Math.min(sorted.length - 1, lo + 1)] - sorted[lo]) * (pos - lo);
  let [y0, x0, y1, x1] = [H, W, 0, 0];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (map[y * W + x] < threshold) continue;
      y0 = Math.min(y0, y);
      x0 = Math.min(x0, x);
      y1 = Math.max(y1, y + 1);
      x1 = Math.max(x1, x + 1);
    }
  }
  return [y0, x0, y1, x1];
}

/** The k nearest training images of each prototype (one patch per image: the image's closest cell). */
export interface NearestPatches {
  /** Per prototype, k entries sorted by distance. */
  neighbours: { image: number; label: number; cell: [number, number]; distance: number }[][];
}

/**
 * For every prototype, the k training images whose closest latent cell is nearest to it, over all classes (the
 * reference's find_k_nearest_patches_to_prototypes: each image contributes its closest patch).
 */
export function nearestPatches(
  model: tf.LayersModel,
  data: Dataset,
  k: number,
  opts: Pick<PushOptions, 'batchSize' | 'progress'> = {},
): NearestPatches {
  const M = distanceLayer(model).count;
  const net = distanceModel(model);
  const lists: { image: number; label: number; cell: [number, number]; distance: number }[][] = Array.from({ length: M }, () => []);
  const ranges = batchRanges(data.size, opts.batchSize ?? 128);
  const bar = opts.progress === false ? null : new Progress(opts.progress ?? 'nearest patches', ranges.length);
  for (const [start, count] of ranges) {
    const { x, y } = data.batch(Array.from({ length: count }, (_, i) => start + i));
    const dt = tf.tidy(() => (net.predict(x) as tf.Tensor[])[1]);
    const d = dt.dataSync() as Float32Array;
    const [, h, w] = dt.shape as number[];
    tf.dispose([x, y, dt]);
    for (let b = 0; b < count; b++) {
      for (let j = 0; j < M; j++) {
        let best = Infinity;
        let at = 0;
        for (let p = 0; p < h * w; p++) {
          const v = d[(b * h * w + p) * M + j];
          if (v < best) {
            best = v;
            at = p;
          }
        }
        const list = lists[j];
        if (list.length === k && best >= list[k - 1].distance) continue;
        list.push({ image: start + b, label: data.labels[start + b], cell: [Math.floor(at / w), at % w], distance: best });
        list.sort((a, c) => a.distance - c.distance || a.image - c.image);
        if (list.length > k) list.pop();
      }
    }
    bar?.tick();
  }
  bar?.finish();
  return { neighbours: lists };
}

/**
 * The same ProtoPNet with only the prototypes `keep` (indices, in order): a new model whose backbone and add-on are
 * copies, whose prototypes and last-layer rows are those kept (the reference's prune_prototypes).
 */
export function keepPrototypes(
  model: tf.LayersModel,
  keep: readonly number[],
  buildBackbone: () => tf.LayersModel,
  input: ModelInput,
): tf.LayersModel {
  const layer = distanceLayer(model);
  if (!keep.length) throw new UserError('pruning would remove every prototype; keep at least one');
  const classes = keep.map((j) => layer.prototypeClasses[j]);
  const channels = model.getLayer(PROTO_LAYERS.latent).getWeights()[0].shape[3] as number;
  const pruned = buildProtoPNet(buildBackbone(), { channels, prototypeClasses: classes }, input, new Rng(0));
  for (const l of pruned.layers) {
    if (l instanceof PrototypeDistances || l.name === PROTO_LAYERS.logits || !l.weights.length) continue;
    l.setWeights(model.getLayer(l.name).getWeights());
  }
  tf.tidy(() => {
    const idx = tf.tensor1d(keep as number[], 'int32');
    pruned.getLayer(layer.name).setWeights([tf.gather(layer.getWeights()[0], idx)]);
    pruned.getLayer(PROTO_LAYERS.logits).setWeights([tf.gather(model.getLayer(PROTO_LAYERS.logits).getWeights()[0], idx)]);
  });
  return pruned;
}

// ---- Slow literal twins of the paper's formulas, in float64 loops: the fast code is tested against them. ----

/** d[n,y,x,j] = sum_c (z[n,y,x,c] - p[j,c])^2, for z [n,h,w,D] and p [M,D]. */
export function squaredDistancesLiteral(
  z: ArrayLike<number>,
  shape: [number, number, number, number],
  p: ArrayLike<number>,
  M: number,
): Float64Array {
  const [n, h, w, D] = shape;
  const out = new Float64Array(n * h * w * M);
  for (let cell = 0; cell < n * h * w; cell++) {
    for (let j = 0; j < M; j++) {
      let s = 0;
      for (let c = 0; c < D; c++) s += (z[cell * D + c] - p[j * D + c]) ** 2;
      out[cell * M + j] = s;
    }
  }
  return out;
}

/** The paper's similarity of a distance: log((d + 1) / (d + eps)). */
export function similarityLiteral(d: number, epsilon = SIMILARITY_EPSILON): number {
  return Math.log((d + 1) / (d + epsilon));
}

/**
 * The costs from their definitions (Chen et al. 2019, Sec. 2.2): Clst = mean_i min_{j of class y_i} d_ij,
 * Sep = mean_i min_{j not of class y_i} d_ij, L1 = sum over (j, k) with class(j) != k of |w_jk|. minDistances [N*M],
 * kernel [M*K] (row j holds prototype j's weights).
 */
export function prototypeCostsLiteral(
  minDistances: ArrayLike<number>,
  labels: ArrayLike<number>,
  prototypeClasses: readonly number[],
  kernel: ArrayLike<number>,
  K: number,
): { cluster: number; separation: number; l1: number } {
  const M = prototypeClasses.length;
  const N = labels.length;
  let cluster = 0;
  let separation = 0;
  for (let i = 0; i < N; i++) {
    let own = Infinity;
    let other = Infinity;
    for (let j = 0; j < M; j++) {
      const d = minDistances[i * M + j];
      if (prototypeClasses[j] === labels[i]) own = Math.min(own, d);
      else other = Math.min(other, d);
    }
    cluster += own / N;
    separation += other / N;
  }
  let l1 = 0;
  for (let j = 0; j < M; j++) for (let k = 0; k < K; k++) if (prototypeClasses[j] !== k) l1 += Math.abs(kernel[j * K + k]);
  return { cluster, separation, l1 };
}
