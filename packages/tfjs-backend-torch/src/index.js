'use strict';
/**
 * tfjs-backend-torch: a TensorFlow.js backend whose kernels run on libtorch (ATen) through an N-API addon.
 *
 * Design
 * - TorchBackend extends tfjs-backend-cpu's MathBackendCPU: tensors live in JS typed arrays exactly as in the cpu
 *   backend, so every cpu kernel also runs here unchanged (the fallback), and native kernels read and write the same
 *   storage. Native outputs are ATen buffers handed to JS without a copy: typed arrays over one lasting ArrayBuffer per
 *   block of the addon's caching allocator (>= 256 KB), or over an external ArrayBuffer of their own (smaller ones).
 * - Native kernels wrap tfjs's NHWC buffers without a copy and permute them to NCHW shape: ATen sees channels_last
 *   tensors (oneDNN's fast path) and returns channels_last outputs, which are contiguous NHWC again.
 * - A native kernel returns `undefined` for a case it does not handle (a dtype, an asymmetric mode...) and the cpu
 *   kernel runs instead. Elementwise kernels on small tensors (< TFJS_TORCH_MIN_NATIVE elements, default 2048) use
 *   the cpu kernels too: below that the JS loop beats the native call overhead.
 * - TFJS_TORCH_STRICT=1 makes native errors throw instead of falling back (used by tests).
 */
const tfc = require('@tensorflow/tfjs-core');
const { MathBackendCPU } = require('@tensorflow/tfjs-backend-cpu');
const { loadAddon } = require('./native');
const os = require('os');

const BACKEND_NAME = 'torch';
const { backend_util, util } = tfc;

const loaded = loadAddon();
const addon = loaded.addon;

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

const opIds = new Map();
/** Operator id for an ATen schema name ("aten::conv2d" or "aten::add.Tensor"). */
function op(qualified) {
  let id = opIds.get(qualified);
  if (id === undefined) {
    const dot = qualified.indexOf('.');
    id = dot < 0 ? addon.op(qualified, '') : addon.op(qualified.slice(0, dot), qualified.slice(dot + 1));
    opIds.set(qualified, id);
  }
  return id;
}

function call(name, args, outPerm) {
  return addon.call(op(name), args, outPerm);
}

/** Intermediate native results of the running kernel, freed when it returns. */
let scratch = [];
/** Marks an addon result [values, shape] (or a list of them) as an intermediate of the current kernel. */
function T(r) {
  if (!r) return r;
  if (Array.isArray(r[0]) || r[0] === null) {
    for (const p of r) if (p && p[0]) scratch.push(p[0]);
  } else if (r[0] && r[0].buffer) scratch.push(r[0]);
  return r;
}
function freeScratch() {
  for (const v of scratch) addon.free(v);
  scratch = [];
}

const DTYPE_OF_ARRAY = (a) =>
  a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : a instanceof Uint8Array ? 'bool' : 'int64';

class TorchBackend extends MathBackendCPU {
  constructor() {
    super();
    if (!addon) throw new Error(loaded.error);
    this.firstUse = false; // no "install tfjs-node" banner from the cpu backend's first write
    // Smaller elementwise ops stay in JS: a native call costs 10-15 us; JS is as fast up to ~500 elements (a same-shape
    // mul of 256: 9.9 against 10.5 us; of 640: 27 against 20; a log of 640: 29 against 16).
    this.minNative = Number(process.env.TFJS_TORCH_MIN_NATIVE ?? 512);
    this.strict = process.env.TFJS_TORCH_STRICT === '1';
  }
  /** Counts of native and fallback kernel calls (all instances). */
  get stats() {
    return STATS;
  }
  /** Threads ATen uses (default: the number of cores). */
  setThreads(n) {
    addon.setThreads(n);
  }
  getThreads() {
    return addon.getThreads();
  }
  info() {
    return addon.info();
  }
  /** A tensor argument for the addon: [values, shape, perm?, castDtype?]. */
  arg(t, perm, cast) {
    const v = this.data.get(t.dataId).values;
    // tfjs may relabel a buffer's dtype without converting it (e.g. a cast int32 -> float32 in the cpu fallback).
    if (!cast && DTYPE_OF_ARRAY(v) !== t.dtype) cast = t.dtype;
    return perm || cast ? [v, t.shape, perm || null, cast || null] : [v, t.shape];
  }
  nhwc(t) {
    return this.arg(t, NHWC_TO_NCHW);
  }
  /** A tensor's typed array as stored (null for a missing tensor): the argument of the addon's own kernels. */
  values(t) {
    return t ? this.data.get(t.dataId).values : null;
  }
  /** A tfjs TensorInfo from an addon result [values, shape] (the buffer becomes the tensor's storage, no copy). */
  out(r, dtype) {
    let [values, shape] = r;
    if (values instanceof BigInt64Array) {
      T(r);
      [values] = call('aten::_to_copy', [[values, shape], dtype === 'float32' ? 'float32' : 'int32']);
    }
    const have = DTYPE_OF_ARRAY(values);
    if (dtype && dtype !== have) {
      T([values]);
      [values] = call('aten::_to_copy', [[values, shape], dtype]);
    }
    if (values.length > 0) nativeBuffers.add(values.buffer);
    const dataId = { id: this.nextDataId() };
    this.data.set(dataId, { values, dtype: dtype || have, refCount: 1 });
    return { dataId, shape, dtype: dtype || have };
  }
  /** Values that are (views of) a native buffer are copied: the buffer is freed when its own tensor is disposed. */
  write(values, shape, dtype) {
    if (values && values.buffer && nativeBuffers.has(values.buffer)) values = values.slice();
    return super.write(values, shape, dtype);
  }
  move(dataId, values, shape, dtype, refCount) {
    if (values && values.buffer && nativeBuffers.has(values.buffer)) values = values.slice();
    return super.move(dataId, values, shape, dtype, refCount);
  }
  /** Reads hand out a copy of native buffers, which are freed (detached) when the tensor is disposed. */
  readSync(dataId) {
    const v = super.readSync(dataId);
    return v && v.buffer && nativeBuffers.has(v.buffer) ? v.slice() : v;
  }
  disposeData(dataId, force = false) {
    const d = this.data.get(dataId);
    const values = d && d.values;
    const gone = super.disposeData(dataId, force);
    if (gone && poolIndices.size) {
      const p = poolIndices.get(dataId);
      if (p) {
        poolIndices.delete(dataId);
        addon.free(p.idx[0]);
      }
    }
    // A native output: its tensor is released now (a large block's buffer stays native, and in the set, for the next
    // output in that block).
    if (gone && values && values.buffer && nativeBuffers.has(values.buffer)) addon.free(values);
    return gone;
  }
}

/** ArrayBuffers that hold ATen output tensors (their tensors are freed by disposeData). */
const nativeBuffers = new WeakSet();

// ---------------------------------------------------------------------------------------------------------------
// Kernel table
/**
 * Kernel call counts: native, cpu fallback, native errors, fallbacks by kernel name, and convs with tfjs's
 * bottom/right padding computed without a padded copy (shiftedSame: forwards; shiftedSameGrad: input or filter gradients),
 * conv gradients computed by oneDNN directly (dnnlGrad: see dnnlGrads),
 * relu gradients passed on as MaxPoolGrad masked them (reluMaskedByPool).
 */
const STATS = {
  native: 0,
  fallback: 0,
  errors: 0,
  byKernel: {},
  shiftedSame: 0,
  shiftedSameGrad: 0,
  dnnlGrad: 0,
  reluMaskedByPool: 0,
};
const cpuKernels = new Map(tfc.getKernelsForBackend('cpu').map((k) => [k.kernelName, k]));
const native = new Map();

const isPlain = (t) => t.dtype === 'float32' || t.dtype === 'int32' || t.dtype === 'bool';
function allInputs(inputs) {
  return Array.isArray(inputs) ? inputs : Object.values(inputs).filter((t) => t != null);
}

function def(kernelName, fn) {
  native.set(kernelName, fn);
}

function wrap(kernelName, fn) {
  const cpu = cpuKernels.get(kernelName);
  return (args) => {
    const { inputs, backend } = args;
    if (allInputs(inputs).every(isPlain)) {
      let r;
      try {
        r = fn(args);
      } catch (e) {
        STATS.errors++;
        // oneDNN rejects a few exotic shapes (e.g. padding larger than the input): the cpu kernel handles those.
        const unsupported = /could not create a descriptor/.test(e.message);
        if ((backend.strict && !unsupported) || !cpu) throw new Error(`torch backend kernel ${kernelName}: ${e.message}`);
      } finally {
        if (scratch.length) freeScratch();
      }
      if (r !== undefined) {
        STATS.native++;
        return r;
      }
    }
    if (!cpu) throw new Error(`torch backend: kernel ${kernelName} has no native implementation for these inputs and no cpu kernel`);
    STATS.fallback++;
    STATS.byKernel[kernelName] = (STATS.byKernel[kernelName] || 0) + 1;
    return cpu.kernelFunc(args);
  };
}

const small = (backend, t) => util.sizeFromShape(t.shape) < backend.minNative;

// ---- elementwise --------------------------------------------------------------------------------------------------
/**
 * Whether a binary op broadcasts along an axis (not a scalar, which tfjs's cpu kernels read fast): those kernels then
 * locate each element through index arrays (a [64, 10] / [64, 1] divide: 174 us in JS, 46 natively), so such ops go
 * native from MIN_BROADCAST output elements.
 */
