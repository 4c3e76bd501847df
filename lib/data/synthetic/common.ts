import { Rng } from '../../util/rng';
import { Canvas } from './raster';

/** A fixed table of uniform integer noise in [-128, 127] (deterministic; 2^16 entries), read from a per-image offset. */
const NOISE_BITS = 16;
const NOISE = (() => {
  const rng = new Rng('tessera/noise-table');
  const t = new Int16Array(1 << NOISE_BITS);
  for (let i = 0; i < t.length; i++) t[i] = (rng.nextU32() & 255) - 128;
  return t;
})();

/**
 * Final touch shared by the worlds: a global lighting factor in [0.85, 1.15] and per-pixel noise of about +-`noise`
 * grey levels (the same offset on the three channels of a pixel; read from a fixed noise table at an offset and
 * stride drawn from `rng`). Fixed-point arithmetic (8 fractional bits). Changes colours only, never the label map.
 */
export function finishImage(canvas: Canvas, rng: Rng, noise: number): void {
  const light = Math.round(rng.uniform(0.85, 1.15) * 256);
  const offset = rng.int(1 << NOISE_BITS);
  const stride = 2 * rng.int(1 << (NOISE_BITS - 2)) + 1;
  const mask = (1 << NOISE_BITS) - 1;
  const amp = Math.round(noise * 2); // d * 256 = table * amp, table in [-128, 128)
  const rgb = canvas.rgb;
  // A clamped view: stores saturate at 0 and 255.
  const out = new Uint8ClampedArray(rgb.buffer, rgb.byteOffset, rgb.length);
  const n = canvas.width * canvas.height;
  for (let i = 0, p = 0, j = offset; i < n; i++, p += 3, j = (j + stride) & mask) {
    const d = NOISE[j] * amp + 128;
    out[p] = (out[p] * light + d) >> 8;
    out[p + 1] = (out[p + 1] * light + d) >> 8;
    out[p + 2] = (out[p + 2] * light + d) >> 8;
  }
}
