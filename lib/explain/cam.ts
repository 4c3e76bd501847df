import * as tf from '@tensorflow/tfjs';
import { featureModel } from '../models/features';
import { receptiveField, receptiveFields } from '../models/rf';
import { mapBatches } from '../util/batches';
import { UserError } from '../util/errors';
import { ClassHeatmaps, Heatmaps, MapGeometry } from './heatmaps';
import { AttributeOptions, checkInputs, ExplanationMethod, MethodInfo, numClasses } from './method';

/**
 * Class activation maps over a spatial feature layer f [N,h,w,D]: map(y,x) = rectify(sum_d a_d f_d(y,x)), with channel
 * weights a [N,D] per image and target. A template method (as in pytorch-grad-cam): CAM takes a from the dense layer
 * after global average pooling (Zhou et al., CVPR 2016); Grad-CAM overrides `channelWeights` with the spatial mean of
 * d logit / d f and rectifies with a ReLU (Selvaraju et al., ICCV 2017). Maps are at the feature layer's resolution;
 * the geometry (its receptive field) places them on the image.
 */

/** The GAP head of a model: spatial layer -> GlobalAveragePooling2D -> Dense (the output), or why there is none. */
export function gapHead(model: tf.LayersModel): { featureLayer: string; dense: tf.layers.Layer } | string {
  const last = model.layers[model.layers.length - 1];
  const inbound = (l: tf.layers.Layer) => (l.inboundNodes.length ? l.inboundNodes[0].inboundLayers : []);
  if (last.getClassName() !== 'Dense')
    return `needs a global-average-pooling -> dense head: the output layer "${last.name}" is ${last.getClassName()}, not Dense`;
  const pool = inbound(last)[0];
  if (!pool || pool.getClassName() !== 'GlobalAveragePooling2D') {
    return (
      `needs a global-average-pooling -> dense head: the dense output layer "${last.name}" reads "${pool?.name}" ` +
      `(${pool?.getClassName()}), not GlobalAveragePooling2D`
    );
  }
  const cfg = last.getConfig() as { activation?: string };
  if (cfg.activation && cfg.activation !== 'linear') return `needs logits: the output layer "${last.name}" applies ${cfg.activation}`;
  return { featureLayer: inbound(pool)[0].name, dense: last };
}

/**
 * The model cut after layer `name`: `body` maps images to that layer's output, `head` maps such a tensor to the
 * logits (re-applying the later layers in inference mode). Throws when a later layer reads a layer before the cut.
 */
export function splitAt(model: tf.LayersModel, name: string): { body: tf.LayersModel; head: (f: tf.Tensor) => tf.Tensor } {
  const at = model.layers.findIndex((l) => l.name === name);
  if (at < 0) throw new UserError(`no layer "${name}" in the model; layers: ${model.layers.map((l) => l.name).join(', ')}`);
  const body = featureModel(model, [name]);
  const later = model.layers.slice(at + 1);
  const head = (f: tf.Tensor): tf.Tensor => {
    const values = new Map<string, tf.Tensor>([[name, f]]);
    for (const layer of later) {
      const inputs = layer.inboundNodes[0].inboundLayers.map((l) => {
        const v = values.get(l.name);
        if (!v)
          throw new UserError(`cannot cut the model after "${name}": layer "${layer.name}" also reads "${l.name}" from before the cut`);
        return v;
      });
      values.set(layer.name, layer.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false }) as tf.Tensor);
    }
    return values.get(later.length ? later[later.length - 1].name : name)!;
  };
  return { body, head };
}

export interface CamOptions extends AttributeOptions {
  /** Default 64 images per pass. */
  batchSize?: number;
}

export const CAM_INFO: MethodInfo = {
  id: 'cam',
  label: 'CAM',
  signed: true,
  needs: { gapHead: true },
  summary: 'class activation map: the dense weights of the class applied to the last feature map (Zhou et al. 2016)',
};

export const GRAD_CAM_INFO: MethodInfo = {
  id: 'grad-cam',
  label: 'Grad-CAM',
  signed: false,
  needs: { gradients: true },
  summary: 'ReLU of the feature maps weighted by their mean gradient of the class logit (Selvaraju et al. 2017)',
};

/**
 * Why the template cannot place a feature map of `model` on the image, or null: it needs the receptive field of every
 * layer (lib/models/rf.ts), which has no rule for some layers (e.g. a ProtoPNet's prototype layer).
 */
export function geometryProblem(model: tf.LayersModel): string | null {
  try {
    receptiveFields(model);
    return null;
  } catch (e) {
    return `has a layer whose receptive field lib/models/rf.ts cannot compute (${(e as Error).message})`;
  }
}

/** The template: a variant gives its feature layer, its channel weights and its rectification. */
abstract class WeightedFeatureMap implements ExplanationMethod<CamOptions> {
  readonly layer: string;
  protected readonly body: tf.LayersModel;
  protected readonly head: (f: tf.Tensor) => tf.Tensor;
  readonly geometry: MapGeometry;
  protected readonly mapSize: [number, number];

  /** `layer`: the feature layer (default: `defaultLayer()`). */
  constructor(
    readonly info: MethodInfo,
    readonly model: tf.LayersModel,
    layer?: string,
  ) {
    this.layer = layer ?? this.defaultLayer();
    const split = splitAt(model, this.layer);
    this.body = split.body;
    this.head = split.head;
    const rf = receptiveField(model, this.layer);
    if (!rf.outputSize || rf.global) throw new UserError(`${this.info.id}: layer "${this.layer}" is not a spatial feature map`);
    this.geometry = { y: rf.y, x: rf.x };
    this.mapSize = rf.outputSize;
  }