function broadcasts(a, b) {
  const sa = util.sizeFromShape(a.shape);
  const sb = util.sizeFromShape(b.shape);
  return sa > 1 && sb > 1 && !util.arraysEqual(a.shape, b.shape);
}
const MIN_BROADCAST = 32;
function binary(kernelName, aten, opts = {}) {
  def(kernelName, ({ inputs, backend }) => {
    const { a, b } = inputs;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (util.sizeFromShape(outShape) < (broadcasts(a, b) ? Math.min(MIN_BROADCAST, backend.minNative) : backend.minNative))
      return undefined;
    if (opts.floatOnly && (a.dtype !== 'float32' || b.dtype !== 'float32')) return undefined;
    if (a.dtype !== b.dtype || (a.dtype === 'bool' && !opts.dtype)) return undefined;
    const r = call(aten, [backend.arg(a), backend.arg(b), ...(opts.extra || [])]);
    return backend.out(r, opts.dtype || (a.dtype === 'bool' && !opts.keepBool ? undefined : a.dtype));
  });
}
binary('Add', 'aten::add.Tensor', {});
binary('Sub', 'aten::sub.Tensor', {});
binary('Multiply', 'aten::mul.Tensor', {});
binary('RealDiv', 'aten::div.Tensor', { floatOnly: true });
binary('FloorDiv', 'aten::div.Tensor_mode', { extra: ['floor'] });
binary('Maximum', 'aten::maximum', {});
binary('Minimum', 'aten::minimum', {});
binary('Pow', 'aten::pow.Tensor_Tensor', { floatOnly: true });
binary('SquaredDifference', 'aten::sub.Tensor', {}); // replaced below
binary('Mod', 'aten::remainder.Tensor', { floatOnly: true });
binary('Atan2', 'aten::atan2', { floatOnly: true });
for (const [k, aten] of [
  ['Equal', 'aten::eq.Tensor'],
  ['NotEqual', 'aten::ne.Tensor'],
  ['Less', 'aten::lt.Tensor'],
  ['LessEqual', 'aten::le.Tensor'],
  ['Greater', 'aten::gt.Tensor'],
  ['GreaterEqual', 'aten::ge.Tensor'],
  ['LogicalAnd', 'aten::logical_and'],
  ['LogicalOr', 'aten::logical_or'],
]) {
  binary(k, aten, { dtype: 'bool' });
}
def('SquaredDifference', ({ inputs, backend }) => {
  const { a, b } = inputs;
  const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  if (util.sizeFromShape(outShape) < backend.minNative || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const d = T(call('aten::sub.Tensor', [backend.arg(a), backend.arg(b)]));
  return backend.out(call('aten::mul.Tensor', [d, d]), 'float32');
});

function unary(kernelName, aten, extra = () => [], opts = {}) {
  def(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (x.dtype !== 'float32' && !opts.anyDtype) return undefined;
    if (small(backend, x)) return undefined;
    const ex = extra(attrs || {});
    if (ex === undefined) return undefined;
    return backend.out(call(aten, [backend.arg(x), ...ex]), opts.dtype || x.dtype);
  });
}
for (const [k, aten] of [
  ['Abs', 'aten::abs'],
  ['Acos', 'aten::acos'],
  ['Acosh', 'aten::acosh'],
  ['Asin', 'aten::asin'],
  ['Asinh', 'aten::asinh'],
  ['Atan', 'aten::atan'],
  ['Atanh', 'aten::atanh'],
  ['Ceil', 'aten::ceil'],
  ['Cos', 'aten::cos'],
  ['Cosh', 'aten::cosh'],
  ['Erf', 'aten::erf'],
  ['Exp', 'aten::exp'],
  ['Expm1', 'aten::expm1'],
  ['Floor', 'aten::floor'],
  ['Log', 'aten::log'],
  ['Log1p', 'aten::log1p'],
  ['Neg', 'aten::neg'],
  ['Reciprocal', 'aten::reciprocal'],
  ['Relu', 'aten::relu'],
  ['Round', 'aten::round'],
  ['Rsqrt', 'aten::rsqrt'],
  ['Selu', 'aten::selu'],
  ['Sigmoid', 'aten::sigmoid'],
  ['Sign', 'aten::sign'],
  ['Sin', 'aten::sin'],
  ['Sinh', 'aten::sinh'],
  ['Sqrt', 'aten::sqrt'],
  ['Square', 'aten::square'],
  ['Tan', 'aten::tan'],
  ['Tanh', 'aten::tanh'],
]) {
  unary(k, aten);
}
unary('Relu6', 'aten::hardtanh', () => [0, 6]);
unary('Elu', 'aten::elu', () => [1, 1, 1]);
unary('LeakyRelu', 'aten::leaky_relu', (a) => [a.alpha]);
unary('ClipByValue', 'aten::clamp', (a) => [a.clipValueMin, a.clipValueMax]);
unary('IsNan', 'aten::isnan', () => [], { dtype: 'bool' });
unary('IsInf', 'aten::isinf', () => [], { dtype: 'bool' });
unary('IsFinite', 'aten::isfinite', () => [], { dtype: 'bool' });
// Step(alpha=0): x > 0 ? 1 : 0, NaN stays NaN = heaviside(x, 0).
def('Step', ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (x.dtype !== 'float32' || attrs.alpha !== 0 || small(backend, x)) return undefined;
  const h = T(call('aten::heaviside', [backend.arg(x), [new Float32Array([0]), []]]));
  const nan = T(call('aten::isnan', [backend.arg(x)]));
  return backend.out(call('aten::where.self', [nan, backend.arg(x), h]), 'float32'); // NaN stays NaN, as in tfjs
});
def('Prelu', ({ inputs, backend }) => {
  const { x, alpha } = inputs;
  if (x.dtype !== 'float32' || alpha.dtype !== 'float32' || small(backend, x)) return undefined;
  // prelu(x) = relu(x) - alpha * relu(-x), with alpha broadcast like tfjs.
  const pos = T(call('aten::relu', [backend.arg(x)]));
  const neg = T(call('aten::relu', [T(call('aten::neg', [backend.arg(x)]))]));
  const an = T(call('aten::mul.Tensor', [backend.arg(alpha), neg]));
  return backend.out(call('aten::sub.Tensor', [pos, an]), 'float32');
});

// ---- activations used by fused kernels -----------------------------------------------------------------------------
/**
 * Applies a fused activation to r, a fresh native output of the running kernel: in place (r's buffer is returned),
 * except prelu.
 */
function activate(backend, r, activation, prelu, leakyAlpha) {
  switch (activation) {
    case undefined:
    case null:
    case 'linear':
      return r;
    case 'relu':
      return call('aten::relu_', [r]);
    case 'relu6':
      return call('aten::hardtanh_', [r, 0, 6]);
    case 'elu':
      return call('aten::elu_', [r, 1, 1, 1]);
    case 'sigmoid':
      return call('aten::sigmoid_', [r]);
    case 'leakyrelu':
      return call('aten::leaky_relu_', [r, leakyAlpha ?? 0.2]);
    case 'prelu': {
      T(r);
      const pos = T(call('aten::relu', [r]));
      const neg = T(call('aten::relu', [T(call('aten::neg', [r]))]));
      return call('aten::sub.Tensor', [pos, T(call('aten::mul.Tensor', [backend.arg(prelu), neg]))]);
    }
    default:
      throw new Error(`unknown fused activation '${activation}'`);
  }
}

// ---- reductions ---------------------------------------------------------------------------------------------------
function reduction(kernelName, fn) {
  def(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    const axes = util.parseAxisParam(attrs.axis ?? attrs.reductionIndices, x.shape);
    if (axes.length === 0 || x.shape.length === 0 || util.sizeFromShape(x.shape) === 0) return undefined;
    return fn(backend, x, axes, !!attrs.keepDims);
  });
}
reduction('Sum', (b, x, axes, keep) => {
  if (x.dtype === 'bool') return undefined;
  return b.out(call('aten::sum.dim_IntList', [b.arg(x), axes, keep]), x.dtype === 'float32' ? 'float32' : 'int32');
});
/** Whether a reduction is over H and W of a float32 NHWC map (global average pooling: addon.spatialMean). */
const isSpatial = (shape, axes, values) =>
  shape.length === 4 && axes.length === 2 && axes.includes(1) && axes.includes(2) && isFloat32Array(values);
reduction('Mean', (b, x, axes, keep) => {
  if (x.dtype !== 'float32') return undefined;
  const xv = b.values(x);
  if (isSpatial(x.shape, axes, xv)) {
    const [values] = addon.spatialMean(xv, x.shape, false);
    return b.out([values, keep ? [x.shape[0], 1, 1, x.shape[3]] : [x.shape[0], x.shape[3]]], 'float32');
  }
  return b.out(call('aten::mean.dim', [b.arg(x), axes, keep]), 'float32');
});
reduction('Max', (b, x, axes, keep) => (x.dtype === 'bool' ? undefined : b.out(call('aten::amax', [b.arg(x), axes, keep]), x.dtype)));
reduction('Min', (b, x, axes, keep) => (x.dtype === 'bool' ? undefined : b.out(call('aten::amin', [b.arg(x), axes, keep]), x.dtype)));
reduction('Prod', (b, x, axes, keep) => {
  if (x.dtype !== 'float32') return undefined;
  const x0 = b.arg(x);
  let r = x0;
  // aten::prod reduces one dim at a time; go from the last axis so earlier indices stay valid.
  for (const ax of [...axes].sort((p, q) => q - p)) r = call('aten::prod.dim_int', [r === x0 ? r : T(r), ax, keep]);
  return b.out(r, 'float32');
});
reduction('All', (b, x, axes, keep) => {
  if (x.dtype !== 'bool') return undefined;
  const x0 = b.arg(x);
  let r = x0;
  for (const ax of [...axes].sort((p, q) => q - p)) r = call('aten::all.dim', [r === x0 ? r : T(r), ax, keep]);
  return b.out(r, 'bool');
});
reduction('Any', (b, x, axes, keep) => {
  if (x.dtype !== 'bool') return undefined;
  const x0 = b.arg(x);
  let r = x0;
  for (const ax of [...axes].sort((p, q) => q - p)) r = call('aten::any.dim', [r === x0 ? r : T(r), ax, keep]);
  return b.out(r, 'bool');
});
for (const [k, aten] of [
  ['ArgMax', 'aten::argmax'],
  ['ArgMin', 'aten::argmin'],
]) {
  def(k, ({ inputs, backend, attrs }) => {
    const { x } = inputs;
    if (x.dtype === 'bool' || x.shape.length === 0) return undefined;
    const axis = util.parseAxisParam(attrs.axis, x.shape);
    if (axis.length !== 1) return undefined;
    // tfjs ignores NaNs; ATen treats NaN as the extreme value: map NaN to -inf (argmax) or +inf (argmin) first.
    const xin =
      x.dtype === 'float32'
        ? T(call('aten::nan_to_num', [backend.arg(x), aten === 'aten::argmax' ? -Infinity : Infinity]))
        : backend.arg(x);
    return backend.out(call(aten, [xin, axis[0], false]), 'int32');
  });
}

// ---- matmul ---------------------------------------------------------------------------------------------------------
function mm(backend, a, b, transposeA, transposeB) {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ka = transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const kb = transposeB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
  if (ka !== kb) return undefined; // the cpu kernel throws tfjs's error message
  const ta = (t, tr) =>
    tr
      ? backend.arg(
          t,
          [...t.shape.keys()].map((i, _, all) => (i === all.length - 1 ? all.length - 2 : i === all.length - 2 ? all.length - 1 : i)),
        )
      : backend.arg(t);
  return call('aten::matmul', [ta(a, transposeA), ta(b, transposeB)]);
}
def('BatchMatMul', ({ inputs, backend, attrs }) => {
  const r = mm(backend, inputs.a, inputs.b, attrs.transposeA, attrs.transposeB);
  return r && backend.out(r, 'float32');
});
def('_FusedMatMul', ({ inputs, backend, attrs }) => {
  let r = mm(backend, inputs.a, inputs.b, attrs.transposeA, attrs.transposeB);
  if (!r) return undefined;
  if (inputs.bias) r = call('aten::add_.Tensor', [r, backend.arg(inputs.bias)]);
  return backend.out(activate(backend, r, attrs.activation, inputs.preluActivationWeights, attrs.leakyreluAlpha), 'float32');
});

// ---- convolution ----------------------------------------------------------------------------------------------------
/** Torch padding for a tfjs conv/pool info: symmetric [h, w], or explicit pads for constant_pad_nd. */
function torchPads(info) {
  const { top, bottom, left, right } = info.padInfo;
  if (top === bottom && left === right) return { sym: [top, left], explicit: null };
  return { sym: [0, 0], explicit: [left, right, top, bottom] };
}
function outSize(inp, pad, k, s, d) {
  return Math.floor((inp + pad - d * (k - 1) - 1) / s) + 1;
}
function convMatches(info) {
  const { top, bottom, left, right } = info.padInfo;
  return (
    info.outHeight === outSize(info.inHeight, top + bottom, info.filterHeight, info.strideHeight, info.dilationHeight) &&
    info.outWidth === outSize(info.inWidth, left + right, info.filterWidth, info.strideWidth, info.dilationWidth) &&
    top >= 0 &&
    bottom >= 0 &&
    left >= 0 &&
    right >= 0
  );
}
/**
 * A window of a float32 NHWC tensor as a channels_last NCHW argument, without a copy (a strided view): `height` rows
 * from `top` and `width` columns from `left`, every `step`-th one.
 */
