import * as tf from '@tensorflow/tfjs';
import { BlurPool, blurPads } from './blurpool';

/**
 * Receptive-field arithmetic (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks",
 * Distill 2019) along one spatial axis, in input pixels:
 * - size: how many input pixels one output unit sees;
 * - jump: the distance in input pixels between neighbouring output units (the product of strides);
 * - start: the input coordinate of the first (top/left) pixel of unit 0's field; may be negative where padding
 *   extends the field past the image. Unit i sees [start + i*jump, start + i*jump + size - 1].
 */
export interface AxisRF {
  size: number;
  jump: number;
  start: number;
}

export interface LayerRF {
  name: string;
  className: string;
  /** Output map size [h, w] (null for non-spatial outputs). */
  outputSize: [number, number] | null;
  /** True once a layer mixes every location (GAP, flatten, dense on vectors): the field is the whole image. */
  global: boolean;
  y: AxisRF;
  x: AxisRF;
}

const IDENTITY = new Set([
  'BatchNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'Dropout',
  'SpatialDropout2D',
  'GaussianNoise',
  'Rescaling',
  'LayerNormalization',
]);
const GLOBAL = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten']);
const MERGE = new Set(['Add', 'Average', 'Multiply', 'Maximum', 'Minimum', 'Concatenate', 'Subtract']);

function pair(v: number | number[] | undefined, fallback: number): [number, number] {
  if (v == null) return [fallback, fallback];
  return Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v, v];
}

/** TF's "same" padding before the first element: floor(total / 2). */
function samePadBefore(n: number, k: number, s: number): number {
  const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  return Math.floor(total / 2);
}

function spatial(shape: tf.Shape): [number, number] | null {
  return shape.length === 4 ? [shape[1] as number, shape[2] as number] : null;
}

/** One unit's field for a layer applying a window (kernel k, stride s, dilation d) with `pad` before. */
function window(rf: AxisRF, k: number, s: number, d: number, pad: number): AxisRF {
  const keff = d * (k - 1) + 1;
  return { size: rf.size + (keff - 1) * rf.jump, jump: rf.jump * s, start: rf.start - pad * rf.jump };
}

/**
 * The receptive field of every layer's output of a functional tfjs model with one image input, in topological
 * order. Handles conv, depthwise/separable conv, max/average pooling, BlurPool, cropping, zero padding, merges
 * (the union of the inputs' fields), elementwise layers, and global layers. Throws on other layer classes.
 */
