/**
 * Inference on the torch backend without tfjs-layers' per-call work (`fuseLayersPredict`).
 *
 * Profile of the reference net's `model.predict` (batch 64, one thread, CPU time): 24.1 ms a batch, of which 4.7 ms
 * is predict's own loop (it cuts every input into batches of 32 with a copying Slice, runs the graph executor on each
 * and concatenates the results) and about 0.6 ms the executor's per-layer work (`apply`: input checks, name scopes,
 * recipient counts); the kernels themselves take the rest. On this backend `predict` instead runs a plan compiled
 * once per model: its layers in topological order, each `call`ed directly, intermediates disposed after their last
 * reader, the whole input in one pass up to `PREDICT_BATCH` images (tfjs: 32), no slice or concat when it fits.
 * Fused steps, each one native kernel: a conv chain, Conv2D [> BatchNormalization] [> ReLU] [> 'valid' MaxPooling2D]
 * (batch norm folded into the conv's weights; with pooling, TorchConvPool: conv, bias, pool, then the activation on the
 * pooled map, exact as relu is nondecreasing), and a residual Add read only by a ReLU (TorchAddRelu). Where the addon
 * has oneDNN's API (TorchDnnlConv), a chain is one oneDNN primitive with the relu as a post-op (a 2x2 stride-2 pool
 * then runs as the addon's own loop, no argmax; other pools keep TorchConvPool), and a residual Add > ReLU whose one
 * input is such a chain (linear, read only by the add, not on a crop) joins it as a sum post-op: the conv's output is
 * written once. Its folded weights are kept natively, reordered, under a key naming the data they came from
 * (weightKey), so a model's batch norm is folded once, not on every call. A Cropping2D read only by a conv or add
 * (BagNet's residual crops) is not copied as a layer (tfjs-layers' Cropping2D copies twice: a Slice per axis): an add
 * reads it in place; a conv gathers only the pixels it reads (every s-th of a 1x1 conv of stride s).
 *
 * Only models built from the layer classes in PLAIN_LAYERS (one output each, one model input) take the plan, and only
 * inputs whose shape the model accepts (tfjs-layers' predict gives its own error for the others); anything else (and
 * any call with gradients recorded, or another backend) runs tfjs-layers' own predict. Results equal tfjs-layers'
 * bit for bit on the same batch without batch norm; folding batch norm rounds differently (differences around 1e-6).
 */
import { randomBytes } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import { isPlainReluLayer } from './batchnorm';
import type { ConvLayerLike } from './conv-fusion';
import type { CropLayerLike } from './crop';

/** Images per pass of the plan when predict is called without a batchSize (tfjs-layers' default is 32). */
export const PREDICT_BATCH = 256;

/** Layer classes whose `call(input, {})` is their whole inference behaviour (no masks, no state, one output). */
const PLAIN_LAYERS = new Set([
  'Conv2D',
  'DepthwiseConv2D',
  'Dense',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'BatchNormalization',
  'ReLU',
  'Activation',
  'Softmax',
  'Add',
  'Concatenate',
  'Flatten',
  'Reshape',
  'Cropping2D',
  'ZeroPadding2D',
  'Dropout',
  'BlurPool',
]);

/** The parts of tfjs-layers' SymbolicTensor and Layer the plan reads. */
interface Sym {
  id: number;
  sourceLayer: LayerLike;
  nodeIndex: number;
  inputs: Sym[];
}
interface LayerLike {
  name: string;
  inboundNodes: { outputTensors: Sym[] }[];
  getClassName(): string;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}
type ConvLike = LayerLike & ConvLayerLike;
interface PoolLike extends LayerLike {
  poolSize: number[];
  strides: number[];
  padding: string;
  dataFormat: string;
}

/** One step: a layer's call (or a fused conv+pool) on earlier values, writing value `out`. */
interface Step {
  run(inputs: tf.Tensor[]): tf.Tensor;
  inputs: number[];
  out: number;
  /** Values no later step reads: disposed after this step. */
  release: number[];
}

interface Plan {
  input: number;
  outputs: number[];
  steps: Step[];
}

/** The symbolic tensors from the input to the outputs, each after its inputs (depth-first from the outputs). */
function topological(outputs: Sym[]): Sym[] {
  const order: Sym[] = [];
  const seen = new Set<number>();
  const visit = (t: Sym) => {
    if (seen.has(t.id)) return;
    seen.add(t.id);
    for (const i of t.inputs) visit(i);
    order.push(t);
  };
  outputs.forEach(visit);
  return order;
}

