import * as tf from '@tensorflow/tfjs';
import { adamStep } from '../engine/adam';

/**
 * Optimisers with explicit, serialisable state, so that a checkpoint restores them bit for bit (tfjs's own Adam
 * recomputes its bias-correction powers with pow() on restore, which is not bit-identical to the running product).
 *
 * - SGD with momentum as in PyTorch: v = mu v + g; w -= lr v (Nesterov: w -= lr (g + mu v)).
 * - Adam (Kingma & Ba, ICLR 2015, arXiv 1412.6980): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *   w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps), the bias corrections computed in float64 from the step t.
 * Weight decay is L2 added to the gradient (PyTorch's `weight_decay`), applied to kernels only (rank >= 2), not to
 * biases or BatchNorm parameters.
 */
export interface OptimizerConfig {
  type: 'adam' | 'sgd';
  /** Base learning rate (the schedule scales it). */
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
}

export const DEFAULT_OPTIMIZER: Record<'adam' | 'sgd', OptimizerConfig> = {
  adam: { type: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
  sgd: { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
};

export interface OptimizerState {
  step: number;
  /** One Float32Array per slot (adam: m then v per variable; sgd: velocity per variable). */
  slots: Float32Array[];
}

export class Optimizer {
  readonly config: Required<OptimizerConfig>;
  private stepCount = 0;
  private slots: tf.Variable[] = [];

  constructor(
    config: OptimizerConfig,
    private readonly vars: tf.Variable[],
  ) {
    const base = DEFAULT_OPTIMIZER[config.type];
    if (!base) throw new Error(`unknown optimizer "${config.type}"; expected adam or sgd`);
    this.config = {
      momentum: 0.9,
      nesterov: false,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: 0,
      ...base,
      ...stripUndefined(config),
    } as Required<OptimizerConfig>;
    const perVar = config.type === 'adam' ? 2 : 1;
    for (let k = 0; k < perVar; k++) for (const v of vars) this.slots.push(tf.variable(tf.zerosLike(v), false));
  }

  get step(): number {
    return this.stepCount;
  }

  /** Applies one update with learning rate `lr`; `grads[i]` is the gradient of `vars[i]`. */
  apply(grads: tf.Tensor[], lr: number): void {
    this.stepCount++;
    const c = this.config;
    const n = this.vars.length;
    const t = this.stepCount;
    tf.tidy(() => {
      for (let i = 0; i < n; i++) {
        const w = this.vars[i];
        let g = grads[i];
        if (c.weightDecay > 0 && w.rank >= 2) g = tf.add(g, tf.mul(w, c.weightDecay));
        if (c.type === 'sgd') {
          const v = this.slots[i];
          const vNew = c.momentum > 0 ? tf.add(tf.mul(v, c.momentum), g) : g;
          if (c.momentum > 0) v.assign(vNew);
          const dir = c.nesterov ? tf.add(g, tf.mul(vNew, c.momentum)) : vNew;
          w.assign(tf.sub(w, tf.mul(dir, lr)));
        } else {
          const m = this.slots[i];
          const v = this.slots[n + i];
          const bc1 = 1 - Math.pow(c.beta1, t);
          const bc2 = 1 - Math.pow(c.beta2, t);
          if (tf.getBackend() === 'torch') {
            // The same float32 arithmetic in one native pass (bit-identical; lib/engine/adam.ts).
            adamStep(w, m, v, g, { beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon, bc1, bc2, lr: lr / bc1, form: 'tessera' });
            continue;
          }
          const mNew = tf.add(tf.mul(m, c.beta1), tf.mul(g, 1 - c.beta1));
          const vNew = tf.add(tf.mul(v, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
          m.assign(mNew);
          v.assign(vNew);
          const update = tf.div(tf.mul(mNew, lr / bc1), tf.add(tf.sqrt(tf.div(vNew, bc2)), c.epsilon));
          w.assign(tf.sub(w, update));
        }
      }
    });
  }

  state(): OptimizerState {
    return { step: this.stepCount, slots: this.slots.map((s) => s.dataSync() as Float32Array).map((a) => new Float32Array(a)) };
  }

  setState(state: OptimizerState): void {
    if (state.slots.length !== this.slots.length)
      throw new Error(`optimizer state has ${state.slots.length} slots, expected ${this.slots.length} (different model or optimizer?)`);
    state.slots.forEach((data, i) => {
      const s = this.slots[i];
      if (data.length !== s.size) throw new Error(`optimizer slot ${i} holds ${data.length} values, expected ${s.size}`);
      s.assign(tf.tensor(data, s.shape));
    });
    this.stepCount = state.step;
  }

  dispose(): void {
    this.slots.forEach((s) => s.dispose());
    this.slots = [];
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
