/** fuseLayersCrop: tfjs-layers' Cropping2D as one slice on the torch backend, same values and gradient as two. */
import * as tf from '@tensorflow/tfjs';
import { fuseLayersCrop } from '../../lib/engine/crop';
import { Rng } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const torch = require('tfjs-backend-torch');
const describeTorch = torch.isAvailable() ? describe : describe.skip;

describeTorch('Cropping2D as one slice on torch', () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('crops with one Slice forward, equal to the layer on the cpu backend', async () => {
    fuseLayersCrop();
    const data = new Rng(21).normal(2 * 7 * 6 * 3);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const layer = tf.layers.cropping2D({
        cropping: [
          [2, 1],
          [0, 3],
        ],
      });
      const x = tf.tensor4d(data, [2, 7, 6, 3]);
      const slices = torch.stats().byKernel.Slice ?? 0;
      let sliceCalls = 0;
      const k = tf.getKernel('Slice', backend) as tf.KernelConfig;
      const f = k.kernelFunc;
      k.kernelFunc = (args) => {
        sliceCalls++;
        return f(args);
      };
      const { value, grad } = tf.valueAndGrad((xi: tf.Tensor) => tf.sum(tf.mul(tf.square(layer.apply(xi) as tf.Tensor), 3)))(x);
      k.kernelFunc = f;
      const out = { y: (layer.apply(x) as tf.Tensor).arraySync(), g: grad.arraySync(), loss: value.dataSync()[0], sliceCalls };
      expect(torch.stats().byKernel.Slice ?? 0).toBe(slices); // never fell back to the cpu kernel
      tf.dispose([x, value, grad]);
      return out;
    };
    const cpu = await run('cpu');
    const tor = await run('torch');
    expect(tor.y).toEqual(cpu.y);
    expect(tor.g).toEqual(cpu.g);
    expect(Math.abs(tor.loss - cpu.loss)).toBeLessThan(1e-6 * cpu.loss); // summed in another order
    expect(cpu.sliceCalls).toBe(2); // rows, then columns
    expect(tor.sliceCalls).toBe(1);
  });
});