function windowArg(backend, t, { top, left, height, width, step = 1 }) {
  const [n, H, W, C] = t.shape;
  if (top + (height - 1) * step >= H || left + (width - 1) * step >= W || top < 0 || left < 0) {
    throw new Error(`window rows ${top}+${height}x${step}, columns ${left}+${width}x${step} is outside a ${H}x${W} map`);
  }
  const values = backend.data.get(t.dataId).values.subarray((top * W + left) * C);
  return [values, [n, height, width, C], NHWC_TO_NCHW, null, [H * W * C, step * W * C, step * C, 1]];
}
/** x (or the argument xArg) as a channels_last NCHW argument, padded explicitly when tfjs pads asymmetrically. */
function convInput(backend, x, pads, value = 0, xArg = backend.nhwc(x)) {
  if (!pads.explicit) return xArg;
  const [values, shape] = T(call('aten::constant_pad_nd', [xArg, pads.explicit, value], NCHW_TO_NHWC));
  return [values, shape, NHWC_TO_NCHW];
}
function paddedShape(shape, pads) {
  if (!pads.explicit) return shape;
  const [l, r, t, b] = pads.explicit;
  return [shape[0], shape[1] + t + b, shape[2] + l + r, shape[3]];
}
function cropBack(r, pads) {
  if (!pads.explicit) return r;
  const [values, shape] = T(r);
  return call('aten::constant_pad_nd', [[values, shape, NHWC_TO_NCHW], pads.explicit.map((p) => -p), 0], NCHW_TO_NHWC);
}
/** Weight argument: HWIO filter -> OIHW; depthwise [h,w,in,mult] -> [in*mult,1,h,w]. */
function weightArg(values, fshape, depthwise) {
  if (!depthwise) return [values, fshape, [3, 2, 0, 1]];
  return [values, [fshape[0], fshape[1], fshape[2] * fshape[3], 1], [2, 3, 0, 1]];
}
const WEIGHT_BACK = [2, 3, 1, 0]; // OIHW -> HWIO (depthwise: [in*mult,1,h,w] -> [h,w,1,in*mult]... handled below)

function conv2dInfo(xShape, fShape, attrs, depthwise) {
  const dil = attrs.dilations ?? 1;
  if (depthwise) {
    return backend_util.computeConv2DInfo(xShape, fShape, attrs.strides, dil, attrs.pad, attrs.dimRoundingMode, true);
  }
  return backend_util.computeConv2DInfo(
    xShape,
    fShape,
    attrs.strides,
    dil,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat || 'NHWC'),
  );
}

/**
 * The addon result [values, shape] of a conv2d (+ bias) on NHWC tensors, or undefined for a case it does not cover;
 * with `window` ({top, left, height, width, step}, see windowArg) the conv reads that window of x.
 */
function convCall(backend, inputs, attrs, depthwise, window = null) {
  const { x, filter, bias } = inputs;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  if ((attrs.dataFormat || 'NHWC') !== 'NHWC') return undefined;
  const xShape = window ? [x.shape[0], window.height, window.width, x.shape[3]] : x.shape;
  const info = conv2dInfo(xShape, filter.shape, attrs, depthwise);
  if (!convMatches(info) || util.sizeFromShape(info.outShape) === 0) return undefined;
  const pads = torchPads(info);
  const groups = depthwise ? x.shape[3] : 1;
  let biasArg = null;
  if (bias) {
    if (util.sizeFromShape(bias.shape) !== info.outChannels || bias.dtype !== 'float32') return undefined;
    biasArg = [backend.data.get(bias.dataId).values, [info.outChannels]];
  }
  const xv = backend.values(x);
  const fv = backend.values(filter);
  if (!window && smallConvFits(info, depthwise) && isFloat32Array(xv) && isFloat32Array(fv) && (!biasArg || isFloat32Array(biasArg[0]))) {
    return addon.smallConv(xv, x.shape, fv, filter.shape, biasArg && biasArg[0], dnnlPads(info), false, false);
  }
  if (!window && !depthwise && shiftsPadding(info)) {
    const split = info.outHeight * info.outWidth >= SPLIT_MIN_OUTPUT.forward;
    const r = split ? shiftedSameConv(backend, x, filter, biasArg, info) : shiftedViewConv(backend, x, filter, biasArg, info);
    if (r) return r;
  }
  return call(
    'aten::conv2d',
    [
      convInput(backend, x, pads, 0, window ? windowArg(backend, x, window) : backend.nhwc(x)),
      weightArg(backend.data.get(filter.dataId).values, filter.shape, depthwise),
      biasArg,
      [info.strideHeight, info.strideWidth],
      pads.sym,
      [info.dilationHeight, info.dilationWidth],
      groups,
    ],
    NCHW_TO_NHWC,
  );
}

/**
 * Whether a conv runs as the addon's smallConv (single-channel input, stride 1: a grayscale net's first layer), which
 * oneDNN runs at ~14 GFLOP/s (28x28x1 -> 32 at batch 64: 1.04 -> 0.44 ms). Every forward of such a conv goes there
 * (tfjs's Conv2D and FusedConv2D, and TorchDnnlConv inside the addon), so the inference plan and tfjs-layers' predict
 * still agree bit for bit.
 */
function smallConvFits(info, depthwise) {
  return (
    !depthwise &&
    info.inChannels === 1 &&
    info.outChannels <= 256 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1
  );
}
/**
 * Whether tfjs pads one row and one column at the bottom and right only (its 'same' padding when the total is odd,
 * e.g. a 3x3 stride-2 conv of an even map), which ATen cannot express: shiftedSameConv computes it without a padded
 * copy of x.
 */
function shiftsPadding(info) {
  const { top, bottom, left, right } = info.padInfo;
  return top === 0 && left === 0 && bottom === 1 && right === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;
}

/**
 * A conv with tfjs's bottom/right padding of one (shiftsPadding) split so that its main native call reads x whole
 * (contiguous: oneDNN neither pads nor copies it; a padded copy cost 3-15 ms of a 20 ms 3x3 stride-2 conv of 64x64x32
 * at batch 64, one thread, in the forward and in each gradient). With r0 = (Ho-1)sh and c0 = (Wo-1)sw:
 *   main: the 'valid' conv of x gives outputs [0, Ho-1) x [0, Wo-1), which never read the padding;
 *   last row: output row Ho-1 reads x's rows [r0, H) by the kernel's rows [0, kh-1) (its last row meets the
 *     padding), x's columns right-padded by one zero (a copy of kh-1 rows);
 *   last column: outputs [0, Ho-1) x {Wo-1} read x's rows [0, H-sh] and columns [c0, W) by the kernel's columns
 *     [0, kw-1).
 * The forward (shiftedSameConv) and both gradients (shiftedSameInputGrad, shiftedSameFilterGrad) sum these parts.
 * Returns the geometry, or undefined when a part would be empty (a one-row or one-column output: the caller pads).
 */
function shiftedSplit(xShape, fShape, info) {
  const [n, H, W, C] = xShape;
  const [kh, kw, , O] = fShape;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const [Ho, Wo] = [info.outHeight, info.outWidth];
  const [r0, c0] = [(Ho - 1) * sh, (Wo - 1) * sw];
  if (n < 1 || Ho < 2 || Wo < 2 || kh < 2 || kw < 2 || r0 + kh - 1 !== H || c0 + kw - 1 !== W) return undefined;
  return { n, H, W, C, kh, kw, O, sh, sw, Ho, Wo, r0, c0 };
}
/** Whether v is a Float32Array, from any realm (the addon's arrays are not instances of a jest sandbox's class). */
const isFloat32Array = (v) => Object.prototype.toString.call(v) === '[object Float32Array]';
/**
 * Views (addon arguments with strides) of an NHWC buffer `v` of shape [n, H, W, C]: `h` rows from `row` and `w`
 * columns from `col`, as channels_last NCHW (or NHWC with `perm` null, e.g. for addInto).
 */
function nhwcView(v, [n, H, W, C], perm = NHWC_TO_NCHW) {
  return (row, col, h, w) => [v.subarray((row * W + col) * C), [n, h, w, C], perm, null, [H * W * C, W * C, C, 1]];
}
/** The first h rows and w columns of an HWIO filter `v` of shape [kh, kw, C, O], as an OIHW argument. */
function filterView(v, [, kw, C, O]) {
  return (h, w) => [v, [h, w, C, O], [3, 2, 0, 1], null, [kw * C * O, C * O, O, 1]];
}
/**
 * Adds `r` into the view `into` of a result buffer, in place (add_ returns a copy unless `into` is contiguous). Both
 * in NHWC order: a non-contiguous result's copy then reads memory in order (3 against 0.6 ms for NCHW).
 */
function addInto(into, r) {
  const [sum] = call('aten::add_.Tensor', [into, r]);
  if (sum !== into[0]) addon.free(sum);
}
/**
 * Smallest output (Ho * Wo) from which each pass of a shiftsPadding conv splits (shiftedSplit); smaller ones take the
 * 0.3.1 paths (forward: shiftedViewConv; gradients: a padded copy), as the split's two extra native calls and its
 * copy of part of dy cost more there than the copy they save. conv64's stride-2 convs, one thread, CPU-ms, two runs
 * each (0.3.1 -> split): 32x32 outputs (64x64x32 input): forward 21.0 -> 18.5, 28.0 -> 25.4, filter gradient 39.2 ->
 * 18.5, 51.7 -> 25.8, input gradient 17.8 -> 15.1, 26.8 -> 24.7; 16x16 outputs (32x32x64): forward 15.7 -> 18.4,
 * 20.9 -> 26.1, filter 19.0 -> 16.8, 25.8 -> 22.9, input 14.9 -> 15.7, 24.1 -> 23.3; 8x8 and 4x4 outputs: all slower.
 */
const SPLIT_MIN_OUTPUT = { forward: 1024, inputGrad: 1024, filterGrad: 256 };
/**
 * The forward of a shiftsPadding conv for small outputs (SPLIT_MIN_OUTPUT): three native convs on views of x summed
 * into the first: [values, shape] NHWC, or undefined when a size does not work out (the caller pads).
 *   main: x without its first row and column, padded symmetrically by 1: its row r is x's row r+1, so every term of
 *     y[i, j] = sum_ab w[a, b] x[s i + a, s j + b] lands right (the bottom/right padding included) but those reading
 *     x's row 0 or column 0, which read the top/left zero padding instead (oneDNN copies this view: it is not dense);
 *   row 0: x's first row, right-padded by one zero (a copy of one row), by the kernel's first row: y's first row;
 *   column 0: x's first column without its first pixel (counted in row 0), padded by 1 above and below, by the
 *     kernel's first column: y's first column.
 */