interface BatchNormLike extends LayerLike {
  axis: number;
  epsilon: number;
  gamma?: { read(): tf.Tensor } | null;
  beta?: { read(): tf.Tensor } | null;
  movingMean: { read(): tf.Tensor };
  movingVariance: { read(): tf.Tensor };
}

/**
 * A conv chain run as one native kernel: Conv2D [> BatchNormalization] [> ReLU] [> MaxPooling2D], each link the only
 * reader of the one before. Batch norm is folded into the conv's weights and bias on every call (the layer's moving
 * statistics may change between calls): w' = w s, b' = (b - mean) s + beta, s = gamma / sqrt(var + eps).
 */
interface ConvChain {
  conv: ConvLike;
  bn: BatchNormLike | null;
  activation: 'relu' | 'linear';
  pool: PoolLike | null;
  /** Runs through TorchDnnlConv: oneDNN is there and the chain has no pooling or a 2x2 one (decided when compiling). */
  dnnl: boolean;
}

const classOf = (t: Sym) => t.sourceLayer.getClassName();
const activationOf = (l: { activation?: { getClassName(): string } }) => (l.activation ? l.activation.getClassName() : 'linear');

/** Whether value `t` comes from a plain relu layer (batchnorm.ts's isPlainReluLayer). */
const isRelu = (t: Sym) => isPlainReluLayer(t.sourceLayer);

type CropLike = LayerLike & CropLayerLike;

/** The crop that value `t` is, when a channels-last Cropping2D makes it and `reader` is its only reader; else null. */
function cropFeeding(t: Sym, reader: Sym, readers: Map<number, Sym[]>, outputIds: Set<number>): CropLike | null {
  const r = readers.get(t.id) ?? [];
  if (classOf(t) !== 'Cropping2D' || r.length !== 1 || r[0] !== reader || outputIds.has(t.id)) return null;
  const crop = t.sourceLayer as CropLike;
  return crop.dataFormat === 'channelsLast' ? crop : null;
}

/**
 * The window of x [N, H, W, C] (rows from `top`, columns from `left`, every `step`-th) a conv reads in place of the
 * crop, and the conv's strides then: a 'valid' 1x1 conv of stride s reads only every s-th pixel of the crop, so it
 * becomes a stride-1 conv on those pixels (the native conv then copies a quarter of the crop at s = 2, not all of it).
 */
function convWindow(crop: CropLike, conv: ConvLike, x: tf.Tensor): { window: Window; strides: number[] } {
  const [[top, bottom], [left, right]] = crop.cropping;
  const [, h, w] = x.shape as number[];
  const [height, width] = [h - top - bottom, w - left - right];
  const [sh, sw] = conv.strides;
  const [kh, kw] = conv.kernelSize;
  if (kh === 1 && kw === 1 && sh === sw && sh > 1 && conv.padding === 'valid') {
    const out = (n: number) => Math.floor((n - 1) / sh) + 1;
    return { window: { top, left, height: out(height), width: out(width), step: sh }, strides: [1, 1] };
  }
  return { window: { top, left, height, width, step: 1 }, strides: conv.strides };
}

/** The window of an NHWC map a native kernel reads in place (TorchConvPool's attrs.window). */
interface Window {
  top: number;
  left: number;
  height: number;
  width: number;
  step: number;
}

/** The chain starting at conv output `t` (following sole readers), and the symbolic tensor it ends at (maybe `t`). */
function convChain(t: Sym, soleReader: (t: Sym) => Sym | null): { chain: ConvChain; end: Sym } | null {
  const conv = t.sourceLayer as ConvLike;
  const act = activationOf(conv);
  const fine =
    conv.rank === 2 &&
    conv.dataFormat === 'channelsLast' &&
    conv.dilationRate.every((d) => d === 1) &&
    (conv.padding === 'same' || conv.padding === 'valid') &&
    (act === 'relu' || act === 'linear');
  if (!fine) return null;
  const chain: ConvChain = { conv, bn: null, activation: act, pool: null, dnnl: false };
  let end = t;
  let next = soleReader(end);
  if (next && chain.activation === 'linear' && classOf(next) === 'BatchNormalization') {
    const bn = next.sourceLayer as unknown as BatchNormLike;
    if (bn.axis === -1 || bn.axis === 3) {
      chain.bn = bn;
      end = next;
      next = soleReader(end);
    }
  }
  if (next && chain.activation === 'linear' && isRelu(next)) {
    chain.activation = 'relu';
    end = next;
    next = soleReader(end);
  }
  const pool = next?.sourceLayer as unknown as PoolLike | undefined;
  if (next && classOf(next) === 'MaxPooling2D' && pool?.padding === 'valid' && pool.dataFormat === 'channelsLast') {
    chain.pool = pool;
    end = next;
  }
  return { chain, end };
}

