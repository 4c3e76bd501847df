/**
 * Inference on the torch backend without tfjs-layers' per-call work (`fuseLayersPredict`).
 *
 * Profile of the reference net's `model.predict` (batch 64, one thread, CPU time): 24.1 ms a batch, of which 4.7 ms
 * is predict's own loop (it cuts every input into batches of 32 with a copying Slice, runs the graph executor on each
 * and concatenates the results) and about 0.6 ms the executor's per-layer work (`apply`: input checks, name scopes,
 * recipient counts); the kernels themselves take the rest. On this backend `predict` instead runs a plan compiled
 * once per model: its layers in topological order, each `call`ed directly, intermediates disposed after their last
 * reader, the whole input in one pass up to `PREDICT_BATCH` images (tfjs: 32), no slice or concat when it fits.
 * A Conv2D whose only reader is a 'valid' MaxPooling2D runs with it as one native kernel (TorchConvPool: conv, bias,
 * pool, then the activation on the pooled map; exact, as the activation is nondecreasing).
 *
 * Only models built from the layer classes in PLAIN_LAYERS (one output each, one model input) take the plan, and only
 * inputs whose shape the model accepts (tfjs-layers' predict gives its own error for the others); anything else (and any call with gradients recorded, or another backend) runs tfjs-layers'
 * own predict. Results equal tfjs-layers' up to float summation order (the same kernels on larger batches).
 */
import * as tf from '@tensorflow/tfjs';

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
interface ConvLike extends LayerLike {
  rank: number;
  dataFormat: string;
  dilationRate: number[];
  strides: number[];
  padding: string;
  activation: { getClassName(): string };
  kernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor } | null;
}
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

/** A Conv2D that TorchConvPool can run with the max pooling that reads it, or null. */
function convPoolAttrs(conv: ConvLike, pool: PoolLike): Record<string, unknown> | null {
  const act = conv.activation ? conv.activation.getClassName() : 'linear';
  const fine =
    conv.rank === 2 &&
    conv.dataFormat === 'channelsLast' &&
    conv.dilationRate.every((d) => d === 1) &&
    (conv.padding === 'same' || conv.padding === 'valid') &&
    (act === 'relu' || act === 'linear') &&
    pool.padding === 'valid' &&
    pool.dataFormat === 'channelsLast';
  if (!fine) return null;
  return {
    strides: conv.strides,
    pad: conv.padding,
    dilations: [1, 1],
    activation: act,
    poolSize: pool.poolSize,
    poolStrides: pool.strides,
  };
}

/** Compiles a model's inference plan, or null when a layer or the graph's shape is outside what the plan covers. */
function compile(model: tf.LayersModel): Plan | null {
  if (model.inputs.length !== 1) return null;
  const outputs = model.outputs as unknown as Sym[];
  const order = topological(outputs);
  const input = (model.inputs[0] as unknown as Sym).id;
  const readers = new Map<number, number>();
  for (const t of order) for (const i of t.inputs) readers.set(i.id, (readers.get(i.id) ?? 0) + 1);
  const outputIds = new Set(outputs.map((t) => t.id));
  const steps: Step[] = [];
  const fusedInto = new Map<number, Sym>(); // pool output id -> conv symbolic tensor it absorbs
  for (const t of order) {
    if (t.id === input) continue;
    const layer = t.sourceLayer;
    const cls = layer.getClassName();
    if (!PLAIN_LAYERS.has(cls) || layer.inboundNodes[t.nodeIndex]?.outputTensors.length !== 1) return null;
    if (t.inputs.length === 0) return null;
    if (cls === 'MaxPooling2D' && t.inputs.length === 1) {
      const src = t.inputs[0];
      if (src.sourceLayer.getClassName() === 'Conv2D' && readers.get(src.id) === 1 && !outputIds.has(src.id) && src.id !== input) {
        const attrs = convPoolAttrs(src.sourceLayer as ConvLike, layer as unknown as PoolLike);
        if (attrs) fusedInto.set(t.id, src);
      }
    }
  }
  const absorbed = new Set([...fusedInto.values()].map((c) => c.id));
  for (const t of order) {
    if (t.id === input || absorbed.has(t.id)) continue;
    const conv = fusedInto.get(t.id);
    if (conv) {
      const layer = conv.sourceLayer as ConvLike;
      const attrs = convPoolAttrs(layer, t.sourceLayer as unknown as PoolLike) as Record<string, unknown>;
      steps.push({
        inputs: conv.inputs.map((i) => i.id),
        out: t.id,
        release: [],
        run: ([x]) => {
          const inputs = { x, filter: layer.kernel.read(), ...(layer.bias ? { bias: layer.bias.read() } : {}) };
          return tf.engine().runKernel('TorchConvPool', inputs as never, attrs as never) as tf.Tensor;
        },
      });
      continue;
    }
    const layer = t.sourceLayer;
    steps.push({
      inputs: t.inputs.map((i) => i.id),
      out: t.id,
      release: [],
      run: (xs) => layer.call(xs.length === 1 ? xs[0] : xs, {}) as tf.Tensor,
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
