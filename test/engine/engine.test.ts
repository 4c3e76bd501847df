/** Backend selection: the fastest available backend, forced backends, and the one-line description. */
import * as tf from '@tensorflow/tfjs';
import { describeEngine, initEngine } from '../../lib/engine';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const torch = require('tfjs-backend-torch');

describe('initEngine', () => {
  it('picks torch when libtorch is available (else wasm) and says so in one line', async () => {
    const info = await initEngine({ quiet: true });
    expect(info.backend).toBe(torch.isAvailable() ? 'torch' : 'wasm');
    expect(tf.getBackend()).toBe(info.backend);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    const line = describeEngine(info);
    expect(line).toContain(`backend ${info.backend}`);
    expect(line.split('\n')).toHaveLength(1);
  });

  it('rejects an unknown forced backend with the list of names', async () => {
    await expect(initEngine({ backend: 'tpu', quiet: true })).rejects.toThrow(/unknown backend "tpu".*torch/);
  });

  it('errors clearly when a forced backend cannot load', async () => {
    await expect(initEngine({ backend: 'tensorflow', quiet: true })).rejects.toThrow(/not available here/);
  });

  it('can force the cpu backend', async () => {
    const info = await initEngine({ backend: 'cpu', quiet: true });
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });
});
