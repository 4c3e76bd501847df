/** The torch backend's inference plan (lib/engine/predict.ts) against tfjs-layers' own predict, and TorchConvPool. */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/engine';
import { buildBenchNet, type BenchNet } from '../../lib/engine/bench';
import { inferencePlan } from '../../lib/engine/predict';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const torch = require('tfjs-backend-torch');
const maybe = torch.isAvailable() ? describe : describe.skip;

/** tfjs-layers' own path: predictOnBatch runs its predict loop (not the patched predict). */
const reference = (m: tf.LayersModel, x: tf.Tensor) => (m.predictOnBatch(x) as tf.Tensor).dataSync();

maybe('inference plan on the torch backend', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'torch', quiet: true });
  });

  // Without batch norm the plan runs the same kernels: equal bit for bit on the same batch; BagNet's folded batch norm
  // rounds differently (its outputs are logits of order 1).
  it.each([
    ['reference', 0],
    ['antialiased', 0],
    ['bagnet', 1e-5],
  ] as [BenchNet, number][])('%s: predict equals tfjs-layers (within %d on the same batch)', (net, tol) => {
    const m = buildBenchNet(net);
    expect(inferencePlan(m)).not.toBeNull();
    const x = tf.randomUniform(net === 'reference' ? [40, 28, 28, 1] : [12, 64, 64, 3], 0, 1, 'float32', 1);
    const want = reference(m, x);
    const before = tf.memory().numTensors;
    const whole = m.predict(x) as tf.Tensor;
    if (tol === 0) expect(Array.from(whole.dataSync())).toEqual(Array.from(want));
    else expect(Math.max(...whole.dataSync().map((v, i) => Math.abs(v - want[i])))).toBeLessThan(tol);
    // In chunks of 5 the kernels see other batch sizes: equal up to float summation order.
    const chunked = m.predict(x, { batchSize: 5 }) as tf.Tensor;
    expect(Math.max(...chunked.dataSync().map((v, i) => Math.abs(v - want[i])))).toBeLessThan(Math.max(tol, 1e-6));
    tf.dispose([whole, chunked]);
    expect(tf.memory().numTensors).toBe(before); // intermediates disposed
    x.dispose();
    m.dispose();
  });

  it('fuses a conv into the max pooling that is its only reader, and not one whose output is also read elsewhere', () => {
    const plain = buildBenchNet('reference'); // conv > pool > conv > pool > conv > GAP > dense: 2 fusions, 5 steps
    expect(inferencePlan(plain)?.steps).toHaveLength(5);
    const x = tf.input({ shape: [8, 8, 2] });
    const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    const p = tf.layers.maxPooling2d({ poolSize: 2 }).apply(c) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: [p, c] });
    expect(inferencePlan(m)?.steps).toHaveLength(2);
    const xs = tf.randomUniform([3, 8, 8, 2], -1, 1, 'float32', 2);
    const got = m.predict(xs) as tf.Tensor[];
    const want = m.predictOnBatch(xs) as tf.Tensor[];
    got.forEach((g, i) => expect(Array.from(g.dataSync())).toEqual(Array.from(want[i].dataSync())));
    tf.dispose([xs, ...got, ...want]);
  });

  it('folds batch norm into the conv of a chain: conv > BN > ReLU > pool against the literal layers', () => {
    const x = tf.input({ shape: [10, 10, 3] });
    const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: true }).apply(x) as tf.SymbolicTensor;
    const bnLayer = tf.layers.batchNormalization({ epsilon: 1e-3 });
    const n = bnLayer.apply(c) as tf.SymbolicTensor;
    const r = tf.layers.reLU().apply(n) as tf.SymbolicTensor;
    const p = tf.layers.maxPooling2d({ poolSize: 2 }).apply(r) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: p });
    // Moving statistics and scale/offset away from their initial 0/1, so that the fold has something to do.
    bnLayer.setWeights([
      tf.tensor1d([1.5, 0.5, -1, 2]),
      tf.tensor1d([0.1, -0.2, 0.3, 0]),
      tf.tensor1d([0.2, -0.1, 0, 0.4]),
      tf.tensor1d([2, 0.5, 1, 4]),
    ]);
    expect(inferencePlan(m)?.steps).toHaveLength(1);
    const xs = tf.randomUniform([2, 10, 10, 3], -1, 1, 'float32', 6);
    const got = (m.predict(xs) as tf.Tensor).dataSync();
    const want = (m.predictOnBatch(xs) as tf.Tensor).dataSync();
    expect(Math.max(...got.map((v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-5);
    expect(want.some((v) => v > 0.1)).toBe(true);
    xs.dispose();
  });

  it('runs a residual add read only by a relu as TorchAddRelu', () => {
    const a = tf.tensor1d(Array.from({ length: 3000 }, (_, i) => Math.sin(i)));
    const b = tf.tensor1d(Array.from({ length: 3000 }, (_, i) => Math.cos(i * 0.7)));
    const y = tf.engine().runKernel('TorchAddRelu', { a, b }) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual(Array.from(tf.relu(tf.add(a, b)).dataSync()));
    tf.dispose([a, b, y]);
  });

  it('TorchConvPool matches conv, bias, relu, then pooling on a hand-worked case', () => {
    // x = 1..16 in a 4x4 map; a 1x1 conv with weight -1 and bias 6 gives 6 - x; relu; 2x2 max pooling:
    // [[5, 4, 3, 2], [1, 0, 0, 0], [0...], [0...]] -> [[5, 3], [0, 0]].
    const x = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i + 1),
      [1, 4, 4, 1],
    );
    const filter = tf.tensor4d([-1], [1, 1, 1, 1]);
    const bias = tf.tensor1d([6]);
    const attrs = { strides: [1, 1], pad: 'valid', dilations: [1, 1], activation: 'relu', poolSize: [2, 2], poolStrides: [2, 2] };
    const y = tf.engine().runKernel('TorchConvPool', { x, filter, bias }, attrs as never) as tf.Tensor;
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expect(Array.from(y.dataSync())).toEqual([5, 3, 0, 0]);
    // The literal order (activation before pooling) on random data, 'same' padding, stride-2 conv, 3x3 pooling at 2.
    const xr = tf.randomUniform([2, 9, 9, 3], -1, 1, 'float32', 3);
    const wr = tf.randomUniform([3, 3, 3, 4], -1, 1, 'float32', 4);
    const br = tf.randomUniform([4], -1, 1, 'float32', 5);
    const a2 = { ...attrs, strides: [2, 2], pad: 'same', poolSize: [3, 3], poolStrides: [2, 2] };
    const fused = tf.engine().runKernel('TorchConvPool', { x: xr, filter: wr, bias: br }, a2 as never) as tf.Tensor;
    const literal = tf.maxPool(
      tf.relu(tf.add(tf.conv2d(xr as tf.Tensor4D, wr as tf.Tensor4D, 2, 'same'), br)) as tf.Tensor4D,
      3,
      2,
      'valid',
    );
    expect(fused.shape).toEqual(literal.shape);
    expect(Array.from(fused.dataSync())).toEqual(Array.from(literal.dataSync()));
    tf.dispose([x, filter, bias, y, xr, wr, br, fused, literal]);
  });

  it('reads residual crops in place: a crop read only by a strided 1x1 conv, a 3x3 conv or a residual add (exact)', () => {
    // x > conv 3x3 valid (main, 9x9 -> 7x7); crops of 1 read by: a stride-2 1x1 conv + BN (its only reader), a 3x3
    // 'same' conv, and an add > relu with the main path. The asymmetric crop of the strided conv checks the offsets.
    const x = tf.input({ shape: [9, 9, 4] });
    const main = tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    const crop = (c: [[number, number], [number, number]]) => tf.layers.cropping2D({ cropping: c }).apply(x) as tf.SymbolicTensor;
    const down = tf.layers.conv2d({ filters: 3, kernelSize: 1, strides: 2, useBias: false }).apply(
      crop([
        [2, 0],
        [1, 1],
      ]),
    );
    const bnDown = tf.layers.batchNormalization({}).apply(down) as tf.SymbolicTensor;
    const same = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }).apply(
      crop([
        [1, 1],
        [1, 1],
      ]),
    );
    const added = tf.layers.add({}).apply([
      main,
      crop([
        [1, 1],
        [1, 1],
      ]),
    ]) as tf.SymbolicTensor;
    const res = tf.layers.reLU().apply(added) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: [bnDown, same as tf.SymbolicTensor, res] });
    // conv > (crop+1x1+BN) > (crop+3x3) > (add+relu with its crop): 4 steps, no crop of its own.
    expect(inferencePlan(m)?.steps).toHaveLength(4);
    const xs = tf.randomUniform([3, 9, 9, 4], -1, 1, 'float32', 7);
    const before = torch.stats().native;
    const got = m.predict(xs) as tf.Tensor[];
    expect(torch.stats().native - before).toBeLessThan(20); // BN folding's small ops run in JS
    const want = m.predictOnBatch(xs) as tf.Tensor[];
    got.forEach((g, i) => {
      expect(g.shape).toEqual(want[i].shape);
      const d = Math.max(...g.dataSync().map((v, k) => Math.abs(v - want[i].dataSync()[k])));
      expect(d).toBeLessThan(i === 0 ? 1e-5 : 1e-6); // BN folded: rounds differently
    });
    tf.dispose([xs, ...got, ...want]);
  });

  /** The literal conv: out[n,i,j,o] = bias[o] + sum over (a, b, c) of x[n, i*s + a - top, j*s + b - left, c] w[a,b,c,o]. */
  function literalConv(x: tf.Tensor4D, w: tf.Tensor4D, bias: number[], stride: number, top: number, left: number, outHW: [number, number]) {
    const [N, H, W, C] = x.shape;
    const [kh, kw, , O] = w.shape;
    const xs = x.dataSync();
    const ws = w.dataSync();
    const out = new Float64Array(N * outHW[0] * outHW[1] * O);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < outHW[0]; i++)
        for (let j = 0; j < outHW[1]; j++)
          for (let o = 0; o < O; o++) {
            let v = bias[o];
            for (let a = 0; a < kh; a++)
              for (let b = 0; b < kw; b++) {
                const r = i * stride + a - top;
                const q = j * stride + b - left;
                if (r < 0 || r >= H || q < 0 || q >= W) continue;
                for (let c = 0; c < C; c++) v += xs[((n * H + r) * W + q) * C + c] * ws[((a * kw + b) * C + c) * O + o];
              }
            out[((n * outHW[0] + i) * outHW[1] + j) * O + o] = v;
          }
    return out;
  }

  const maybeDnnl = torch.hasDnnlConv() ? it : it.skip;

  maybeDnnl('TorchDnnlConv matches the literal conv + bias, a summand read in place and relu; kept weights are reused', () => {
    const x = tf.randomUniform([2, 7, 6, 3], -1, 1, 'float32', 11) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 3, 4], -1, 1, 'float32', 12) as tf.Tensor4D;
    const bias = [0.5, -0.25, 0, 1];
    // 'same' at stride 2: outputs 4x3; tfjs pads (4-1)*2 + 3 - 7 = 2 rows (top 1, bottom 1) and (3-1)*2 + 3 - 6 = 1
    // column (left 0, right 1: the odd one goes to the bottom/right).
    const want = literalConv(x, w, bias, 2, 1, 0, [4, 3]);
    const big = tf.randomUniform([2, 6, 5, 4], -1, 1, 'float32', 13); // the summand: its window at (1, 2)
    const bs = big.dataSync();
    const summed = want.map((v, k) => {
      const o = k % 4;
      const j = Math.floor(k / 4) % 3;
      const i = Math.floor(k / 12) % 4;
      const n = Math.floor(k / 48);
      return Math.max(0, v + bs[((n * 6 + i + 1) * 5 + j + 2) * 4 + o]);
    });
    const attrs = { strides: [2, 2], pad: 'same', activation: 'linear', filterShape: [3, 3, 3, 4], weightKey: 'test-dnnl-1' };
    const run = (inputs: Record<string, tf.Tensor>, extra: Record<string, unknown> = {}) =>
      tf.tidy(() =>
        Array.from((tf.engine().runKernel('TorchDnnlConv', inputs as never, { ...attrs, ...extra } as never) as tf.Tensor).dataSync()),
      );
    const b = tf.tensor1d(bias);
    const plain = run({ x, filter: w, bias: b });
    expect(Math.max(...plain.map((v, k) => Math.abs(v - want[k])))).toBeLessThan(1e-5);
    expect(torch.dnnlHasWeights('test-dnnl-1')).toBe(true);
    // Without the filter: the weights kept under the key, with the relu and the summand as post-ops.
    const fusedOut = run({ x, add: big }, { activation: 'relu', addWindow: [1, 2] });
    expect(Math.max(...fusedOut.map((v, k) => Math.abs(v - summed[k])))).toBeLessThan(1e-5);
    expect(() => run({ x }, { weightKey: 'never-stored' })).toThrow(/no weights are kept under never-stored/);
    // Weights under the key '' are never kept, even when a call fails after reordering them (the addon then finds a
    // summand with 3 channels where the output has 4).
    const small = tf.zeros([2, 6, 5, 3]);
    expect(() => run({ x, filter: w.neg(), bias: b, add: small }, { weightKey: '', addWindow: [1, 2] })).toThrow(
      /summand's shape is not the output's/,
    );
    small.dispose();
    const again = run({ x, filter: w, bias: b }, { weightKey: '' });
    expect(Math.max(...again.map((v, k) => Math.abs(v - want[k])))).toBeLessThan(1e-5);
    tf.dispose([x, w, big, b]);
  });

  maybeDnnl("TorchDnnlConv reads a window of x (every step-th pixel from top, left) as TorchConvPool's window", () => {
    // A 1x1 conv of stride 2 on x cropped by 1 (BagNet's residual projection): the pixels (1 + 2i, 1 + 2j).
    const x = tf.randomUniform([2, 9, 8, 3], -1, 1, 'float32', 14) as tf.Tensor4D;
    const w = tf.randomUniform([1, 1, 3, 5], -1, 1, 'float32', 15) as tf.Tensor4D;
    const bias = [0, 1, -1, 0.5, 2];
    // The cropped map is 7x6; the conv reads rows 1, 3, 5, 7 and columns 1, 3, 5 of x: a 4x3 output.
    const want = literalConv(x.stridedSlice([0, 1, 1, 0], [2, 8, 7, 3], [1, 2, 2, 1]) as tf.Tensor4D, w, bias, 1, 0, 0, [4, 3]);
    const got = tf.tidy(() =>
      Array.from(
        (
          tf.engine().runKernel(
            'TorchDnnlConv',
            { x, filter: w, bias: tf.tensor1d(bias) } as never,
            {
              strides: [1, 1],
              pad: 'valid',
              activation: 'linear',
              filterShape: [1, 1, 3, 5],
              weightKey: '',
              xWindow: { top: 1, left: 1, height: 4, width: 3, step: 2 },
            } as never,
          ) as tf.Tensor
        ).dataSync(),
      ),
    );
    expect(got).toHaveLength(want.length);
    expect(Math.max(...got.map((v, k) => Math.abs(v - want[k])))).toBeLessThan(1e-5);
    expect(() =>
      tf.engine().runKernel(
        'TorchDnnlConv',
        { x, filter: w } as never,
        {
          strides: [1, 1],
          pad: 'valid',
          activation: 'linear',
          filterShape: [1, 1, 3, 5],
          xWindow: { top: 1, left: 1, height: 5, width: 3, step: 2 },
        } as never,
      ),
    ).toThrow(/window rows 1\+5x2, columns 1\+3x2 is outside a 9x8 map/);
    tf.dispose([x, w]);
  });

  maybeDnnl('TorchDnnlConv pools 2x2 at stride 2 after the relu (pool2x2): hand-worked, and odd maps rounded down', () => {
    // The TorchConvPool case: 6 - x on 1..16 in a 4x4 map, relu, 2x2 pooling -> [[5, 3], [0, 0]].
    const x = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i + 1),
      [1, 4, 4, 1],
    );
    const attrs = { strides: [1, 1], pad: 'valid', activation: 'relu', filterShape: [1, 1, 1, 1], weightKey: '', pool2x2: true };
    const pooled = (inputs: Record<string, tf.Tensor>, a: Record<string, unknown>) =>
      tf.engine().runKernel('TorchDnnlConv', inputs as never, a as never) as tf.Tensor;
    const y = pooled({ x, filter: tf.tensor4d([-1], [1, 1, 1, 1]), bias: tf.tensor1d([6]) }, attrs);
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expect(Array.from(y.dataSync())).toEqual([5, 3, 0, 0]);
    // A 7x5 'same' conv output pools to 3x2 (the last row and column are in no window), as tfjs' 'valid' max pool.
    const xr = tf.randomUniform([2, 7, 5, 3], -1, 1, 'float32', 16) as tf.Tensor4D;
    const wr = tf.randomUniform([3, 3, 3, 6], -1, 1, 'float32', 17) as tf.Tensor4D;
    const br = tf.randomUniform([6], -1, 1, 'float32', 18);
    const got = pooled({ x: xr, filter: wr, bias: br }, { ...attrs, pad: 'same', filterShape: [3, 3, 3, 6] });
    const literal = tf.maxPool(tf.relu(tf.add(tf.conv2d(xr, wr, 1, 'same'), br)) as tf.Tensor4D, 2, 2, 'valid');
    expect(got.shape).toEqual([2, 3, 2, 6]);
    expect(Math.max(...got.dataSync().map((v, k) => Math.abs(v - literal.dataSync()[k])))).toBeLessThan(1e-5);
    tf.dispose([x, y, xr, wr, br, got, literal]);
  });

  maybeDnnl('the addon pools without argmax as with it: NaN counts as the maximum, as in ATen', () => {
    const v = new Float32Array([1, NaN, 3, 2, 4, 0, -1, -2, 5, 6, 7, 8]); // 2x3 map of 2 channels
    const [withArg] = torch._addon.maxPool2x2(v, [1, 2, 3, 2]);
    const [plain, shape] = torch._addon.maxPool2x2(v, [1, 2, 3, 2], false);
    expect(shape).toEqual([1, 1, 1, 2]);
    // The window is pixels (0,0), (0,1), (1,0), (1,1): channel 0 max(1, 3, -1, 5) = 5, channel 1 NaN.
    expect(Array.from(plain)).toEqual([5, NaN]);
    expect(Array.from(plain)).toEqual(Array.from(withArg[0]));
  });

  maybeDnnl('runs conv > BN > add (a residual crop) > relu as one oneDNN step, and follows weights that change', () => {
    const x = tf.input({ shape: [8, 8, 4] });
    const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, useBias: false }).apply(x) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({}).apply(c) as tf.SymbolicTensor;
    const r = tf.layers.cropping2D({ cropping: 1 }).apply(x) as tf.SymbolicTensor;
    const y = tf.layers.reLU().apply(tf.layers.add({}).apply([bn, r]) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const m = tf.model({ inputs: x, outputs: y });
    expect(inferencePlan(m)?.steps).toHaveLength(1);
    const xs = tf.randomUniform([3, 8, 8, 4], -1, 1, 'float32', 21);
    const check = () => {
      const got = m.predict(xs) as tf.Tensor;
      const want = m.predictOnBatch(xs) as tf.Tensor;
      expect(Math.max(...got.dataSync().map((v, k) => Math.abs(v - want.dataSync()[k])))).toBeLessThan(1e-5);
      tf.dispose([got, want]);
    };
    check();
    // New weights and statistics (as training writes them): the plan must not reuse oneDNN's kept copy of the old ones.
    m.setWeights(m.getWeights().map((t, i) => tf.randomUniform(t.shape, 0.5, 1.5, 'float32', 30 + i)));
    check();
    tf.dispose(xs);
  });

  maybeDnnl('keeps the weights of models run by two instances of the plan module apart (the native cache is shared)', () => {
    // Two module instances in one process (as jest or a notebook may load them) count their tensors' serials from 0.
    const predictWith: ((m: tf.LayersModel, x: tf.Tensor) => tf.Tensor)[] = [];
    for (let k = 0; k < 2; k++)
      jest.isolateModules(() => {
        const mod = require('../../lib/engine/predict') as typeof import('../../lib/engine/predict');
        predictWith.push((m, x) => mod.predictWithPlan(m, x) as tf.Tensor);
      });
    const x = tf.randomUniform([2, 6, 6, 3], -1, 1, 'float32', 40);
    const models = [0, 1].map((k) => {
      const input = tf.input({ shape: [6, 6, 3] });
      const init = tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 50 + k });
      const y = tf.layers.conv2d({ filters: 2, kernelSize: 3, kernelInitializer: init, activation: 'relu' }).apply(input);
      return tf.model({ inputs: input, outputs: y as tf.SymbolicTensor });
    });
    for (const k of [0, 1, 0, 1]) {
      const got = predictWith[k](models[k], x);
      const want = models[k].predictOnBatch(x) as tf.Tensor;
      expect(Math.max(...got.dataSync().map((v, i) => Math.abs(v - want.dataSync()[i])))).toBeLessThan(1e-6);
      tf.dispose([got, want]);
    }
    tf.dispose(x);
  });

  it('slices small tensors along an inner axis natively (the cpu kernel reads them element by element)', () => {
    const x = tf.tensor4d(
      Array.from({ length: 2 * 5 * 5 }, (_, i) => i),
      [2, 5, 5, 1],
    );
    const before = torch.stats().native;
    const s = tf.slice(x, [0, 1, 3, 0], [2, 3, 2, 1]);
    expect(torch.stats().native).toBe(before + 1);
    // Rows 1-3, columns 3-4 of each 5x5 image holding 0..24 and 25..49.
    expect(Array.from(s.dataSync())).toEqual([8, 9, 13, 14, 18, 19, 33, 34, 38, 39, 43, 44]);
    tf.dispose([x, s]);
  });

  it('leaves models with other layers, and inputs of the wrong shape, to tfjs-layers', () => {
    const m = tf.sequential();
    m.add(tf.layers.upSampling2d({ inputShape: [2, 2, 1], size: [2, 2] }));
    expect(inferencePlan(m)).toBeNull();
    const x = tf.ones([1, 2, 2, 1]);
    expect((m.predict(x) as tf.Tensor).shape).toEqual([1, 4, 4, 1]);
    const ref = buildBenchNet('reference');
    expect(() => ref.predict(tf.ones([1, 27, 28, 1]))).toThrow(/expected .* to have shape \[null,28,28,1\]/);
    tf.dispose([x]);
  });
});
