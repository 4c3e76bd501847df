import { Dataset } from '../data/dataset';
import { Rng } from '../util/rng';

/**
 * Toy task: a short bright bar, horizontal (class 0) or vertical (class 1), at a random place on a noisy dark
 * size x size image. Local evidence suffices, so every family (BagNet-5 included) can learn it.
 */
export function toyBars(n: number, seed: number, size = 8, split: 'train' | 'test' = 'train'): Dataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * size * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    labels[i] = label;
    const off = i * size * size;
    for (let p = 0; p < size * size; p++) images[off + p] = rng.int(60);
    const len = 4;
    const y0 = label === 0 ? rng.int(size) : rng.int(size - len + 1);
    const x0 = label === 0 ? rng.int(size - len + 1) : rng.int(size);
    for (let t = 0; t < len; t++) {
      const y = label === 0 ? y0 : y0 + t;
      const x = label === 0 ? x0 + t : x0;
      images[off + y * size + x] = 200 + rng.int(56);
    }
  }
  return new Dataset({
    name: `toy-bars-${seed}`,
    split,
    images,
    labels,
    height: size,
    width: size,
    channels: 1,
    classNames: ['horizontal', 'vertical'],
  });
}