  /** The feature layer used when none is given. */
  protected abstract defaultLayer(): string;

  /** Channel weights a [N,D] of the targets, for features f [N,h,w,D] (inside tf.tidy). */
  protected abstract channelWeights(f: tf.Tensor4D, targets: number[]): tf.Tensor2D;

  /** Applied to the weighted sum [N,h,w]: identity unless a variant overrides it. */
  protected rectify(map: tf.Tensor3D): tf.Tensor3D {
    return map;
  }

  attribute(x: tf.Tensor4D, targets: ArrayLike<number>, options: CamOptions = {}): Heatmaps {
    checkInputs(this.info, this.model, x, targets);
    const t = Array.from(targets);
    const values = mapBatches(x, options.batchSize ?? 64, (xb, start, count) => {
      const f = this.body.predict(xb) as tf.Tensor4D;
      const a = this.channelWeights(f, t.slice(start, start + count));
      const [nb, h, w, d] = f.shape;
      // sum_d a[n,d] f[n,y,x,d] as a batched matmul [n, h*w, d] x [n, d, 1].
      return this.rectify(tf.reshape(tf.matMul(tf.reshape(f, [nb, h * w, d]), tf.reshape(a, [nb, d, 1])), [nb, h, w]));
    });
    return { ...this.frame(x), targets: t, values };
  }

  /** Everything of the Heatmaps but the values and targets. */
  protected frame(x: tf.Tensor4D) {
    const [n, H, W] = x.shape;
    const [height, width] = this.mapSize;
    return { method: this.info.id, n, height, width, imageHeight: H, imageWidth: W, geometry: this.geometry, signed: this.info.signed };
  }
}

/** CAM: channel weights are the dense layer's column of the target class; no rectification. Needs a GAP head. */
export class CAM extends WeightedFeatureMap {
  /** `layer`: the feature layer; CAM requires the one before the GAP head (the default). */
  constructor(model: tf.LayersModel, layer?: string) {
    super(CAM_INFO, model, layer);
  }

  protected defaultLayer(): string {
    const head = gapHead(this.model);
    if (typeof head === 'string') throw new UserError(`cam: ${head}`);
    return head.featureLayer;
  }

  /** The dense kernel [D, K] (checked to read the feature layer through GAP). */
  private kernel(): tf.Tensor2D {
    const head = gapHead(this.model);
    if (typeof head === 'string' || head.featureLayer !== this.layer)
      throw new UserError(`cam: layer "${this.layer}" does not feed the GAP head`);
    return head.dense.getWeights()[0] as tf.Tensor2D;
  }

  protected channelWeights(_f: tf.Tensor4D, targets: number[]): tf.Tensor2D {
    return tf.transpose(tf.gather(this.kernel(), tf.tensor1d(targets, 'int32'), 1)) as tf.Tensor2D;
  }

  /** Every class's CAM [n,h,w,K] at once: f times the dense kernel. */
  allClasses(x: tf.Tensor4D, options: CamOptions = {}): ClassHeatmaps {
    checkInputs(
      this.info,
      this.model,
      x,
      Array.from({ length: x.shape[0] }, () => 0),
    );
    const kernel = this.kernel();
    const values = mapBatches(x, options.batchSize ?? 64, (xb) => {
      const f = this.body.predict(xb) as tf.Tensor4D;
      const [nb, h, w, d] = f.shape;
      return tf.reshape(tf.matMul(tf.reshape(f, [nb * h * w, d]), kernel), [nb, h, w, -1]);
    });
    return { ...this.frame(x), classes: numClasses(this.model), values };
  }
}

/** Grad-CAM: weights = spatial mean of d logit_t / d f; ReLU of the weighted sum. Works on any spatial layer. */
export class GradCAM extends WeightedFeatureMap {
  /** `layer`: any spatial layer (default: the GAP head's feature layer if there is one, else the last spatial layer). */
  constructor(model: tf.LayersModel, layer?: string) {
    super(GRAD_CAM_INFO, model, layer);
  }

  /** Default layer: the GAP head's feature layer if there is one, else the last spatial layer. */
  protected defaultLayer(): string {
    const head = gapHead(this.model);
    return typeof head === 'string' ? receptiveField(this.model).name : head.featureLayer;
  }

  protected channelWeights(f: tf.Tensor4D, targets: number[]): tf.Tensor2D {
    const onehot = tf.oneHot(tf.tensor1d(targets, 'int32'), numClasses(this.model));
    const g = tf.grad((features: tf.Tensor) => tf.sum(tf.mul(this.head(features), onehot)))(f);
    return tf.mean(g, [1, 2]) as tf.Tensor2D;
  }

  protected override rectify(map: tf.Tensor3D): tf.Tensor3D {
    return tf.relu(map);
  }
}

/**
 * CAM written literally from its definition, M_c(y,x) = sum_d w[d,c] f_d(y,x), with plain loops in float64 over the
 * feature map `f` [n,h,w,D] (values) and the dense kernel `w` [D,K]: the twin the fast CAM is tested against.
 */
export function camLiteral(
  f: ArrayLike<number>,
  shape: [number, number, number, number],
  w: ArrayLike<number>,
  K: number,
  targets: ArrayLike<number>,
): Float32Array {
  const [n, h, wd, D] = shape;
  const out = new Float32Array(n * h * wd);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < h * wd; p++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += w[d * K + targets[i]] * f[(i * h * wd + p) * D + d];
      out[i * h * wd + p] = s;
    }
  }
  return out;
}