function shiftedViewConv(backend, x, filter, biasArg, info) {
  const [n, H, W] = x.shape;
  const [kh, kw, , O] = filter.shape;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const [Ho, Wo] = [info.outHeight, info.outWidth];
  const out = (size, pad, k, s) => Math.floor((size + pad - k) / s) + 1;
  const xv = backend.data.get(x.dataId).values;
  if (H < 2 || W < 2 || out(H - 1, 2, kh, sh) !== Ho || out(W - 1, 2, kw, sw) !== Wo || out(W, 1, kw, sw) !== Wo) return undefined;
  if (!isFloat32Array(xv)) return undefined;
  const xView = nhwcView(xv, x.shape);
  const wView = filterView(backend.data.get(filter.dataId).values, filter.shape);
  const y = call('aten::conv2d', [xView(1, 1, H - 1, W - 1), wView(kh, kw), biasArg, [sh, sw], [1, 1], [1, 1], 1], NCHW_TO_NHWC);
  const yView = nhwcView(y[0], [n, Ho, Wo, O], null);
  const row = T(call('aten::constant_pad_nd', [xView(0, 0, 1, W), [0, 1], 0]));
  addInto(yView(0, 0, 1, Wo), T(call('aten::conv2d', [row, wView(1, kw), null, [1, sw], [0, 0], [1, 1], 1], NCHW_TO_NHWC)));
  const col = call('aten::conv2d', [xView(1, 0, H - 1, 1), wView(kh, 1), null, [sh, 1], [1, 0], [1, 1], 1], NCHW_TO_NHWC);
  addInto(yView(0, 0, Ho, 1), T(col));
  STATS.shiftedSame++;
  return y;
}
/**
 * The forward of a shiftsPadding conv from the parts of shiftedSplit: [values, shape] NHWC (the bias in each part), or
 * undefined (the caller pads). 3x3 stride 2 of 64x64x32 at batch 64, one thread: 18.6 -> 16.1 CPU-ms (best of 12)
 * against shiftedViewConv.
 */
function shiftedSameConv(backend, x, filter, biasArg, info) {
  const g = shiftedSplit(x.shape, filter.shape, info);
  const xv = backend.data.get(x.dataId).values;
  if (!g || !isFloat32Array(xv)) return undefined;
  const { n, H, W, kh, kw, O, sh, sw, Ho, Wo, r0, c0 } = g;
  const xView = nhwcView(xv, x.shape);
  const wView = filterView(backend.data.get(filter.dataId).values, filter.shape);
  const conv = (input, h, w) => call('aten::conv2d', [input, wView(h, w), biasArg, [sh, sw], [0, 0], [1, 1], 1], NCHW_TO_NHWC);
  const main = T(conv(xView(0, 0, H, W), kh, kw));
  // y: main with a zero last row and column (a copy of y, 1/4 of x's size at stride 2 where oneDNN would copy x).
  const y = call('aten::constant_pad_nd', [[main[0], [n, Ho - 1, Wo - 1, O]], [0, 0, 0, 1, 0, 1], 0]);
  const yView = nhwcView(y[0], [n, Ho, Wo, O], null);
  const row = T(call('aten::constant_pad_nd', [xView(r0, 0, kh - 1, W), [0, 1], 0]));
  addInto(yView(Ho - 1, 0, 1, Wo), T(conv(row, kh - 1, kw)));
  addInto(yView(0, Wo - 1, Ho - 1, 1), T(conv(xView(0, c0, H - sh + 1, kw - 1), kh, kw - 1)));
  STATS.shiftedSame++;
  return y;
}

function convForward(depthwise, fused) {
  return ({ inputs, backend, attrs }) => {
    let r = convCall(backend, inputs, attrs, depthwise);
    if (r === undefined) return undefined;
    if (fused) r = activate(backend, r, attrs.activation, inputs.preluActivationWeights, attrs.leakyreluAlpha);
    return backend.out(r, 'float32');
  };
}
def('Conv2D', convForward(false, false));
def('FusedConv2D', convForward(false, true));
def('DepthwiseConv2dNative', convForward(true, false));
def('FusedDepthwiseConv2D', convForward(true, true));

/**
 * aten::convolution_backward of a tfjs conv (not transposed): `mask` says which of the input, weight and bias
 * gradients to compute, `layouts` how each comes back.
 */
function convolutionBackward(dy, input, weight, info, pads, groups, mask, layouts) {
  const args = [
    dy,
    input,
    weight,
    mask[2] ? [info.outChannels] : null,
    [info.strideHeight, info.strideWidth],
    pads.sym,
    [info.dilationHeight, info.dilationWidth],
    false,
    [0, 0],
    groups,
    mask,
  ];
  return call('aten::convolution_backward', args, layouts);
}

const NO_PADS = { sym: [0, 0] };
/**
 * Whether a conv's gradients run as one oneDNN primitive each (addon.dnnlConvGradInput, dnnlConvGradFilter with the
 * bias's), with tfjs's own padding: where the addon has oneDNN (hasDnnlConv), for every undilated, non-depthwise conv.
 * ATen's convolution_backward cannot express tfjs's bottom/right padding (hence shiftedSame*'s split or a padded copy)
 * and costs ~10% over the same kernels elsewhere. conv64's layers, forward + both gradients, batch 64, 2 threads, ms:
 * stride 2 of 32x32x64 24.9 -> 16.0, of 16x16x128 19.2 -> 14.7 (PyTorch with symmetric padding: 16.0, 15.1); stride 1,
 * 32x32x32 -> 64: 32.8 -> 30.0.
 */
let dnnlGradsOn = true;
function dnnlGrads(info, depthwise, dy) {
  return (
    dnnlGradsOn &&
    !depthwise &&
    hasDnnlConv() &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    util.arraysEqual(dy.shape, info.outShape) // tfjs's conv2dTranspose specs pass a dy of another size; ATen's path reads it
  );
}
const convStrides = (info) => [info.strideHeight, info.strideWidth];
const dnnlPads = ({ padInfo: { top, bottom, left, right } }) => [top, bottom, left, right];

/** The input gradient of a shiftsPadding conv, from the parts of shiftedSplit: [values, shape] NHWC, or undefined. */
function shiftedSameInputGrad(backend, dy, filter, info) {
  const g = shiftedSplit(info.inShape, filter.shape, info);
  const dv = backend.data.get(dy.dataId).values;
  if (!g || !isFloat32Array(dv)) return undefined;
  const { n, H, W, C, kh, kw, sh, Ho, Wo, r0, c0 } = g;
  const dyView = nhwcView(dv, dy.shape);
  const wView = filterView(backend.data.get(filter.dataId).values, filter.shape);
  // The gradient of a part: NHWC [n, rows, cols, C] from its dy and the kernel's first h rows and w columns.
  const back = (d, h, w, rows, cols) =>
    convolutionBackward(
      d,
      [null, [n, rows, cols, C], NHWC_TO_NCHW],
      wView(h, w),
      info,
      NO_PADS,
      1,
      [true, false, false],
      [NCHW_TO_NHWC, null, null],
    )[0];
  const dx = back(dyView(0, 0, Ho - 1, Wo - 1), kh, kw, H, W);
  const dxView = nhwcView(dx[0], [n, H, W, C], null);
  const row = T(back(dyView(Ho - 1, 0, 1, Wo), kh - 1, kw, kh - 1, W + 1));
  addInto(dxView(r0, 0, kh - 1, W), nhwcView(row[0], row[1], null)(0, 0, kh - 1, W));
  const col = T(back(dyView(0, Wo - 1, Ho - 1, 1), kh, kw - 1, H - sh + 1, kw - 1));
  addInto(dxView(0, c0, H - sh + 1, kw - 1), col);
  STATS.shiftedSameGrad++;
  return dx;
}
/** The filter gradient of a shiftsPadding conv, from the parts of shiftedSplit: [values, shape] HWIO, or undefined. */
function shiftedSameFilterGrad(backend, x, dy, fShape, info) {
  const g = shiftedSplit(x.shape, fShape, info);
  const xv = backend.data.get(x.dataId).values;
  const dv = backend.data.get(dy.dataId).values;
  if (!g || !isFloat32Array(xv) || !isFloat32Array(dv)) return undefined;
  const { H, W, C, kh, kw, O, sh, Ho, Wo, r0, c0 } = g;
  const xView = nhwcView(xv, x.shape);
  const dyView = nhwcView(dv, dy.shape);
  // The gradient of a part (the kernel's first h rows and w columns, HWIO) from its dy and input.
  const back = (d, input, h, w) =>
    convolutionBackward(d, input, [null, [O, C, h, w]], info, NO_PADS, 1, [false, true, false], [null, WEIGHT_BACK, null])[1];
  const dw = back(dyView(0, 0, Ho - 1, Wo - 1), xView(0, 0, H, W), kh, kw);
  const row = T(call('aten::constant_pad_nd', [xView(r0, 0, kh - 1, W), [0, 1], 0]));
  addInto([dw[0], [kh - 1, kw, C, O]], T(back(dyView(Ho - 1, 0, 1, Wo), row, kh - 1, kw)));
  const col = T(back(dyView(0, Wo - 1, Ho - 1, 1), xView(0, c0, H - sh + 1, kw - 1), kh, kw - 1));
  addInto([dw[0], [kh, kw - 1, C, O], null, null, [kw * C * O, C * O, O, 1]], col);
  STATS.shiftedSameGrad++;
  return [dw[0], fShape];
}

function convBackpropInput(depthwise) {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs;
    if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
    if ((attrs.dataFormat || 'NHWC') !== 'NHWC') return undefined;
    const xShape = attrs.inputShape;
    const info = conv2dInfo(xShape, filter.shape, attrs, depthwise);
    if (!convMatches(info) || util.sizeFromShape(xShape) === 0) return undefined;
    const dv = backend.values(dy);
    const fv = backend.values(filter);
    if (dnnlGrads(info, depthwise, dy) && isFloat32Array(dv) && isFloat32Array(fv)) {
      STATS.dnnlGrad++;
      return backend.out(addon.dnnlConvGradInput(dv, dy.shape, fv, filter.shape, xShape, convStrides(info), dnnlPads(info)), 'float32');
    }
    if (!depthwise && shiftsPadding(info) && info.outHeight * info.outWidth >= SPLIT_MIN_OUTPUT.inputGrad) {
      const r = shiftedSameInputGrad(backend, dy, filter, info);
      if (r) return backend.out(r, 'float32');
    }
    const pads = torchPads(info);
    const groups = depthwise ? xShape[3] : 1;
    const r = convolutionBackward(
      backend.nhwc(dy),
      [null, paddedShape(xShape, pads), NHWC_TO_NCHW],
      weightArg(backend.data.get(filter.dataId).values, filter.shape, depthwise),
      info,
      pads,
      groups,
      [true, false, false],
      [NCHW_TO_NHWC, null, null],
    );
    return backend.out(cropBack(r[0], pads), 'float32');
  };
}
def('Conv2DBackpropInput', convBackpropInput(false));
def('DepthwiseConv2dNativeBackpropInput', convBackpropInput(true));

/**
 * The filter gradient (and with `withBias` the bias gradient, from the same native pass) of a conv of x:
 * [dw] or [dw, db] as TensorInfos, or undefined for a case the native kernels do not cover.
 */
