import { Rng } from '../../util/rng';
import { Canvas } from './raster';

/** A fixed table of uniform noise in [-1, 1) (deterministic; 2^16 entries), indexed from a per-image offset. */
const NOISE_BITS = 16;
const NOISE = (() => {
  const rng = new Rng('tessera/noise-table');
  const t = new Float32Array(1 << NOISE_BITS);
  for (let i = 0; i < t.length; i++) t[i] = 2 * rng.next() - 1;
  return t;
})();

/**
 * Final touch shared by the worlds: a global lighting factor in [0.85, 1.15] and per-pixel noise of +-`noise` grey
 * levels (read from a fixed noise table at an offset and stride drawn from `rng`). Changes colours only, never
 * the label map.
 */
export function finishImage(canvas: Canvas, rng: Rng, noise: number): void {
  const light = rng.uniform(0.85, 1.15);
  const offset = rng.int(1 << NOISE_BITS);
  const stride = 2 * rng.int(1 << (NOISE_BITS - 2)) + 1;
  const mask = (1 << NOISE_BITS) - 1;
  const out = canvas.rgb;
  const n = canvas.width * canvas.height;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    const d = noise * NOISE[(offset + i * stride) & mask];
    let v = out[p] * light + d;
    out[p] = v < 0 ? 0 : v > 255 ? 255 : v;
    v = out[p + 1] * light + d;
    out[p + 1] = v < 0 ? 0 : v > 255 ? 255 : v;
    v = out[p + 2] * light + d;
    out[p + 2] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}
