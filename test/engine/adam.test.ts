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

/** Runs `steps` updates on `backend` and returns every weight's final values (and the optimiser's state if it has one). */
async function run(
  backend: string,
  init: Float32Array[],
  grads: Float32Array[][],
  make: (vars: tf.Variable[]) => (g: tf.Tensor[], step: number) => void,
) {
  await tf.setBackend(backend);
  const vars = init.map((w, i) => tf.variable(tf.tensor(w, SHAPES[i])));
  const update = make(vars);
  const before = tf.memory().numTensors;
  for (let s = 0; s < grads.length; s++) {
    const g = grads[s].map((a, i) => tf.tensor(a, SHAPES[i]));
    update(g, s);
    tf.dispose(g);
  }
  const after = tf.memory().numTensors;
  const out = vars.map((v) => v.dataSync().slice() as Float32Array);
  return { out, vars, grew: after - before };
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

  it('is bit-identical to tf.train.adam on the cpu backend, moments included, and leaks no tensor', async () => {
    const runAdam = async (backend: string) => {
      let opt: tf.AdamOptimizer | null = null;
      const r = await run(backend, init, grads, (vars) => {
        opt = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
        const o = opt;
        return (g) => o.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: g[i] })));
      });
      const moments = (await (opt as unknown as tf.AdamOptimizer).getWeights()).slice(1).map((w) => w.tensor.dataSync().slice());
      (opt as unknown as tf.AdamOptimizer).dispose();
      r.vars.forEach((v) => v.dispose());
      return { ...r, moments };
    };
    const cpu = await runAdam('cpu');
    calls = 0;
    const tor = await runAdam('torch');
    expect(calls).toBe(STEPS * SHAPES.length);
    tor.out.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(cpu.out[i])));
    tor.moments.forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(cpu.moments[i])));
    // Weights moved (a step that did nothing would also agree).
    expect(tor.out[1].some((w, j) => w !== init[1][j])).toBe(true);
    // The moments are created on the first step; after that the step count is flat.
    expect(tor.grew).toBe(cpu.grew);
  });

  it("is bit-identical to lib/train's Optimizer (Adam) on the cpu backend", async () => {
    const runOpt = async (backend: string) => {
      let opt: Optimizer | null = null;
      const r = await run(backend, init, grads, (vars) => {
        opt = new Optimizer({ type: 'adam', lr: 3e-3 }, vars);
        const o = opt;
        return (g, s) => o.apply(g, 3e-3 * (1 - s / 10));
      });
      const slots = (opt as unknown as Optimizer).state().slots;
      (opt as unknown as Optimizer).dispose();
      r.vars.forEach((v) => v.dispose());
      return { ...r, slots };
    };
    const cpu = await runOpt('cpu');
    calls = 0;
    const tor = await runOpt('torch');
    expect(calls).toBe(STEPS * SHAPES.length);
    tor.out.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(cpu.out[i])));
    tor.slots.forEach((m, i) => expect(Array.from(m)).toEqual(Array.from(cpu.slots[i])));
    expect(tor.grew).toBe(0);
  });
});