function filterGrad(backend, x, dy, attrs, depthwise, withBias) {
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
  if ((attrs.dataFormat || 'NHWC') !== 'NHWC') return undefined;
  const fShape = attrs.filterShape;
  const info = conv2dInfo(x.shape, fShape, attrs, depthwise);
  if (!convMatches(info) || util.sizeFromShape(fShape) === 0) return undefined;
  const xv = backend.values(x);
  const dv = backend.values(dy);
  // Not a strided 1x1 (oneDNN's kernel for those corrupts memory too: see strided1x1FilterGrad).
  if (dnnlGrads(info, depthwise, dy) && !isStrided1x1(info) && isFloat32Array(xv) && isFloat32Array(dv)) {
    STATS.dnnlGrad++;
    const [dw, db] = addon.dnnlConvGradFilter(xv, x.shape, dv, dy.shape, fShape, convStrides(info), dnnlPads(info), withBias);
    return withBias ? [backend.out(dw, 'float32'), backend.out(db, 'float32')] : [backend.out(dw, 'float32')];
  }
  if (!depthwise && isStrided1x1(info)) {
    const dw = backend.out(strided1x1FilterGrad(backend, x, dy, info), 'float32');
    return withBias ? [dw, biasGrad(backend, dy)] : [dw];
  }
  if (!depthwise && shiftsPadding(info) && info.outHeight * info.outWidth >= SPLIT_MIN_OUTPUT.filterGrad) {
    const r = shiftedSameFilterGrad(backend, x, dy, fShape, info);
    if (r) return [backend.out(r, 'float32'), ...(withBias ? [biasGrad(backend, dy)] : [])];
  }
  const pads = torchPads(info);
  const groups = depthwise ? x.shape[3] : 1;
  // An uninitialised OIHW weight (only its shape matters); contiguous, as the non-oneDNN path requires.
  const wEmpty = depthwise
    ? [null, [fShape[2] * fShape[3], 1, fShape[0], fShape[1]]]
    : [null, [fShape[3], fShape[2], fShape[0], fShape[1]]];
  const r = convolutionBackward(
    backend.nhwc(dy),
    convInput(backend, x, pads),
    wEmpty,
    info,
    pads,
    groups,
    [false, true, withBias],
    [null, depthwise ? [2, 3, 0, 1] : WEIGHT_BACK, null],
  );
  const dw = backend.out([r[1][0], fShape], 'float32');
  return withBias ? [dw, backend.out(r[2], 'float32')] : [dw];
}
function convBackpropFilter(depthwise) {
  return ({ inputs, backend, attrs }) => {
    const r = filterGrad(backend, inputs.x, inputs.dy, attrs, depthwise, false);
    return r && r[0];
  };
}
/** The bias gradient of a conv: dy summed over all but its channels. */
function biasGrad(backend, dy) {
  return backend.out(call('aten::sum.dim_IntList', [backend.arg(dy), [0, 1, 2], false]), 'float32');
}
/** A 1x1 conv with stride > 1 (a ResNet/BagNet downsampling projection); such convs never pad. */
function isStrided1x1(info) {
  return (
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    (info.strideHeight > 1 || info.strideWidth > 1) &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0
  );
}
/**
 * Filter gradient of a strided 1x1 conv as one matmul over the sampled pixels: dW[c, o] = sum x[n, i*s, j*s, c] *
 * dy[n, i, j, o]. libtorch 1.13's convolution_backward corrupts the heap for these convs on channels_last inputs
 * when the input has rows or columns the stride skips at its end (e.g. 60 px, stride 2, <= 8 input channels: PyTorch
 * itself crashes too); this path never goes there and is faster besides.
 */
function strided1x1FilterGrad(backend, x, dy, info) {
  const [n, h, w, c] = x.shape;
  const m = n * info.outHeight * info.outWidth;
  const [xs] = T(
    call('aten::as_strided', [
      backend.arg(x),
      [n, info.outHeight, info.outWidth, c],
      [h * w * c, info.strideHeight * w * c, info.strideWidth * c, 1],
    ]),
  );
  const [dv, , , dcast] = backend.arg(dy);
  const [values] = call('aten::mm', [
    [xs, [m, c], [1, 0]],
    [dv, [m, info.outChannels], null, dcast ?? null],
  ]);
  return [values, [1, 1, c, info.outChannels]];
}
def('Conv2DBackpropFilter', convBackpropFilter(false));
def('DepthwiseConv2dNativeBackpropFilter', convBackpropFilter(true));

// ---- pooling ------------------------------------------------------------------------------------------------------
function poolInfo(xShape, attrs) {
  return backend_util.computePool2DInfo(xShape, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}
function poolOk(info, pads) {
  return convMatches(info) && pads.sym[0] <= Math.floor(info.filterHeight / 2) && pads.sym[1] <= Math.floor(info.filterWidth / 2);
}
/** dataIds of relu outputs computed while recording gradients (TorchConv2D with relu), whose pooling masks its gradient. */
const reluOutputs = new WeakSet();
/** MaxPoolGrad results masked for their input relu output already: result dataId -> that output's dataId. */
const reluMasked = new WeakMap();
/** Argmax indices of MaxPool outputs computed while recording gradients, by output dataId (freed with the output). */
const poolIndices = new Map();
/** A 2x2 stride-2 max pool without padding (the addon's maxPool2x2). */
function isPool2x2(info, pads) {
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const plain = filterHeight === 2 && filterWidth === 2 && strideHeight === 2 && strideWidth === 2;
  return plain && dilationHeight === 1 && dilationWidth === 1 && !pads.explicit && pads.sym[0] === 0 && pads.sym[1] === 0;
}
function poolArgs(info, pads) {
  return [[info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], pads.sym, [1, 1], false];
}
def('MaxPool', ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  const info = poolInfo(x.shape, attrs);
  const pads = torchPads(info);
  if (!poolOk(info, pads) || util.sizeFromShape(info.outShape) === 0) return undefined;
  if (info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1) return undefined;
  if (tfc.engine().state.gradientDepth > 0) {
    // Training: keep the argmax indices for MaxPoolGrad (saves a second pass over the input). The common 2x2 stride-2
    // 'valid' pool is the addon's own loop (int32 argmax; ATen keeps int64 and scatters through them).
    const key = JSON.stringify([x.shape, attrs]);
    if (isPool2x2(info, pads)) {
      const [y, idx] = addon.maxPool2x2(backend.values(x), x.shape);
      const out = backend.out(y, 'float32');
      poolIndices.set(out.dataId, { idx, xShape: x.shape, key, pool2x2: true });
      return out;
    }
    const [y, idx] = call('aten::max_pool2d_with_indices', [convInput(backend, x, pads, -Infinity), ...poolArgs(info, pads)], NCHW_TO_NHWC);
    const out = backend.out(y, 'float32');
    poolIndices.set(out.dataId, { idx, xShape: x.shape, key });
    return out;
  }
  const r = call('aten::max_pool2d', [convInput(backend, x, pads, -Infinity), ...poolArgs(info, pads)], NCHW_TO_NHWC);
  return backend.out(r, 'float32');
});
def('MaxPoolGrad', ({ inputs, backend, attrs }) => {
  const { dy, input, output } = inputs;
  if (dy.dtype !== 'float32' || input.dtype !== 'float32') return undefined;
  const info = poolInfo(input.shape, attrs);
  const pads = torchPads(info);
  if (!poolOk(info, pads)) return undefined;
  let cached = output && poolIndices.get(output.dataId);
  if (cached && cached.key !== JSON.stringify([input.shape, attrs])) cached = undefined;
  // Pooling a relu's output (TorchConv2D's): its gradient mask applied here, on the pooled map (a quarter of the size
  // at 2x2), so TorchReluGrad passes the result on (bit-identical: the gradient reaches only argmax pixels, where the
  // relu output equals the pooled one).
  const masked = output && reluOutputs.has(input.dataId);
  if (cached && cached.pool2x2) {
    const dx = backend.out(
      addon.maxPool2x2Grad(backend.values(dy), cached.idx[0], input.shape, masked ? backend.values(output) : null),
      'float32',
    );
    if (masked) reluMasked.set(dx.dataId, input.dataId);
    return dx;
  }
  const xin = convInput(backend, input, pads, -Infinity);
  const idx = cached ? cached.idx : T(call('aten::max_pool2d_with_indices', [xin, ...poolArgs(info, pads)], [null, NCHW_TO_NHWC]))[1];
  const dyArg = masked
    ? [T(call('aten::threshold_backward', [backend.arg(dy), backend.arg(output), 0]))[0], dy.shape, NHWC_TO_NCHW]
    : backend.nhwc(dy);
  const g = call(
    'aten::max_pool2d_with_indices_backward',
    [dyArg, xin, ...poolArgs(info, pads), [idx[0], idx[1], NHWC_TO_NCHW]],
    NCHW_TO_NHWC,
  );
  const dx = backend.out(cropBack(g, pads), 'float32');
  if (masked) reluMasked.set(dx.dataId, input.dataId);
  return dx;
});
def('AvgPool', ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
  const info = poolInfo(x.shape, attrs);
  const pads = torchPads(info);
  if (pads.explicit || !poolOk(info, pads) || util.sizeFromShape(info.outShape) === 0) return undefined;
  const r = call(
    'aten::avg_pool2d',
    [backend.nhwc(x), [info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], pads.sym, false, false, null],
    NCHW_TO_NHWC,
  );
  return backend.out(r, 'float32');
});
def('AvgPoolGrad', ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs;
  if (dy.dtype !== 'float32') return undefined;
  const info = poolInfo(input.shape, attrs);
  const pads = torchPads(info);
  if (pads.explicit || !poolOk(info, pads)) return undefined;
  const r = call(
    'aten::avg_pool2d_backward',
    [
      backend.nhwc(dy),
      [null, input.shape, NHWC_TO_NCHW],
      [info.filterHeight, info.filterWidth],
      [info.strideHeight, info.strideWidth],
      pads.sym,
      false,
      false,
      null,
    ],
    NCHW_TO_NHWC,
  );
  return backend.out(r, 'float32');
});

// ---- normalisation, softmax ----------------------------------------------------------------------------------------
def('FusedBatchNorm', ({ inputs, backend, attrs }) => {
  const { x, mean, variance, offset, scale } = inputs;
  const rank = x.shape.length;
  if (rank !== 4 && rank !== 2) return undefined;
  const c = x.shape[rank - 1];
  const per = (t) => t == null || (t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === c);
  if (x.dtype !== 'float32' || ![mean, variance, offset, scale].every(per) || small(backend, x)) return undefined;
  const v = (t) => (t == null ? null : [backend.data.get(t.dataId).values, [c]]);
  const r = call(
    'aten::batch_norm',
    [
      rank === 4 ? backend.nhwc(x) : backend.arg(x),
      v(scale),
      v(offset),
      v(mean),
      v(variance),
      false,
      0,
      attrs.varianceEpsilon ?? 0.001,
      false,
    ],
    rank === 4 ? NCHW_TO_NHWC : null,
  );
  return backend.out(r, 'float32');
});
// Native at any size: the cpu kernel runs five kernels (max, sub, exp, sum, div), 1.5 ms for [64, 10] logits.
def('Softmax', ({ inputs, backend, attrs }) => {
  const { logits } = inputs;
  if (logits.dtype !== 'float32') return undefined;
  return backend.out(call('aten::_softmax', [backend.arg(logits), attrs.dim ?? -1, false]), 'float32');
});

