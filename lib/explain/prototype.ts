import * as tf from '@tensorflow/tfjs';
import { distanceLayer, latentModel, logSimilarity, PROTO_LAYERS } from '../models/prototype';
import { mapBatches } from '../util/batches';
import { UserError } from '../util/errors';
import { ClassHeatmaps, Heatmaps, MapGeometry } from './heatmaps';
import { AttributeOptions, checkInputs, ExplanationMethod, MethodInfo, numClasses } from './method';

/**
 * Prototype activations of a ProtoPNet (Chen et al., NeurIPS 2019): the similarity map log((d+1)/(d+1e-4)) of one
 * prototype over the latent grid, placed on the image by the latent layer's receptive field (not upsampled: the
 * paper's upsampled maps are not faithful to where the evidence comes from; plot/overlay draws each cell on its
 * field). By default the prototype is the target class's top prototype on that image: the one with the most points
 * w[j, target] * max similarity_j, as in the paper's reasoning figure.
 */

export interface PrototypeOptions extends AttributeOptions {
  /** Default 64 images per pass. */
  batchSize?: number;
  /** Show this prototype's map for every image (default: the target class's top prototype on each image). */
  prototype?: number;
}

export const PROTOTYPE_INFO: MethodInfo = {
  id: 'prototype',
  label: 'Prototype activation',
  signed: false,
  needs: { prototypes: true },
  summary: "similarity map of the target class's top prototype over the latent grid (ProtoPNet, Chen et al. 2019)",
};

/** Why a model is not a ProtoPNet (null when it is). */
export function prototypeProblem(model: tf.LayersModel): string | null {
  try {
    distanceLayer(model);
    model.getLayer(PROTO_LAYERS.logits);
    return null;
  } catch {
    return 'needs a ProtoPNet (a PrototypeDistances layer and a "logits" layer; lib/models/prototype.ts)';
  }
}

/** All similarity maps of a batch: values [n,h,w,M], with the geometry of the latent layer. */
export interface SimilarityMaps extends Omit<Heatmaps, 'targets' | 'values'> {
  prototypes: number;
  values: Float32Array;
}

export class PrototypeActivations implements ExplanationMethod<PrototypeOptions> {
  readonly info = PROTOTYPE_INFO;
  readonly geometry: MapGeometry;
  /** Class of every prototype. */
  readonly prototypeClasses: number[];
  private readonly distances: tf.LayersModel;
  private readonly mapSize: [number, number];

  constructor(readonly model: tf.LayersModel) {
    const problem = prototypeProblem(model);
    if (problem) throw new UserError(`prototype: the model ${problem}`);
    const layer = distanceLayer(model);
    this.prototypeClasses = layer.prototypeClasses;
    const { rf } = latentModel(model);
    this.geometry = { y: rf.y, x: rf.x };
    this.mapSize = rf.outputSize!;
    this.distances = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
  }

  /** Every prototype's similarity map for x [N,H,W,C]: values [n,h,w,M]. */
  similarityMaps(x: tf.Tensor4D, options: PrototypeOptions = {}): SimilarityMaps {
    checkInputs(
      this.info,
      this.model,
      x,
      Array.from({ length: x.shape[0] }, () => 0),
    );
    const values = mapBatches(x, options.batchSize ?? 64, (xb) => logSimilarity(this.distances.predict(xb) as tf.Tensor));
    return { ...this.frame(x), prototypes: this.prototypeClasses.length, values };
  }

  attribute(x: tf.Tensor4D, targets: ArrayLike<number>, options: PrototypeOptions = {}): Heatmaps {
    checkInputs(this.info, this.model, x, targets);
    const M = this.prototypeClasses.length;
    if (options.prototype !== undefined && !(Number.isInteger(options.prototype) && options.prototype >= 0 && options.prototype < M)) {
      throw new UserError(`prototype: prototype ${options.prototype} does not exist (the model has 0..${M - 1})`);
    }
    const maps = this.similarityMaps(x, options);
    const t = Array.from(targets);
    const chosen = t.map((c, i) => options.prototype ?? this.topPrototypes(maps, i, c, 1)[0]);
    return { ...this.frame(x), targets: t, values: pick(maps, chosen) };
  }

  /** For every class, the map of that class's top prototype: values [n,h,w,K]. */
  allClasses(x: tf.Tensor4D, options: PrototypeOptions = {}): ClassHeatmaps {
    const maps = this.similarityMaps(x, options);
    const K = numClasses(this.model);
    const hw = maps.height * maps.width;
    const values = new Float32Array(maps.n * hw * K);
    for (let c = 0; c < K; c++) {
      const one = pick(
        maps,
        Array.from({ length: maps.n }, (_, i) => this.topPrototypes(maps, i, c, 1)[0]),
      );
      for (let i = 0; i < maps.n; i++) for (let p = 0; p < hw; p++) values[(i * hw + p) * K + c] = one[i * hw + p];
    }
    return { ...this.frame(x), classes: K, values };
  }

  /**
   * The `k` prototypes with the most points for class c on image i: points_j = w[j, c] * max_cell similarity_j
   * (ties: the lower index).
   */
  topPrototypes(maps: SimilarityMaps, i: number, c: number, k: number): number[] {
    const kernel = this.model.getLayer(PROTO_LAYERS.logits).getWeights()[0].dataSync();
    const K = numClasses(this.model);
    const max = maxSimilarities(maps, i);
    return Array.from(max, (s, j) => ({ j, points: kernel[j * K + c] * s }))
      .sort((a, b) => b.points - a.points || a.j - b.j)
      .slice(0, k)
      .map((e) => e.j);
  }

  private frame(x: tf.Tensor4D) {
    const [n, H, W] = x.shape;
    const [height, width] = this.mapSize;
    return { method: this.info.id, n, height, width, imageHeight: H, imageWidth: W, geometry: this.geometry, signed: false };
  }
}

/** Max over the cells of image i's similarity map, per prototype: [M]. */
export function maxSimilarities(maps: SimilarityMaps, i: number): Float32Array {
  const hw = maps.height * maps.width;
  const M = maps.prototypes;
  const out = new Float32Array(M).fill(-Infinity);
  for (let p = 0; p < hw; p++) for (let j = 0; j < M; j++) out[j] = Math.max(out[j], maps.values[(i * hw + p) * M + j]);
  return out;
}

/** Image i's map of prototype chosen[i], for every image: [n,h,w]. */
function pick(maps: SimilarityMaps, chosen: number[]): Float32Array {
  const hw = maps.height * maps.width;
  const M = maps.prototypes;
  const out = new Float32Array(maps.n * hw);
  chosen.forEach((j, i) => {
    for (let p = 0; p < hw; p++) out[i * hw + p] = maps.values[(i * hw + p) * M + j];
  });
  return out;
}
