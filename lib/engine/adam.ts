/**
 * Adam in one native pass per weight on the torch backend.
 *
 * tfjs's AdamOptimizer runs about 15 ops per weight and step (two moments, bias corrections, sqrt, the update, each a
 * full-size tensor); the torch backend's TorchAdam kernel does the same arithmetic in one pass, each operation one
 * float32 operation in the same order, so the weights are bit-identical to tfjs's Adam on the cpu backend.
 * `fuseAdam` routes tf.train.adam's `applyGradients` through it while the torch backend is active; `adamStep` is the
 * same kernel for lib/train's Optimizer (its own formula: `form` 'tessera').
 */
import * as tf from '@tensorflow/tfjs';

/** tfjs's { name, tensor } gradient entry (not exported by @tensorflow/tfjs). */
type NamedTensor = { name: string; tensor: tf.Tensor };

/** The AdamOptimizer fields `applyGradients` reads (tfjs keeps them protected). */
interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  incrementIterations(): void;
}

/** Adam's constants for one step, as the float32 values the optimiser computes with. */
export interface AdamStepParams {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 - beta1^t and 1 - beta2^t. */
  bc1: number;
  bc2: number;
  /** 'tfjs': the rate, applied as x + ((m/bc1) / (sqrt(v/bc2) + eps)) * -lr; 'tessera': lr/bc1, applied as x - (m lr) / (...). */
  lr: number;
  form: 'tfjs' | 'tessera';
}

/**
 * One Adam step on the torch backend: assigns the new weight and moments to `x`, `m` and `v` (same shapes, float32)
 * from gradient `g`, in one native pass.
 */
export function adamStep(x: tf.Variable, m: tf.Variable, v: tf.Variable, g: tf.Tensor, p: AdamStepParams): void {
  const f = Math.fround;
  const attrs = {
    beta1: f(p.beta1),
    beta2: f(p.beta2),
    oneMinusBeta1: f(1 - p.beta1),
    oneMinusBeta2: f(1 - p.beta2),
    bc1: f(p.bc1),
    bc2: f(p.bc2),
    lr: f(p.form === 'tfjs' ? -p.lr : p.lr),
    epsilon: f(p.epsilon),
    form: p.form,
  };
  const [x2, m2, v2] = tf.engine().runKernel('TorchAdam', { x, m, v, g }, attrs as never) as unknown as tf.Tensor[];
  m.assign(m2);
  v.assign(v2);
  x.assign(x2);
  tf.dispose([x2, m2, v2]);
}

let patched = false;

/** Routes tf.train.adam's updates through `adamStep` while the torch backend is active (idempotent). */
export function fuseAdam(): void {
  if (patched) return;
  patched = true;
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients(g: tf.NamedTensorMap | NamedTensor[]): void };
  const original = proto.applyGradients;
  proto.applyGradients = function fusedApplyGradients(this: AdamFields, grads: tf.NamedTensorMap | NamedTensor[]) {
    if (tf.getBackend() !== 'torch') return original.call(this, grads);
    const names = Array.isArray(grads) ? grads.map((g) => g.name) : Object.keys(grads);
    tf.tidy(() => {
      // As tfjs: the bias corrections are float32 scalars 1 - accBeta, and accBeta is multiplied by beta each step.
      const bc1 = tf.sub(1, this.accBeta1).dataSync()[0];
      const bc2 = tf.sub(1, this.accBeta2).dataSync()[0];
      names.forEach((name, i) => {
        const x = tf.engine().registeredVariables[name];
        const moment = (slot: AdamFields['accumulatedFirstMoment'], suffix: string) => {
          if (slot[i] == null) slot[i] = { originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(x).variable(false)) };
          return (slot[i] as { variable: tf.Variable }).variable;
        };
        const m = moment(this.accumulatedFirstMoment, 'm');
        const v = moment(this.accumulatedSecondMoment, 'v');
        const g = Array.isArray(grads) ? grads[i].tensor : grads[name];
        if (g == null) return;
        adamStep(x, m, v, g, {
          beta1: this.beta1,
          beta2: this.beta2,
          epsilon: this.epsilon,
          bc1,
          bc2,
          lr: this.learningRate,
          form: 'tfjs',
        });
      });
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  };
}