// ---- resize -------------------------------------------------------------------------------------------------------
function resizeMode(kernel, attrs) {
  if (kernel === 'bilinear') {
    if (attrs.alignCorners) return { aten: 'aten::upsample_bilinear2d', align: [true] };
    if (attrs.halfPixelCenters) return { aten: 'aten::upsample_bilinear2d', align: [false] };
    return null;
  }
  if (attrs.alignCorners) return null;
  return attrs.halfPixelCenters ? { aten: 'aten::_upsample_nearest_exact2d', align: [] } : { aten: 'aten::upsample_nearest2d', align: [] };
}
for (const [k, kind] of [
  ['ResizeBilinear', 'bilinear'],
  ['ResizeNearestNeighbor', 'nearest'],
]) {
  def(k, ({ inputs, backend, attrs }) => {
    const { images } = inputs;
    const m = resizeMode(kind, attrs);
    if (!m || images.dtype !== 'float32' || images.shape.length !== 4) return undefined;
    const [h, w] = attrs.size;
    if (h === 0 || w === 0 || util.sizeFromShape(images.shape) === 0) return undefined;
    if (kind === 'bilinear' && attrs.alignCorners && (h === 1 || w === 1)) return undefined;
    const r = call(m.aten, [backend.nhwc(images), [h, w], ...m.align, null, null], NCHW_TO_NHWC);
    return backend.out(r, 'float32');
  });
}
for (const [k, kind] of [
  ['ResizeBilinearGrad', 'bilinear'],
  ['ResizeNearestNeighborGrad', 'nearest'],
]) {
  def(k, ({ inputs, backend, attrs }) => {
    const { images, dy } = inputs;
    const m = resizeMode(kind, attrs);
    if (!m || dy.dtype !== 'float32') return undefined;
    if (kind === 'bilinear' && attrs.alignCorners && (dy.shape[1] === 1 || dy.shape[2] === 1)) return undefined;
    const [n, ih, iw, c] = images.shape;
    const r = call(
      m.aten + '_backward',
      [backend.nhwc(dy), [dy.shape[1], dy.shape[2]], [n, c, ih, iw], ...m.align, null, null],
      NCHW_TO_NHWC,
    );
    return backend.out(r, 'float32');
  });
}

// ---- shape ops ----------------------------------------------------------------------------------------------------
def('PadV2', ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (x.dtype !== 'float32' || small(backend, x) || x.shape.length === 0) return undefined;
  const pads = [];
  for (let i = attrs.paddings.length - 1; i >= 0; i--) pads.push(attrs.paddings[i][0], attrs.paddings[i][1]);
  return backend.out(call('aten::constant_pad_nd', [backend.arg(x), pads, attrs.constantValue]), 'float32');
});
def('Slice', ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (x.dtype === 'bool' || x.shape.length === 0) return undefined;
  const [begin, size] = tfc.slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  tfc.slice_util.assertParamsValid(x, begin, size);
  if (util.sizeFromShape(size) === 0) return undefined;
  // Small contiguous slices are a subarray copy in JS; the cpu kernel's strided path reads element by element
  // through TensorBuffer.get (about 1 ms for a 28x28 image sliced along its width), so those run natively at any size.
  if (small(backend, x) && tfc.slice_util.isSliceContinous(x.shape, begin, size)) return undefined;
  const pads = [];
  for (let i = x.shape.length - 1; i >= 0; i--) pads.push(-begin[i], -(x.shape[i] - begin[i] - size[i]));
  return backend.out(call('aten::constant_pad_nd', [backend.arg(x), pads, 0]), x.dtype);
});
def('Transpose', ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (small(backend, x)) return undefined;
  return backend.out(call('aten::contiguous', [backend.arg(x, attrs.perm)]), x.dtype);
});
def('Concat', ({ inputs, backend, attrs }) => {
  const ts = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
  if (ts.length < 2 || ts[0].shape.length === 0 || ts.some((t) => t.dtype !== ts[0].dtype)) return undefined;
  const total = ts.reduce((s, t) => s + util.sizeFromShape(t.shape), 0);
  if (total < backend.minNative) return undefined;
  const axis = util.parseAxisParam(attrs.axis, ts[0].shape)[0];
  return backend.out(call('aten::cat', [ts.map((t) => backend.arg(t)), axis]), ts[0].dtype);
});
// Concat's gradient (anti-aliased nets' reflect padding concatenates reversed slices).
def('SplitV', ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (x.dtype === 'bool' || small(backend, x) || x.shape.length === 0) return undefined;
  const axis = util.parseAxisParam(attrs.axis, x.shape)[0];
  const sizes = backend_util.prepareSplitSize(x, attrs.numOrSizeSplits, axis);
  const parts = call('aten::split_with_sizes', [backend.arg(x), sizes, axis]);
  return parts.map((r) => backend.out(r, x.dtype));
});
def('Reverse', ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (x.dtype === 'bool' || small(backend, x) || x.shape.length === 0) return undefined;
  const dims = util.parseAxisParam(attrs.dims, x.shape);
  if (dims.length === 0) return undefined;
  return backend.out(call('aten::flip', [backend.arg(x), dims]), x.dtype);
});
def('GatherV2', ({ inputs, backend, attrs }) => {
  const { x, indices } = inputs;
  if ((attrs.batchDims ?? 0) !== 0 || x.dtype === 'bool' || small(backend, x) || indices.dtype !== 'int32') return undefined;
  const axis = util.parseAxisParam(attrs.axis, x.shape)[0];
  const n = util.sizeFromShape(indices.shape);
  const iv = backend.data.get(indices.dataId).values;
  const dim = x.shape[axis];
  for (let i = 0; i < n; i++) if (iv[i] < 0 || iv[i] >= dim) return undefined; // the cpu kernel throws tfjs's error
  const r = call('aten::index_select', [backend.arg(x), axis, [backend.data.get(indices.dataId).values, [n], null, 'int64']]);
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  return backend.out([r[0], shape], x.dtype);
});
def('Tile', ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  if (x.dtype === 'string' || x.shape.length === 0 || attrs.reps.length !== x.shape.length) return undefined;
  const outSize = util.sizeFromShape(x.shape) * attrs.reps.reduce((p, r) => p * r, 1);
  if (outSize < backend.minNative || outSize === 0) return undefined;
  return backend.out(call('aten::repeat', [backend.arg(x), attrs.reps]), x.dtype);
});
def('AddN', ({ inputs, backend }) => {
  if (inputs.length < 2 || inputs[0].dtype !== 'float32' || small(backend, inputs[0])) return undefined;
  if (inputs.some((t) => t.dtype !== 'float32' || !util.arraysEqual(t.shape, inputs[0].shape))) return undefined;
  let r = call('aten::add.Tensor', [backend.arg(inputs[0]), backend.arg(inputs[1])]);
  for (let i = 2; i < inputs.length; i++) r = call('aten::add.Tensor', [T(r), backend.arg(inputs[i])]);
  return backend.out(r, 'float32');
});

// ---- gradients in fewer passes ----------------------------------------------------------------------------------------
// Some of tfjs's gradients make many full-size passes (Relu: dy * step(x); Mean: dy * ones(x.shape) / n; Square:
// dy * (x * 2); FusedBatchNorm: about ten). On this backend they run as single native kernels; other backends keep
// tfjs's gradients, and so does this one for cases the kernels do not cover.
const GRAD_KERNELS = {
  TorchReluGrad({ inputs, backend }) {
    const { dy, x } = inputs;
    if (reluMasked.get(dy.dataId) === x.dataId) {
      backend.incRef(dy.dataId); // MaxPoolGrad masked dy for this relu output (x here is the output, see TorchConv2D)
      STATS.reluMaskedByPool++;
      return { dataId: dy.dataId, shape: dy.shape, dtype: dy.dtype };
    }
    return backend.out(call('aten::threshold_backward', [backend.arg(dy), backend.arg(x), 0]), 'float32');
  },
  TorchSquareGrad({ inputs, backend }) {
    const { dy, x } = inputs;
    return backend.out(call('aten::addcmul', [[new Float32Array([0]), []], backend.arg(dy), backend.arg(x), 2]), 'float32');
  },
  TorchMeanGrad({ inputs, backend, attrs }) {
    const { dy } = inputs;
    const { shape, axes } = attrs;
    const expanded = shape.slice();
    for (const a of axes) expanded[a] = 1;
    const n = axes.reduce((p, a) => p * shape[a], 1);
    const d = backend.data.get(dy.dataId).values;
    if (isSpatial(shape, axes, d)) return backend.out(addon.spatialMean(d, shape, true), 'float32');
    const scaled = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) scaled[i] = d[i] / n;
    return backend.out(call('aten::expand', [[scaled, expanded], shape]), 'float32');
  },
  /** dx of FusedBatchNorm with per-channel mean/variance taken as given: dy * scale / sqrt(variance + eps). */
  TorchBatchNormGradX({ inputs, backend, attrs }) {
    const { dy, x, mean, variance, scale } = inputs;
    const rank = x.shape.length;
    const C = x.shape[rank - 1];
    const sc = scale ? backend.data.get(scale.dataId).values : new Float32Array(C).fill(1);
    const asNchw = (t) => (rank === 4 ? backend.nhwc(t) : backend.arg(t));
    const r = call(
      'aten::native_batch_norm_backward',
      [
        asNchw(dy),
        asNchw(x),
        [sc, [C]],
        backend.arg(mean),
        backend.arg(variance),
        null,
        null,
        false,
        attrs.varianceEpsilon,
        [true, false, false],
      ],
      [rank === 4 ? NCHW_TO_NHWC : null, null, null],
    );
    return backend.out(r[0], 'float32');
  },
};

/**
 * Inference-only conv2d (+ bias) [+ max pooling] + activation in one kernel (not a tfjs kernel; lib/engine's inference
 * plan uses it for a conv chain whose input is cropped or whose output is max-pooled with 'valid' padding). The
 * activation runs after the pooling: relu and the other fused activations are nondecreasing, so max(act(v)) =
 * act(max(v)) exactly, and the activation touches a quarter of the elements (2x2 pooling). The conv output never
 * reaches JS. attrs: the conv's {strides, pad, activation}; pool {poolSize, poolStrides} (optional); window (optional,
 * see windowArg): the conv reads that window of x (a crop, or for a strided 1x1 conv the sampled pixels) in place.
 */
GRAD_KERNELS.TorchConvPool = ({ inputs, backend, attrs }) => {
  const act = attrs.activation ?? 'linear';
  if (!['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'].includes(act))
    throw new Error(`TorchConvPool: activation '${act}' is not monotone`);
  try {
    const r = T(convCall(backend, inputs, { ...attrs, dataFormat: 'NHWC', dilations: [1, 1] }, false, attrs.window ?? null));
    if (!r) throw new Error(`TorchConvPool: conv of ${inputs.x.shape} by ${inputs.filter.shape} is not covered natively`);
    let y = r;
    if (attrs.poolSize) {
      const [ph, pw] = attrs.poolSize;
      const [sh, sw] = attrs.poolStrides;
      y = call('aten::max_pool2d', [[r[0], r[1], NHWC_TO_NCHW], [ph, pw], [sh, sw], [0, 0], [1, 1], false], NCHW_TO_NHWC);
    } else scratch.pop(); // the conv output is the result
    return backend.out(activate(backend, y, act, null, attrs.leakyreluAlpha), 'float32');
  } finally {
    freeScratch();
  }
};

let hasDnnl = null;
/** Whether TorchDnnlConv runs here: the addon was built with oneDNN and runs on the CPU (decided once). */
function hasDnnlConv() {
  return (hasDnnl ??= !!addon && typeof addon.dnnlConv === 'function' && addon.info().device === 'cpu');
}

/**
 * Conv2d + bias [+ a summand] [+ relu] in one oneDNN primitive (addon.dnnlConv; only where the addon was built with
 * oneDNN's headers: hasDnnlConv()), for the inference plan and TorchConv2D's forward. The summand and the relu are the
 * primitive's post-ops, so the conv's output is written once, already summed and rectified (ATen writes it, then adds
 * and rectifies in further passes).
 * inputs: x (NHWC), filter (HWIO; omitted when the weights kept under attrs.weightKey are used), bias (optional),
 * add (optional: the summand, NHWC of the output's shape, or with attrs.addWindow [top, left] a larger map read in place
 * at that offset: a residual crop). attrs: strides, pad ('same' | 'valid'), activation ('relu' | 'linear'),
 * filterShape (HWIO), weightKey (the weights' identity; '' keeps nothing), xWindow (optional: the conv reads this window
 * of x, {top, left, height, width, step}, as TorchConvPool's attrs.window: a residual crop, gathered into one dense
 * copy first, as oneDNN's fast convolutions read dense maps only), pool2x2 (optional: a 2x2 stride-2 'valid' max pool
 * of the result inside the addon: maxPool2x2's loop without argmax after the primitive, or fused in smallConv, which
 * runs single-channel convs instead of oneDNN).
 */