/** The parts of packages/tfjs-backend-torch the plan asks about oneDNN. */
interface TorchDnnl {
  hasDnnlConv(): boolean;
  dnnlHasWeights(key: string): boolean;
}
const torchPackage = (): TorchDnnl => require('tfjs-backend-torch') as TorchDnnl;

/**
 * Serial numbers of tensor data (dataId objects), so that a weight key names exactly the data it was folded from. The
 * native cache outlives this module (jest and notebooks may load it again in one process): keys carry this instance's
 * random prefix, so another instance's serials never name its weights.
 */
const serials = new WeakMap<object, number>();
let nextSerial = 0;
const instance = randomBytes(8).toString('hex');
function serialOf(t: tf.Tensor | null): number {
  if (!t) return -1;
  let s = serials.get(t.dataId);
  if (s === undefined) serials.set(t.dataId, (s = nextSerial++));
  return s;
}

/**
 * The identity of a chain's folded weights: the data of the conv's kernel and bias and the batch norm's parameters and
 * statistics (a variable's data changes identity whenever it is assigned), so oneDNN's kept copy is reused until then.
 */
function weightKey(c: ConvChain): string {
  const read = (v: { read(): tf.Tensor } | null | undefined) => serialOf(v ? v.read() : null);
  const parts = [read(c.conv.kernel), read(c.conv.bias)];
  if (c.bn) parts.push(read(c.bn.gamma), read(c.bn.beta), read(c.bn.movingMean), read(c.bn.movingVariance), c.bn.epsilon);
  return `${instance}:${parts.join(',')}`;
}

/** A 2x2 stride-2 'valid' max pool: the one TorchDnnlConv pools natively (attrs.pool2x2). */
function isPool2x2(p: PoolLike): boolean {
  return p.poolSize.every((v) => v === 2) && p.strides.every((v) => v === 2);
}

/** A chain's conv weights with its batch norm folded in: w' = w s, b' = (b - mean) s + beta, s = gamma / sqrt(var + eps). */
function foldedWeights(c: ConvChain): { filter: tf.Tensor; bias: tf.Tensor | null } {
  const filter = c.conv.kernel.read();
  const bias: tf.Tensor | null = c.conv.bias ? c.conv.bias.read() : null;
  if (!c.bn) return { filter, bias };
  const s = tf.div(c.bn.gamma ? c.bn.gamma.read() : 1, tf.sqrt(tf.add(c.bn.movingVariance.read(), c.bn.epsilon)));
  const shifted = tf.mul(bias ? tf.sub(bias, c.bn.movingMean.read()) : tf.neg(c.bn.movingMean.read()), s);
  return { filter: tf.mul(filter, s), bias: c.bn.beta ? tf.add(shifted, c.bn.beta.read()) : shifted };
}

/** A summand added to a conv chain's output before its relu (a residual), optionally a window of a larger map. */
interface Summand {
  add: tf.Tensor;
  window: [number, number] | null;
}

/**
 * Runs a conv chain (inside the plan's tidy), on x or, with `crop`, on that crop of x. A chain marked `dnnl` runs
 * through oneDNN (TorchDnnlConv: relu and `sum` as post-ops, its folded weights kept natively under weightKey, so they
 * are folded once); `sum` needs that path.
 */
function runConvChain(c: ConvChain, x: tf.Tensor, crop: CropLike | null, sum: Summand | null = null): tf.Tensor {
  const attrs = { strides: c.conv.strides, pad: c.conv.padding, dataFormat: 'NHWC', dilations: [1, 1], activation: c.activation };
  const window = crop ? convWindow(crop, c.conv, x) : null;
  if (c.dnnl) {
    const key = weightKey(c);
    const weights = torchPackage().dnnlHasWeights(key) ? null : foldedWeights(c);
    const inputs = {
      x,
      ...(weights ? { filter: weights.filter } : {}),
      ...(weights?.bias ? { bias: weights.bias } : {}),
      ...(sum ? { add: sum.add } : {}),
    };
    const dnnlAttrs = {
      ...attrs,
      filterShape: c.conv.kernel.read().shape,
      weightKey: key,
      ...(sum?.window ? { addWindow: sum.window } : {}),
      ...(window ? { xWindow: window.window, strides: window.strides } : {}),
      ...(c.pool ? { pool2x2: true } : {}),
    };
    return tf.engine().runKernel('TorchDnnlConv', inputs as never, dnnlAttrs as never) as tf.Tensor;
  }
  if (sum) throw new Error('a conv chain with a summand needs TorchDnnlConv');
  const { filter, bias } = foldedWeights(c);
  const inputs = { x, filter, ...(bias ? { bias } : {}) };
  if (!c.pool && !crop) return tf.engine().runKernel('FusedConv2D', inputs as never, attrs as never) as tf.Tensor;
  const pool = c.pool ? { poolSize: c.pool.poolSize, poolStrides: c.pool.strides } : {};
  const chainAttrs = { ...attrs, ...pool, ...(window ? { window: window.window, strides: window.strides } : {}) };
  return tf.engine().runKernel('TorchConvPool', inputs as never, chainAttrs as never) as tf.Tensor;
}