export function receptiveFields(model: tf.LayersModel): LayerRF[] {
  const byName = new Map<string, LayerRF>();
  const out: LayerRF[] = [];
  for (const layer of model.layers) {
    const className = layer.getClassName();
    const inbound = layer.inboundNodes.length ? layer.inboundNodes[0].inboundLayers : [];
    const inputs = inbound.map((l) => {
      const r = byName.get(l.name);
      if (!r) throw new Error(`receptiveFields: layer ${layer.name} has input ${l.name} not seen before`);
      return r;
    });
    const outShape = (Array.isArray(layer.outputShape[0]) ? layer.outputShape[0] : layer.outputShape) as tf.Shape;
    const outputSize = spatial(outShape);
    let result: Omit<LayerRF, 'name' | 'className' | 'outputSize'>;
    const prev = inputs[0];
    if (className === 'InputLayer') {
      result = { global: false, y: { size: 1, jump: 1, start: 0 }, x: { size: 1, jump: 1, start: 0 } };
    } else if (prev && prev.global) {
      result = { ...prev };
    } else if (MERGE.has(className)) {
      const union = (axis: 'y' | 'x'): AxisRF => {
        const jump = inputs[0][axis].jump;
        if (inputs.some((r) => r[axis].jump !== jump)) throw new Error(`receptiveFields: ${layer.name} merges maps of different strides`);
        const start = Math.min(...inputs.map((r) => r[axis].start));
        const end = Math.max(...inputs.map((r) => r[axis].start + r[axis].size));
        return { size: end - start, jump, start };
      };
      result = { global: false, y: union('y'), x: union('x') };
    } else if (IDENTITY.has(className)) {
      result = { ...prev };
    } else if (GLOBAL.has(className)) {
      result = { ...prev, global: true };
    } else if (className === 'Dense') {
      result = { ...prev, global: prev.global || outShape.length !== 4 };
    } else {
      const cfg = layer.getConfig() as Record<string, unknown>;
      const inShape = spatial(layer.inboundNodes[0].inputShapes[0] as tf.Shape);
      if (!inShape) throw new Error(`receptiveFields: ${layer.name} (${className}) expects a 4-D input`);
      let k: [number, number];
      let s: [number, number];
      let d: [number, number] = [1, 1];
      let padMode: 'same' | 'valid' | [[number, number], [number, number]];
      if (['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D'].includes(className)) {
        k = pair(cfg.kernelSize as number | number[], 1);
        s = pair(cfg.strides as number | number[], 1);
        d = pair(cfg.dilationRate as number | number[], 1);
        padMode = cfg.padding as 'same' | 'valid';
      } else if (['MaxPooling2D', 'AveragePooling2D'].includes(className)) {
        k = pair(cfg.poolSize as number | number[], 2);
        s = pair((cfg.strides as number | number[] | null) ?? (cfg.poolSize as number | number[]), 2);
        padMode = cfg.padding as 'same' | 'valid';
      } else if (layer instanceof BlurPool) {
        k = [layer.kernelSize, layer.kernelSize];
        s = [layer.stride, layer.stride];
        const p = blurPads(layer.kernelSize);
        padMode = [p, p];
      } else if (className === 'Cropping2D') {
        const c = cfg.cropping as [[number, number], [number, number]];
        // Cropping c before = a 1x1 window with padding -c.
        padMode = [
          [-c[0][0], 0],
          [-c[1][0], 0],
        ];
        k = [1, 1];
        s = [1, 1];
      } else if (className === 'ZeroPadding2D') {
        const p = cfg.padding as [[number, number], [number, number]];
        padMode = [p[0], p[1]];
        k = [1, 1];
        s = [1, 1];
      } else {
        throw new Error(`receptiveFields: no rule for layer ${layer.name} of class ${className}`);
      }
      const pad = (axis: 0 | 1): number => {
        if (padMode === 'valid') return 0;
        if (padMode === 'same') return samePadBefore(inShape[axis], d[axis] * (k[axis] - 1) + 1, s[axis]);
        return padMode[axis][0];
      };
      result = { global: false, y: window(prev.y, k[0], s[0], d[0], pad(0)), x: window(prev.x, k[1], s[1], d[1], pad(1)) };
    }
    const rf: LayerRF = { name: layer.name, className, outputSize, global: result.global, y: { ...result.y }, x: { ...result.x } };
    byName.set(layer.name, rf);
    out.push(rf);
  }
  return out;
}

/** The receptive field of one named layer (default: the last spatial layer before the head). */
export function receptiveField(model: tf.LayersModel, layerName?: string): LayerRF {
  const all = receptiveFields(model);
  if (layerName) {
    const found = all.find((r) => r.name === layerName);
    if (!found) throw new Error(`receptiveField: no layer "${layerName}"; layers: ${all.map((r) => r.name).join(', ')}`);
    return found;
  }
  const spatialLayers = all.filter((r) => !r.global && r.outputSize);
  return spatialLayers[spatialLayers.length - 1];
}

/** The input rectangle [y0, x0, y1, x1] (inclusive, clipped to the image) seen by unit (i, j) of a layer. */
export function unitField(rf: LayerRF, i: number, j: number, imageSize: [number, number]): [number, number, number, number] {
  const y0 = rf.y.start + i * rf.y.jump;
  const x0 = rf.x.start + j * rf.x.jump;
  return [Math.max(0, y0), Math.max(0, x0), Math.min(imageSize[0] - 1, y0 + rf.y.size - 1), Math.min(imageSize[1] - 1, x0 + rf.x.size - 1)];
}