GRAD_KERNELS.TorchDnnlConv = ({ inputs, backend, attrs }) => {
  const { x, filter, bias, add } = inputs;
  const { activation } = attrs;
  if (!['relu', 'linear'].includes(activation)) throw new Error(`TorchDnnlConv: activation '${activation}' is not relu or linear`);
  if ([x, filter, bias, add].some((t) => t && t.dtype !== 'float32') || x.shape.length !== 4) {
    throw new Error(`TorchDnnlConv: expected float32 NHWC x and float32 weights, got x ${x.dtype} ${x.shape}`);
  }
  try {
    return backend.out(dnnlConv(backend, x, filter, bias, add, attrs), 'float32');
  } finally {
    freeScratch();
  }
};
/** TorchDnnlConv's native call: [values, shape] of the output. */
function dnnlConv(backend, x, filter, bias, add, { strides, pad, activation, filterShape, weightKey = '', addWindow, xWindow, pool2x2 }) {
  let [xValues, xShape] = [backend.values(x), x.shape];
  if (xWindow) {
    const [values, shape, , , elementStrides] = windowArg(backend, x, xWindow);
    [xValues, xShape] = T(call('aten::contiguous', [[values, shape, null, null, elementStrides]]));
  }
  const info = conv2dInfo(xShape, filterShape, { strides, pad, dataFormat: 'NHWC' }, false);
  const outShape = [xShape[0], info.outHeight, info.outWidth, filterShape[3]];
  let summand = null;
  if (add) {
    const [top0, left0] = addWindow ?? [0, 0];
    if (!addWindow && !util.arraysEqual(add.shape, outShape))
      throw new Error(`TorchDnnlConv: summand ${add.shape} is not the output's ${outShape}`);
    const [values, shape, , , elementStrides] = windowArg(backend, add, {
      top: top0,
      left: left0,
      height: outShape[1],
      width: outShape[2],
    });
    summand = [values, shape, elementStrides];
  }
  return addon.dnnlConv(
    xValues,
    xShape,
    weightKey,
    backend.values(filter),
    filterShape,
    backend.values(bias),
    convStrides(info),
    dnnlPads(info),
    activation === 'relu',
    summand,
    !!pool2x2,
  );
}

/**
 * Inference-only relu(a + b) for two float32 tensors of one shape, in one native add with the relu in place; with
 * attrs.cropB [top, left], b is a larger NHWC map read in place at that offset (a residual crop without a copy).
 */
GRAD_KERNELS.TorchAddRelu = ({ inputs, backend, attrs }) => {
  const { a, b } = inputs;
  const crop = attrs && attrs.cropB;
  const fits = crop
    ? a.shape.length === 4 && b.shape.length === 4 && a.shape[0] === b.shape[0] && a.shape[3] === b.shape[3]
    : util.arraysEqual(a.shape, b.shape);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !fits) {
    throw new Error(
      `TorchAddRelu: expected two float32 tensors of one shape${crop ? ' (b cropped)' : ''}, ` +
        `got ${a.dtype} ${a.shape} and ${b.dtype} ${b.shape}`,
    );
  }
  if (!crop) return backend.out(call('aten::relu_', [call('aten::add.Tensor', [backend.arg(a), backend.arg(b)])]), 'float32');
  const bArg = windowArg(backend, b, { top: crop[0], left: crop[1], height: a.shape[1], width: a.shape[2] });
  return backend.out(call('aten::relu_', [call('aten::add.Tensor', [backend.nhwc(a), bArg])], NCHW_TO_NHWC), 'float32');
};

/**
 * Conv2D (+ bias) (+ relu) for training (not a tfjs kernel; lib/engine's convBiasActivation): TorchDnnlConv's forward
 * (else FusedConv2D's), with a gradient (registerConvTrainGradient) that computes only the gradients backprop asks
 * for, each from one native pass: x's (none for a net's first layer) and the filter's with the bias's
 * (convolution_backward's bias output).
 * attrs: strides, pad, dimRoundingMode, activation ('linear' | 'relu'), withBias (whether a bias input is given).
 */
let fusedConv2D = null;
GRAD_KERNELS.TorchConv2D = (args) => {
  fusedConv2D = fusedConv2D || wrap('FusedConv2D', native.get('FusedConv2D')); // native, else the cpu kernel
  const { x, filter, bias } = args.inputs;
  const { strides, pad, activation } = args.attrs;
  // oneDNN where the addon has it: the relu is the conv's post-op, not a second pass (weights change every step, so
  // none are kept: weightKey '').
  const y =
    hasDnnlConv() && (activation === 'relu' || activation === 'linear') && typeof pad === 'string'
      ? GRAD_KERNELS.TorchDnnlConv({
          inputs: { x, filter, ...(bias ? { bias } : {}) },
          backend: args.backend,
          attrs: { strides, pad, activation, filterShape: filter.shape },
        })
      : fusedConv2D({ ...args, attrs: { ...args.attrs, dataFormat: 'NHWC', dilations: [1, 1] } });
  if (args.attrs.activation === 'relu') reluOutputs.add(y.dataId);
  return y;
};
/** Filter and bias gradients of a conv in one native pass: inputs x, dy; attrs as Conv2DBackpropFilter's; [dw, db]. */
GRAD_KERNELS.TorchConv2DBackpropFilterBias = ({ inputs, backend, attrs }) => {
  const a = { ...attrs, dataFormat: 'NHWC' };
  try {
    const r = filterGrad(backend, inputs.x, inputs.dy, a, false, true);
    if (r) return r;
  } finally {
    freeScratch();
  }
  const dw = cpuKernels.get('Conv2DBackpropFilter').kernelFunc({ inputs, backend, attrs: a });
  return [dw, cpuKernels.get('Sum').kernelFunc({ inputs: { x: inputs.dy }, backend, attrs: { axis: [0, 1, 2], keepDims: false } })];
};
function registerConvTrainGradient() {
  tfc.registerGradient({
    kernelName: 'TorchConv2D',
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, [x, filter, y], attrs) => {
      const e = tfc.engine();
      // The gradient through the relu (y > 0 exactly where the pre-activation is); made here, it lives until the end
      // of the backward pass and is shared by the thunks below, each of which runs only if backprop needs it.
      const g = attrs.activation === 'relu' ? e.runKernel('TorchReluGrad', { dy, x: y }) : dy;
      const conv = { strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC', dimRoundingMode: attrs.dimRoundingMode };
      let db = null; // the bias gradient's values, from the filter's pass (tfjs asks for x, filter, bias in that order)
      return {
        x: () => e.runKernel('Conv2DBackpropInput', { dy: g, filter }, { ...conv, inputShape: x.shape }),
        filter: () => {
          if (!attrs.withBias) return e.runKernel('Conv2DBackpropFilter', { x, dy: g }, { ...conv, filterShape: filter.shape });
          const [dw, b] = e.runKernel('TorchConv2DBackpropFilterBias', { x, dy: g }, { ...conv, filterShape: filter.shape });
          db = b.dataSync();
          b.dispose();
          return dw;
        },
        bias: () => (db ? tfc.tensor1d(db) : tfc.sum(g, [0, 1, 2])),
      };
    },
  });
}

/**
 * One Adam step for one weight in one native pass (not a tfjs kernel; lib/engine's fused Adam uses it): inputs x (the
 * weight), m, v (its moments) and g (its gradient), float32 of one shape; outputs [x', m', v']. attrs: beta1, beta2,
 * oneMinusBeta1, oneMinusBeta2, bc1, bc2, lr, epsilon (each used as a float32) and form: 'tfjs' (tfjs's
 * AdamOptimizer: x' = ((m'/bc1) / (sqrt(v'/bc2) + eps)) * lr + x, lr negative) or 'tessera' (lib/train's Optimizer:
 * x' = x - (m' * lr) / (sqrt(v'/bc2) + eps), lr = lr/bc1). Bit-identical to those optimisers on the cpu backend.
 */
const ADAM_PARAMS = ['beta1', 'beta2', 'oneMinusBeta1', 'oneMinusBeta2', 'bc1', 'bc2', 'lr', 'epsilon'];
GRAD_KERNELS.TorchAdam = ({ inputs, backend, attrs }) => {
  const { x, m, v, g } = inputs;
  if (![x, m, v, g].every((t) => t.dtype === 'float32' && util.arraysEqual(t.shape, x.shape))) {
    throw new Error(`TorchAdam: expected float32 weight, moments and gradient of one shape, got ${[x, m, v, g].map((t) => t.shape)}`);
  }
  const vals = [x, m, v, g].map((t) => backend.values(t)); // the addon checks they are Float32Arrays
  const form = { tfjs: 0, tessera: 1 }[attrs.form];
  if (form === undefined) throw new Error(`TorchAdam: form must be 'tfjs' or 'tessera', got ${attrs.form}`);
  const r = addon.adam(
    ...vals,
    ADAM_PARAMS.map((k) => attrs[k]),
    form,
  );
  return r.map(([values]) => backend.out([values, x.shape], 'float32'));
};

/**
 * Reflect padding of the H and W axes of an NHWC tensor (not a tfjs kernel; used through lib/engine's reflectPad):
 * attrs.paddings [[top, bottom], [left, right]], each smaller than its axis. tfjs's MirrorPad gradient only slices
 * (it drops the reflected contributions), so this kernel has its own exact gradient, TorchReflectPadGrad. Both are the
 * addon's own gather passes (ATen's reflection_pad2d and its backward run NHWC maps 5-10x slower than a copy).
 */
const reflectPads = (paddings) => [paddings[0][0], paddings[0][1], paddings[1][0], paddings[1][1]];
GRAD_KERNELS.TorchReflectPad = ({ inputs, backend, attrs }) => {
  const { x } = inputs;
  return backend.out(addon.reflectPad(backend.values(x), x.shape, reflectPads(attrs.paddings), false), 'float32');
};
GRAD_KERNELS.TorchReflectPadGrad = ({ inputs, backend, attrs }) => {
  const { dy, x } = inputs;
  return backend.out(addon.reflectPad(backend.values(dy), x.shape, reflectPads(attrs.paddings), true), 'float32');
};
function registerReflectPadGradient() {
  tfc.registerGradient({
    kernelName: 'TorchReflectPad',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({ x: () => tfc.engine().runKernel('TorchReflectPadGrad', { dy, x }, { paddings: attrs.paddings }) }),
  });
}

/**
 * Per-channel sums of a FusedBatchNorm gradient, in one native pass: gw = sum(dy * (x - mean)) / sqrt(var + eps),
 * gb = sum(dy) (plain arrays, copied out of the native buffers).
 */
function batchNormSums(dy, x, mean, variance, eps) {
  const backend = tfc.backend();
  const rank = x.shape.length;
  const C = x.shape[rank - 1];
  const asNchw = (t) => (rank === 4 ? backend.nhwc(t) : backend.arg(t));
  const r = call('aten::native_batch_norm_backward', [
    asNchw(dy),
    asNchw(x),
    [new Float32Array(C).fill(1), [C]],
    backend.arg(mean),
    backend.arg(variance),
    null,
    null,
    false,
    eps,
    [false, true, true],
  ]);
  const gw = r[1][0].slice();
  const gb = r[2][0].slice();
  addon.free(r[1][0]);
  addon.free(r[2][0]);
  return { gw, gb };
}