/** Compiles a model's inference plan, or null when a layer or the graph's shape is outside what the plan covers. */
function compile(model: tf.LayersModel): Plan | null {
  if (model.inputs.length !== 1) return null;
  const outputs = model.outputs as unknown as Sym[];
  const order = topological(outputs);
  const input = (model.inputs[0] as unknown as Sym).id;
  const readers = new Map<number, Sym[]>();
  for (const t of order) for (const i of t.inputs) readers.set(i.id, [...(readers.get(i.id) ?? []), t]);
  const outputIds = new Set(outputs.map((t) => t.id));
  const soleReader = (t: Sym): Sym | null => {
    const r = readers.get(t.id) ?? [];
    return r.length === 1 && !outputIds.has(t.id) && r[0].inputs.length === 1 ? r[0] : null;
  };
  for (const t of order) {
    if (t.id === input) continue;
    const layer = t.sourceLayer;
    if (!PLAIN_LAYERS.has(layer.getClassName()) || layer.inboundNodes[t.nodeIndex]?.outputTensors.length !== 1) return null;
    if (t.inputs.length === 0) return null;
  }
  const steps: Step[] = [];
  const absorbed = new Set<number>(); // values computed inside a fused step
  const fused = new Map<number, (xs: tf.Tensor[]) => tf.Tensor>(); // by the id of the value a fused step ends at
  const fusedInputs = new Map<number, Sym[]>();
  // Conv chains without pooling or crop, by the id of the value they end at, with their conv's output (start).
  const plainChains = new Map<number, { chain: ConvChain; start: Sym }>();
  const dnnl = torchPackage().hasDnnlConv();
  for (const t of order) {
    if (t.id === input || absorbed.has(t.id)) continue;
    if (classOf(t) === 'Conv2D') {
      const found = convChain(t, soleReader);
      // A crop read only by this conv is read in place (no copy).
      const crop = found && t.inputs.length === 1 ? cropFeeding(t.inputs[0], t, readers, outputIds) : null;
      if (found && (!found.chain.pool || isPool2x2(found.chain.pool))) {
        found.chain.dnnl = dnnl;
        if (!crop && !found.chain.pool) plainChains.set(found.end.id, { chain: found.chain, start: t });
      }
      // Every chain is one step when oneDNN runs it (relu as a post-op), else only a fused or cropped one.
      if (found && (found.end !== t || crop || dnnl)) {
        for (let u = found.end; u !== t; u = u.inputs[0]) absorbed.add(u.inputs[0].id);
        if (crop) absorbed.add(t.inputs[0].id);
        fused.set(found.end.id, ([x]) => runConvChain(found.chain, x, crop));
        fusedInputs.set(found.end.id, crop ? t.inputs[0].inputs : t.inputs);
      }
    } else if (classOf(t) === 'Add' && t.inputs.length === 2) {
      // A residual sum read only by a relu: one native add with the relu in place, reading a crop of b in place.
      const next = soleReader(t);
      // With oneDNN: a conv chain read only by this add takes the other input as a summand and the relu, as post-ops.
      const onlyReader = (u: Sym) => (readers.get(u.id) ?? []).length === 1 && !outputIds.has(u.id);
      const side =
        dnnl && next && isRelu(next)
          ? [0, 1].find((k) => plainChains.get(t.inputs[k].id)?.chain.activation === 'linear' && onlyReader(t.inputs[k]))
          : undefined;
      if (next && side !== undefined) {
        const end = t.inputs[side];
        const other = t.inputs[1 - side];
        const { chain, start } = plainChains.get(end.id) as { chain: ConvChain; start: Sym };
        const withRelu: ConvChain = { ...chain, activation: 'relu' };
        const crop = cropFeeding(other, t, readers, outputIds);
        const window: [number, number] | null = crop ? [crop.cropping[0][0], crop.cropping[1][0]] : null;
        for (const id of [t.id, end.id, ...(crop ? [other.id] : [])]) absorbed.add(id);
        fused.delete(end.id);
        fused.set(next.id, ([x, b]) => runConvChain(withRelu, x, null, { add: b, window }));
        fusedInputs.set(next.id, [...(fusedInputs.get(end.id) ?? start.inputs), ...(crop ? other.inputs : [other])]);
      } else if (next && isRelu(next)) {
        absorbed.add(t.id);
        const crop = cropFeeding(t.inputs[1], t, readers, outputIds);
        if (crop) absorbed.add(t.inputs[1].id);
        const cropB = crop ? [crop.cropping[0][0], crop.cropping[1][0]] : null;
        fused.set(next.id, ([a, b]) => tf.engine().runKernel('TorchAddRelu', { a, b }, (cropB ? { cropB } : {}) as never) as tf.Tensor);
        fusedInputs.set(next.id, crop ? [t.inputs[0], ...t.inputs[1].inputs] : t.inputs);
      }
    }
  }
  for (const t of order) {
    if (t.id === input || absorbed.has(t.id)) continue;
    const run = fused.get(t.id);
    const layer = t.sourceLayer;
    steps.push({
      inputs: (fusedInputs.get(t.id) ?? t.inputs).map((i) => i.id),
      out: t.id,
      release: [],
      run: run ?? ((xs) => layer.call(xs.length === 1 ? xs[0] : xs, {}) as tf.Tensor),
    });
  }
  // Each value is released after the last step that reads it (never the input or an output).
  const last = new Map<number, Step>();
  for (const s of steps) for (const i of s.inputs) last.set(i, s);
  for (const [id, s] of last) if (id !== input && !outputIds.has(id)) s.release.push(id);
  return { input, outputs: outputs.map((t) => t.id), steps };
}

