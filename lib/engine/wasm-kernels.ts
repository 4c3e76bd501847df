/**
 * Kernels the tfjs wasm backend lacks for training (upstream tensorflow/tfjs#8474), registered on 'wasm':
 * - Conv2DBackpropFilter: one forward Conv2D of the transposed input with the transposed dy as filter (the stride
 *   becomes the dilation), on the wasm backend's own (XNNPACK) Conv2D.
 * - DepthwiseConv2dNativeBackpropFilter: one depthwise conv with (channel, image) pairs as channels, then a sum over
 *   the images.
 * - DepthwiseConv2dNativeBackpropInput: a stride-1 depthwise conv of the zero-upsampled dy with the flipped filter.
 * - MaxPoolGrad: replaces the stock kernel, which is wrong when a window holds only negative values and routes the
 *   gradient to the last maximum on ties; this one follows the cpu backend (first maximum, NaN never chosen).
 * Layout shuffles run as plain loops over the wasm heap. Everything is checked against the cpu backend in
 * test/engine/wasm-kernels.test.ts.
 */
import * as tf from '@tensorflow/tfjs';

type Info = tf.TensorInfo;
type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

/** The parts of the wasm backend used here. */
interface WasmBackend {
  typedArrayFromHeap(t: Info): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  disposeData(dataId: object): boolean;
}

function heap(b: WasmBackend, t: Info): Float32Array {
  return b.typedArrayFromHeap(t);
}

