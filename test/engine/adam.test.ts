/**
 * The fused Adam (lib/engine/adam.ts, the torch backend's TorchAdam kernel) against the optimisers it replaces, run on
 * the cpu backend with the same weights and gradients over several steps: tfjs's AdamOptimizer (tf.train.adam) and
 * lib/train's Optimizer. Every float32 operation is the same and in the same order, so the weights and moments must be
 * bit-identical, for weights below and above the native minimum size and across the kernel's parallel chunks.
 */
import * as tf from '@tensorflow/tfjs';
import { fuseAdam } from '../../lib/engine/adam';
import { Optimizer } from '../../lib/train/optim';
import { Rng } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const torch = require('tfjs-backend-torch');
const describeTorch = torch.isAvailable() ? describe : describe.skip;

const SHAPES = [[3], [17, 5], [3, 3, 8, 16], [70000]];
const STEPS = 5;

/** Per-step gradients for each weight (some large, some tiny, some zero), the same on both backends. */
function gradients(rng: Rng): Float32Array[][] {
  return Array.from({ length: STEPS }, (_, s) =>
    SHAPES.map((shape) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const g = rng.normal(n);
      for (let i = 0; i < n; i++) g[i] *= i % 7 === 0 ? 1e-6 : i % 11 === 0 ? 0 : 0.1 * (s + 1);
      return g;
    }),
  );
}

/** An optimiser under test over some variables: one update per step, its state (moments) and disposal. */
interface UnderTest {
  update(g: tf.Tensor[], step: number): void;
  state(): Promise<Float32Array[]>;
  dispose(): void;
}

/**
 * Runs every step's update on `backend` from the same initial weights; returns the final weights, the optimiser's
 * state and how much the tensor count grew.
 */
async function run(backend: string, init: Float32Array[], grads: Float32Array[][], make: (vars: tf.Variable[]) => UnderTest) {
  await tf.setBackend(backend);
  const vars = init.map((w, i) => tf.variable(tf.tensor(w, SHAPES[i])));
  const opt = make(vars);
  const before = tf.memory().numTensors;
  for (let s = 0; s < grads.length; s++) {
    const g = grads[s].map((a, i) => tf.tensor(a, SHAPES[i]));
    opt.update(g, s);
    tf.dispose(g);
  }
  const grew = tf.memory().numTensors - before;
  const weights = vars.map((v) => v.dataSync().slice() as Float32Array);
  const state = await opt.state();
  opt.dispose();
  vars.forEach((v) => v.dispose());
  return { weights, state, grew };
}

describeTorch('fused Adam on the torch backend', () => {
  const rng = new Rng(3);
  const init = SHAPES.map((s) => rng.normal(s.reduce((a, b) => a * b, 1)));
  const grads = gradients(rng);

  // Counts the fused kernel's calls, to know the torch runs went through it.
  let calls = 0;
  beforeAll(() => {
    fuseAdam();
    const k = tf.getKernel('TorchAdam', 'torch') as tf.KernelConfig;
    const f = k.kernelFunc;
    k.kernelFunc = (args) => {
      calls++;
      return f(args);
    };
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  /** Runs the cpu optimiser and the fused one on torch; both must agree bit for bit, and torch must use TorchAdam. */
  async function compare(make: (vars: tf.Variable[]) => UnderTest) {
    const cpu = await run('cpu', init, grads, make);
    calls = 0;
    const tor = await run('torch', init, grads, make);
    expect(calls).toBe(STEPS * SHAPES.length);
    tor.weights.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(cpu.weights[i])));
    tor.state.forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(cpu.state[i])));
    // Weights moved (a step that did nothing would also agree).
    expect(tor.weights[1].some((w, j) => w !== init[1][j])).toBe(true);
    return { cpu, tor };
  }

  it('is bit-identical to tf.train.adam on the cpu backend, moments included, and leaks no tensor', async () => {
    const { cpu, tor } = await compare((vars) => {
      const opt = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
      return {
        update: (g) => opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: g[i] }))),
        state: async () => (await opt.getWeights()).slice(1).map((w) => w.tensor.dataSync().slice() as Float32Array),
        dispose: () => opt.dispose(),
      };
    });
    // The moments are created on the first step; after that the count is flat.
    expect(tor.grew).toBe(cpu.grew);
  });

  it("is bit-identical to lib/train's Optimizer (Adam) on the cpu backend", async () => {
    const { tor } = await compare((vars) => {
      const opt = new Optimizer({ type: 'adam', lr: 3e-3 }, vars);
      return {
        update: (g, s) => opt.apply(g, 3e-3 * (1 - s / 10)),
        state: async () => opt.state().slots,
        dispose: () => opt.dispose(),
      };
    });
    expect(tor.grew).toBe(0);
  });
});