/** Runs a plan on one batch; returns the model's outputs. */
function runPlan(plan: Plan, x: tf.Tensor): tf.Tensor[] {
  const values = new Map<number, tf.Tensor>([[plan.input, x]]);
  for (const step of plan.steps) {
    const out = tf.tidy(() => step.run(step.inputs.map((i) => values.get(i) as tf.Tensor)));
    values.set(step.out, out);
    for (const id of step.release) (values.get(id) as tf.Tensor).dispose();
  }
  return plan.outputs.map((id) => values.get(id) as tf.Tensor);
}

const plans = new WeakMap<tf.LayersModel, Plan | null>();

/** The model's plan (compiled on first use), or null when it has none. */
export function inferencePlan(model: tf.LayersModel): Plan | null {
  if (!plans.has(model)) plans.set(model, compile(model));
  return plans.get(model) ?? null;
}

/**
 * Inference through the plan: x [N, ...] in batches of `batchSize` (default PREDICT_BATCH), outputs concatenated
 * along the batch. Null when the model has no plan. Gradients are not recorded through it.
 */
export function predictWithPlan(model: tf.LayersModel, x: tf.Tensor, batchSize = PREDICT_BATCH): tf.Tensor | tf.Tensor[] | null {
  const plan = inferencePlan(model);
  if (!plan) return null;
  const n = x.shape[0];
  const outs = tf.tidy(() => {
    if (n <= batchSize) return runPlan(plan, x);
    const parts: tf.Tensor[][] = [];
    for (let s = 0; s < n; s += batchSize) {
      const xb = x.slice(s, Math.min(batchSize, n - s));
      parts.push(runPlan(plan, xb));
      xb.dispose();
    }
    return plan.outputs.map((_, k) =>
      tf.concat(
        parts.map((p) => p[k]),
        0,
      ),
    );
  });
  return outs.length === 1 ? outs[0] : outs;
}

let patched = false;

/** Routes tfjs-layers' predict through the inference plan on the torch backend (see the module comment). Idempotent. */
export function fuseLayersPredict(): void {
  if (patched) return;
  patched = true;
  const proto = tf.LayersModel.prototype as unknown as { predict: (x: unknown, args?: { batchSize?: number }) => unknown };
  const original = proto.predict;
  proto.predict = function fusedPredict(this: tf.LayersModel, x: unknown, args: { batchSize?: number } = {}) {
    const single = x instanceof tf.Tensor ? x : Array.isArray(x) && x.length === 1 && x[0] instanceof tf.Tensor ? x[0] : null;
    const want = this.inputs.length === 1 ? this.inputs[0].shape : null;
    const ok =
      single !== null &&
      want !== null &&
      single.rank === want.length &&
      want.every((d, i) => i === 0 || d === null || d === single.shape[i]) &&
      tf.getBackend() === 'torch' &&
      (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth === 0;
    const out = ok ? predictWithPlan(this, single, args.batchSize ?? PREDICT_BATCH) : null;
    return out ?? original.call(this, x, args);
  };
}
