import * as tf from '@tensorflow/tfjs';
import { windowStack } from '../../lib/explain/window';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('windowStack', () => {
  it('stacks square windows of a one-image batch exactly as slicing each would (2 channels, edges included)', () => {
    // Pixel (y, x) channel k holds 100 y + 10 x + k: every copied value says where it came from.
    const [h, w, c] = [5, 6, 2];
    const image = tf.tensor4d(
      Float32Array.from({ length: h * w * c }, (_, i) => 100 * Math.floor(i / (w * c)) + 10 * (Math.floor(i / c) % w) + (i % c)),
      [1, h, w, c],
    );
    const windows = [
      { x: 0, y: 0, width: 3, height: 3 },
      { x: 3, y: 2, width: 3, height: 3 },
      { x: 1, y: 1, width: 3, height: 3 },
    ];
    const got = windowStack(image, windows, 3);
    expect(got.shape).toEqual([3, 3, 3, 2]);
    const want = tf.concat(windows.map((p) => tf.slice(image, [0, p.y, p.x, 0], [1, 3, 3, -1])));
    expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
    expect(Array.from(got.dataSync().slice(0, 4))).toEqual([0, 1, 10, 11]); // window 0 starts at (0, 0)
    expect(got.dataSync()[3 * 3 * 2]).toBe(230); // window 1 starts at (2, 3), channel 0
    expect(() => windowStack(image, [{ x: 4, y: 0, width: 3, height: 3 }], 3)).toThrow('window 0 at (0, 4) of side 3 leaves the 5x6 image');
    tf.dispose([image, got, want]);
  });
});