/**
 * Training-mode batch norm over all axes but the last, followed by ReLU when attrs.relu (not a tfjs kernel; used
 * through lib/engine's batchNormTraining and batchNormReluTraining): outputs [y, batch mean, biased batch variance,
 * 1/sqrt(variance + eps)] from the addon's two-pass kernel. Its gradient recomputes the ReLU's mask from x, so no
 * pre-activation is kept.
 */
GRAD_KERNELS.TorchBatchNormTrain = ({ inputs, backend, attrs }) => {
  const { x, scale, offset } = inputs;
  const C = x.shape[x.shape.length - 1];
  const [y, mean, variance, invstd] = addon.bnRelu(
    backend.values(x),
    C,
    backend.values(scale),
    backend.values(offset),
    attrs.varianceEpsilon,
    !!attrs.relu,
  );
  return [backend.out([y[0], x.shape], 'float32'), ...[mean, variance, invstd].map(([v]) => backend.out([v, [C]], 'float32'))];
};
/** [dx, dscale, doffset] of TorchBatchNormTrain, in two native passes. */
GRAD_KERNELS.TorchBatchNormTrainGrad = ({ inputs, backend, attrs }) => {
  const { dy, x, scale, offset, mean, invstd } = inputs;
  const C = x.shape[x.shape.length - 1];
  const r = addon.bnReluGrad(
    backend.values(dy),
    backend.values(x),
    C,
    backend.values(scale),
    backend.values(offset),
    backend.values(mean),
    backend.values(invstd),
    !!attrs.relu,
  );
  return [backend.out([r[0][0], x.shape], 'float32'), ...r.slice(1).map(([v]) => backend.out([v, [C]], 'float32'))];
};

/**
 * Gradients reaching a training batch norm's batch statistics themselves (rare: the moving averages are updated
 * outside the gradient): d mean/dx = 1/M, d var/dx = 2 (x - mean) / M, added to dx.
 */
function addStatisticGradients(dx, x, mean, dmean, dvar) {
  const dm = dmean.dataSync();
  const dv = dvar.dataSync();
  if (dm.every((q) => q === 0) && dv.every((q) => q === 0)) return dx;
  const M = util.sizeFromShape(x.shape) / x.shape[x.shape.length - 1];
  return tfc.add(dx, tfc.add(tfc.div(dmean, M), tfc.mul(tfc.sub(x, mean), tfc.mul(dvar, 2 / M))));
}

function registerBatchNormTrainGradient() {
  tfc.registerGradient({
    kernelName: 'TorchBatchNormTrain',
    inputsToSave: ['x', 'scale', 'offset'],
    outputsToSave: [false, true, false, true],
    gradFunc: (dys, saved, attrs) => {
      const [dz, dmean, dvar] = dys;
      const [x, scale, offset, mean, invstd] = saved;
      const inputs = { dy: dz, x, mean, invstd, ...(scale ? { scale } : {}), ...(offset ? { offset } : {}) };
      // One pass gives all three gradients. tfjs asks for x's first when x needs one; the scale and offset thunks
      // read the sums it kept (plain arrays: each thunk runs in its own tidy), or run the pass themselves.
      let sums;
      const pass = () => {
        const [dx, ds, dof] = tfc.engine().runKernel('TorchBatchNormTrainGrad', inputs, { relu: !!attrs.relu });
        sums = [ds.dataSync(), dof.dataSync()];
        tfc.dispose([ds, dof]);
        return dx;
      };
      const stat = (i) => () => {
        if (!sums) tfc.dispose(pass());
        return tfc.tensor1d(sums[i]);
      };
      return {
        x: () => addStatisticGradients(pass(), x, mean, dmean, dvar),
        scale: stat(0),
        offset: stat(1),
      };
    },
  });
}

const onTorch = () => tfc.getBackend() === BACKEND_NAME;
const isF32 = (...ts) => ts.every((t) => t == null || t.dtype === 'float32');

const GRAD_OVERRIDES = {
  Relu: (dy, [x]) => (isF32(dy, x) ? { x: () => tfc.engine().runKernel('TorchReluGrad', { dy, x }) } : null),
  Square: (dy, [x]) => (isF32(dy, x) ? { x: () => tfc.engine().runKernel('TorchSquareGrad', { dy, x }) } : null),
  Mean: (dy, [x], attrs) => {
    if (!isF32(dy, x)) return null;
    const axes = util.parseAxisParam(attrs.axis, x.shape);
    return { x: () => tfc.engine().runKernel('TorchMeanGrad', { dy }, { shape: x.shape, axes }) };
  },
  FusedBatchNorm: (dy, [x, mean, variance, scale], attrs) => {
    const rank = x.shape.length;
    const C = x.shape[rank - 1];
    const per = (t) => t == null || (t.shape.length === 1 && t.shape[0] === C);
    if ((rank !== 4 && rank !== 2) || !isF32(dy, x, mean, variance, scale) || ![mean, variance, scale].every(per)) return null;
    const eps = attrs.varianceEpsilon;
    // Each thunk runs in its own tidy, so only plain arrays are shared between them.
    let sums;
    const getSums = () => (sums = sums || batchNormSums(dy, x, mean, variance, eps));
    const perChannel = (f) => () => {
      const { gw, gb } = getSums();
      const v = variance.dataSync();
      const sc = scale ? scale.dataSync() : null;
      const out = new Float32Array(C);
      for (let c = 0; c < C; c++) out[c] = f(gw[c], gb[c], 1 / Math.sqrt(v[c] + eps), sc ? sc[c] : 1);
      return tfc.tensor1d(out);
    };
    return {
      x: () =>
        tfc.engine().runKernel('TorchBatchNormGradX', { dy, x, mean, variance, ...(scale ? { scale } : {}) }, { varianceEpsilon: eps }),
      mean: perChannel((gw, gb, inv, sc) => -gb * sc * inv),
      variance: perChannel((gw, gb, inv, sc) => -0.5 * sc * inv * inv * gw),
      scale: perChannel((gw) => gw),
      offset: perChannel((gw, gb) => gb),
    };
  },
};

/** Installs the torch-only gradients (idempotent; again after tfjs's gradients are registered anew). */
function overrideGradients() {
  if (process.env.TFJS_TORCH_GRAD_OVERRIDES === '0') return;
  for (const [kernelName, fn] of Object.entries(GRAD_OVERRIDES)) {
    const original = tfc.getGradient(kernelName);
    if (!original || original.torchOverride) continue;
    tfc.registerGradient({
      kernelName,
      inputsToSave: original.inputsToSave,
      outputsToSave: original.outputsToSave,
      saveAllInputs: original.saveAllInputs,
      torchOverride: true,
      gradFunc: (dy, saved, attrs) => (onTorch() && fn(dy, saved, attrs)) || original.gradFunc(dy, saved, attrs),
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
let registered = false;
/** Registers the backend as 'torch' and its kernels (native first, cpu fallback for the rest). Idempotent. */
function register(priority = 3) {
  if (registered || !addon) return !!addon;
  registered = true;
  for (const k of cpuKernels.values()) {
    if (native.has(k.kernelName)) continue;
    tfc.registerKernel({ ...k, backendName: BACKEND_NAME });
  }
  for (const [name, fn] of native) tfc.registerKernel({ kernelName: name, backendName: BACKEND_NAME, kernelFunc: wrap(name, fn) });
  for (const [kernelName, fn] of Object.entries(GRAD_KERNELS)) {
    tfc.registerKernel({
      kernelName,
      backendName: BACKEND_NAME,
      kernelFunc: (args) => {
        STATS.native++;
        return fn(args);
      },
    });
  }
  overrideGradients();
  registerBatchNormTrainGradient();
  registerConvTrainGradient();
  registerReflectPadGradient();
  tfc.registerBackend(
    BACKEND_NAME,
    () => {
      const b = new TorchBackend();
      const threads =
        Number(process.env.TFJS_TORCH_THREADS) ||
        (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
      b.setThreads(threads);
      // Opt-in and untried here (no GPU): run ATen ops on a CUDA device of a CUDA-enabled libtorch. Inputs are copied
      // to the device and outputs back for every kernel, since tfjs keeps tensors in host memory. A device that
      // cannot be used is an error here, never a quiet run on the CPU.
      const problem = deviceProblem();
      if (problem) throw new Error(problem);
      if (requestedDevice() !== 'cpu') addon.setDevice(requestedDevice());
      return b;
    },
    priority,
  );
  return true;
}

/** The device TFJS_TORCH_DEVICE asks for: 'cpu' (the default), 'cuda' or 'cuda:N'. */
function requestedDevice(env = process.env) {
  return (env.TFJS_TORCH_DEVICE || 'cpu').trim();
}

/**
 * Why the requested device cannot be used, or null when it can. `cudaAvailable` is the CUDA check (a seam for tests:
 * default, whether the addon's libtorch has CUDA and sees a GPU).
 */
function deviceProblem(env = process.env, cudaAvailable = () => !!addon && addon.info().cuda) {
  const d = requestedDevice(env);
  if (d === 'cpu') return null;
  if (!/^cuda(:\d+)?$/.test(d)) return `TFJS_TORCH_DEVICE=${d} is not a device this backend knows; expected cpu, cuda or cuda:N`;
  if (cudaAvailable()) return null;
  const why = addon ? 'the libtorch the addon is built against has no CUDA support or sees no GPU' : 'the addon is not built';
  return (
    `TFJS_TORCH_DEVICE=${d} asks for a CUDA GPU, but ${why}` +
    ` (Debian's libtorch-dev is CPU-only). Unset TFJS_TORCH_DEVICE to run on the CPU, or rebuild the addon against a CUDA libtorch` +
    ' (LIBTORCH=<folder> node packages/tfjs-backend-torch/scripts/build.js --force) on a machine with an NVIDIA GPU.'
  );
}

/** Whether the addon loaded; `unavailableReason()` says why not. */
function isAvailable() {
  return !!addon;
}
function unavailableReason() {
  return loaded.error;
}
function info() {
  return addon ? addon.info() : null;
}

register();

module.exports = {
  BACKEND_NAME,
  TorchBackend,
  isAvailable,
  unavailableReason,
  info,
  register,
  requestedDevice,
  deviceProblem,
  nativeKernelNames: () => [...native.keys()],
  stats: () => STATS,
  /** Whether TorchDnnlConv (oneDNN convs with fused summand and relu, for inference) is built in. */
  hasDnnlConv,
  /** Whether oneDNN-ordered weights are kept under this TorchDnnlConv weightKey. */
  dnnlHasWeights: (key) => !!addon && typeof addon.dnnlHas === 'function' && addon.dnnlHas(key),
  /** Native memory: live output buffers, large blocks in use, bytes cached for reuse, malloc totals. */
  memory: () => (addon ? addon.memory() : null),
  /** Re-applies the torch-only gradients (needed when tfjs's gradients are registered again, as the op specs do). */
  overrideGradients,
  /** Low-level access for tests: call an ATen op by schema name; the addon's own functions. */
  _call: call,
  _addon: addon,
  /** For tests: whether conv gradients may run through oneDNN directly (dnnlGrads; default true). */
  _setDnnlGrads: (on) => (dnnlGradsOn = on),
};