function runWasm(name: string, inputs: Record<string, Info>, attrs: Record<string, unknown>, backend: WasmBackend): Info {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is not registered; load @tensorflow/tfjs-backend-wasm first`);
  return k.kernelFunc({ inputs, attrs, backend } as never) as Info;
}

function free(b: WasmBackend, ...ts: Info[]): void {
  for (const t of ts) b.disposeData(t.dataId);
}

/** out = transpose(x, perm) as a new wasm tensor. */
function permute(b: WasmBackend, x: Info, perm: number[]): Info {
  const shape = perm.map((p) => x.shape[p]);
  const out = b.makeOutput(shape, 'float32');
  const src = heap(b, x);
  const dst = heap(b, out);
  const rank = x.shape.length;
  const inStrides = new Array<number>(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = acc;
    acc *= x.shape[i];
  }
  const st = perm.map((p) => inStrides[p]);
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let o = 0; o < dst.length; o++) {
    dst[o] = src[off];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      off += st[d];
      if (idx[d] < shape[d]) break;
      off -= st[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function explicitPad(top: number, bottom: number, left: number, right: number): Pad {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/** What tfjs passes a kernel function. */
interface KernelArgs {
  inputs: Record<string, Info>;
  attrs: Record<string, unknown>;
  backend: unknown;
}

function conv2DBackpropFilter({ inputs, attrs, backend }: KernelArgs): Info {
  const b = backend as WasmBackend;
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as Shape4;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4,
    filterShape,
    attrs.strides as number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | undefined,
  );
  const [kh, kw, ci, co] = filterShape;
  const [, h, w] = x.shape;
  const { top, left } = info.padInfo;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const ho = info.outHeight;
  const wo = info.outWidth;
  // dW[a,e,c,o] = sum_{n,i,j} x[n, i*sh + a - top, j*sw + e - left, c] * dy[n,i,j,o]
  //             = conv(xT = x as [c, H, W, n], filter = dy as [i, j, n, o], stride 1, dilation (sh, sw))[c, a, e, o]
  const xT = permute(b, x, [3, 1, 2, 0]);
  const dyT = permute(b, dy, [1, 2, 0, 3]);
  const bottom = Math.max(0, kh - 1 + sh * (ho - 1) + 1 - h - top);
  const right = Math.max(0, kw - 1 + sw * (wo - 1) + 1 - w - left);
  const conv = runWasm(
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: explicitPad(top, bottom, left, right),
      dataFormat: 'NHWC',
      dilations: [sh, sw],
    },
    b,
  );
  const [, oh, ow] = conv.shape; // >= kh, kw
  const out = b.makeOutput([kh, kw, ci, co], 'float32');
  const src = heap(b, conv); // views are taken after the last allocation (growing the heap detaches them)
  const dst = heap(b, out);
  for (let c = 0; c < ci; c++)
    for (let a = 0; a < kh; a++)
      for (let e = 0; e < kw; e++) {
        const s0 = ((c * oh + a) * ow + e) * co;
        const d0 = ((a * kw + e) * ci + c) * co;
        for (let o = 0; o < co; o++) dst[d0 + o] = src[s0 + o];
      }
  free(b, xT, dyT, conv);
  return out;
}

function depthwiseBackpropFilter({ inputs, attrs, backend }: KernelArgs): Info {
  const b = backend as WasmBackend;
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as Shape4;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4,
    filterShape,
    attrs.strides as number,
    (attrs.dilations as number) ?? 1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | undefined,
    true,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error('DepthwiseConv2dNativeBackpropFilter on wasm: dilations > 1 are not supported (tfjs gradients need dilation 1)');
  }
  const [kh, kw, C, M] = filterShape;
  const [N, H, W] = x.shape;
  const { top, left } = info.padInfo;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const ho = info.outHeight;
  const wo = info.outWidth;
  // Channels are (c, n) pairs: X[0, y, z, c*N + n] = x[n, y, z, c]; F[i, j, c*N + n, m] = dy[n, i, j, c*M + m].
  const X = b.makeOutput([1, H, W, C * N], 'float32');
  const F = b.makeOutput([ho, wo, C * N, M], 'float32');
  const xs = heap(b, x);
  const Xd = heap(b, X);
  for (let n = 0; n < N; n++)
    for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) Xd[p * C * N + c * N + n] = xs[(n * H * W + p) * C + c];
  const dys = heap(b, dy);
  const Fd = heap(b, F);
  for (let n = 0; n < N; n++)
    for (let p = 0; p < ho * wo; p++)
      for (let c = 0; c < C; c++)
        for (let m = 0; m < M; m++) Fd[(p * C * N + c * N + n) * M + m] = dys[(n * ho * wo + p) * C * M + c * M + m];
  const bottom = Math.max(0, kh - 1 + sh * (ho - 1) + 1 - H - top);
  const right = Math.max(0, kw - 1 + sw * (wo - 1) + 1 - W - left);
  const conv = runWasm(
    'DepthwiseConv2dNative',
    { x: X, filter: F },
    {
      strides: [1, 1],
      pad: explicitPad(top, bottom, left, right),
      dilations: [sh, sw],
      dataFormat: 'NHWC',
    },
    b,
  );
  const ow = conv.shape[2];
  const out = b.makeOutput([kh, kw, C, M], 'float32');
  const src = heap(b, conv);
  const dst = heap(b, out);
  for (let a = 0; a < kh; a++)
    for (let e = 0; e < kw; e++)
      for (let c = 0; c < C; c++)
        for (let m = 0; m < M; m++) {
          let s = 0;
          const base = (a * ow + e) * C * N * M;
          for (let n = 0; n < N; n++) s += src[base + (c * N + n) * M + m];
          dst[((a * kw + e) * C + c) * M + m] = s;
        }
  free(b, X, F, conv);
  return out;
}

function depthwiseBackpropInput({ inputs, attrs, backend }: KernelArgs): Info {
  const b = backend as WasmBackend;
  const { dy, filter } = inputs;
  const inputShape = attrs.inputShape as Shape4;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as Shape4,
    attrs.strides as number,
    (attrs.dilations as number) ?? 1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | undefined,
    true,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
    throw new Error('DepthwiseConv2dNativeBackpropInput on wasm: dilations > 1 are not supported (tfjs gradients need dilation 1)');
  }
  const [N, H, W, C] = inputShape;
  const [kh, kw, , M] = filter.shape;
  const { top, left } = info.padInfo;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const ho = info.outHeight;
  const wo = info.outWidth;
  const K = C * M;
  // dx = stride-1 depthwise conv of the zero-upsampled dy with the flipped filter, then a sum over the multiplier.
  const hu = (ho - 1) * sh + 1;
  const wu = (wo - 1) * sw + 1;
  const padT = kh - 1 - top;
  const padL = kw - 1 - left;
  const padB = H - hu + top;
  const padR = W - wu + left;
  if (padT < 0 || padL < 0 || padB < 0 || padR < 0) {
    throw new Error(
      `DepthwiseConv2dNativeBackpropInput on wasm: padding ${JSON.stringify(info.padInfo)} larger than the filter is not supported`,
    );
  }
  const U = b.makeOutput([N, hu, wu, K], 'float32');
  const Wf = b.makeOutput([kh, kw, K, 1], 'float32');
  const Ud = heap(b, U);
  const dys = heap(b, dy);
  if (sh === 1 && sw === 1) Ud.set(dys);
  else {
    Ud.fill(0);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          const s0 = ((n * ho + i) * wo + j) * K;
          const d0 = ((n * hu + i * sh) * wu + j * sw) * K;
          for (let k = 0; k < K; k++) Ud[d0 + k] = dys[s0 + k];
        }
  }
  const Wd = heap(b, Wf);
  const ws = heap(b, filter);
  for (let a = 0; a < kh; a++)
    for (let e = 0; e < kw; e++) for (let k = 0; k < K; k++) Wd[(a * kw + e) * K + k] = ws[((kh - 1 - a) * kw + (kw - 1 - e)) * K + k];
  const conv = runWasm(
    'DepthwiseConv2dNative',
    { x: U, filter: Wf },
    {
      strides: [1, 1],
      pad: explicitPad(padT, padB, padL, padR),
      dilations: [1, 1],
      dataFormat: 'NHWC',
    },
    b,
  );
  let out = conv;
  if (M > 1) {
    out = b.makeOutput([N, H, W, C], 'float32');
    const src = heap(b, conv);
    const dst = heap(b, out);
    for (let p = 0; p < N * H * W; p++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let m = 0; m < M; m++) s += src[p * K + c * M + m];
        dst[p * C + c] = s;
      }
    free(b, conv);
  }
  free(b, U, Wf);
  return out;
}

function maxPoolGrad({ inputs, attrs, backend }: KernelArgs): Info {
  const b = backend as WasmBackend;
  const { dy, input } = inputs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as Shape4,
    attrs.filterSize as number,
    attrs.strides as number,
    1,
    attrs.pad as Pad,
    attrs.dimRoundingMode as 'floor' | undefined,
  );
  const [N, H, W, C] = input.shape;
  const { outHeight: ho, outWidth: wo, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const out = b.makeOutput(input.shape, 'float32');
  const x = heap(b, input);
  const g = heap(b, dy);
  const dx = heap(b, out);
  dx.fill(0);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < ho; i++) {
      const y0 = i * sh - top;
      const y1 = Math.min(H, y0 + fh);
      for (let j = 0; j < wo; j++) {
        const z0 = j * sw - left;
        const z1 = Math.min(W, z0 + fw);
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let y = Math.max(0, y0); y < y1; y++)
            for (let z = Math.max(0, z0); z < z1; z++) {
              const k = ((n * H + y) * W + z) * C + c;
              if (x[k] > best) {
                best = x[k];
                at = k;
              }
            }
          if (at >= 0) dx[at] += g[((n * ho + i) * wo + j) * C + c];
        }
      }
    }
  return out;
}

let registered = false;

/** Registers the training kernels on 'wasm' (replacing the stock MaxPoolGrad). Idempotent. */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  const kernels: Array<[string, (args: never) => Info]> = [
    ['Conv2DBackpropFilter', conv2DBackpropFilter as never],
    ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter as never],
    ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput as never],
    ['MaxPoolGrad', maxPoolGrad as never],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
  }
}
