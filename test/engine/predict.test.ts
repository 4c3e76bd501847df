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
