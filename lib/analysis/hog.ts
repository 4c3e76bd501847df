/**
 * Histograms of oriented gradients (Dalal & Triggs, CVPR 2005), the descriptor Proposal Flow matches proposals with,
 * and the crop-and-resize that gives every proposal the same grid. Images are plain typed arrays, row-major HWC.
 */

export interface HogOptions {
  /** Cell side in pixels (default 4: a 16 px window gives 4x4 cells). */
  cell?: number;
  /** Unsigned orientation bins over [0, 180) degrees (default 9). */
  bins?: number;
  /** Block side in cells; blocks step by one cell (default 2). */
  block?: number;
  /** L2-Hys clipping (default 0.2). */
  clip?: number;
}

/** Length of the descriptor of a height x width window. */
export function hogLength(height: number, width: number, opts: HogOptions = {}): number {
  const { cell = 4, bins = 9, block = 2 } = opts;
  const cy = Math.floor(height / cell);
  const cx = Math.floor(width / cell);
  return Math.max(0, cy - block + 1) * Math.max(0, cx - block + 1) * block * block * bins;
}

/**
 * The HOG descriptor of an image [height*width*channels] (any value range): centred [-1, 0, 1] gradients (one-sided
 * at the border), per pixel the channel of largest magnitude; each pixel votes its magnitude into the two nearest
 * orientation bins (linear interpolation, bin centres at (b + 0.5) * 180/bins) of its cell; cells are grouped into
 * overlapping blocks, each L2-normalised, clipped at `clip` and renormalised (L2-Hys). Pixels beyond the last whole
 * cell are ignored. Returns the blocks' histograms concatenated, row-major by block then cell.
 */
export function hog(image: ArrayLike<number>, height: number, width: number, channels: number, opts: HogOptions = {}): Float32Array {
  const { cell = 4, bins = 9, block = 2, clip = 0.2 } = opts;
  if (image.length !== height * width * channels)
    throw new Error(`hog: a ${height}x${width}x${channels} image needs ${height * width * channels} values, found ${image.length}`);
  const cy = Math.floor(height / cell);
  const cx = Math.floor(width / cell);
  if (cy < block || cx < block)
    throw new Error(
      `hog: a ${height}x${width} window holds ${cy}x${cx} cells of ${cell} px, fewer than one ${block}x${block} block; use a larger ` +
        `window or smaller cells`,
    );
  const hist = new Float64Array(cy * cx * bins);
  const binWidth = Math.PI / bins;
  for (let y = 0; y < cy * cell; y++) {
    const y0 = y > 0 ? y - 1 : y;
    const y1 = y < height - 1 ? y + 1 : y;
    for (let x = 0; x < cx * cell; x++) {
      const x0 = x > 0 ? x - 1 : x;
      const x1 = x < width - 1 ? x + 1 : x;
      let gx = 0;
      let gy = 0;
      let best = -1;
      for (let c = 0; c < channels; c++) {
        const dx = image[(y * width + x1) * channels + c] - image[(y * width + x0) * channels + c];
        const dy = image[(y1 * width + x) * channels + c] - image[(y0 * width + x) * channels + c];
        const m = dx * dx + dy * dy;
        if (m > best) [best, gx, gy] = [m, dx, dy];
      }
      const mag = Math.sqrt(best);
      if (mag === 0) continue;
      let theta = Math.atan2(gy, gx);
      if (theta < 0) theta += Math.PI;
      if (theta >= Math.PI) theta -= Math.PI;
      // Position between bin centres: bin b's centre is (b + 0.5) * binWidth; orientations wrap around.
      const pos = theta / binWidth - 0.5;
      const b0 = Math.floor(pos);
      const frac = pos - b0;
      const base = (Math.floor(y / cell) * cx + Math.floor(x / cell)) * bins;
      hist[base + ((b0 + bins) % bins)] += mag * (1 - frac);
      hist[base + ((b0 + 1) % bins)] += mag * frac;
    }
  }
  const by = cy - block + 1;
  const bx = cx - block + 1;
  const per = block * block * bins;
  const out = new Float32Array(by * bx * per);
  const v = new Float64Array(per);
  for (let i = 0; i < by; i++) {
    for (let j = 0; j < bx; j++) {
      let k = 0;
      for (let u = 0; u < block; u++)
        for (let w = 0; w < block; w++) for (let b = 0; b < bins; b++) v[k++] = hist[((i + u) * cx + j + w) * bins + b];
      normaliseL2Hys(v, clip);
      out.set(v, (i * bx + j) * per);
    }
  }
  return out;
}

/** L2 normalisation, clipping at `clip`, renormalisation (in place; epsilon 1e-10 keeps empty blocks at 0). */
function normaliseL2Hys(v: Float64Array, clip: number): void {
  for (let pass = 0; pass < 2; pass++) {
    let s = 0;
    for (let k = 0; k < v.length; k++) s += v[k] * v[k];
    const norm = Math.sqrt(s + 1e-10);
    for (let k = 0; k < v.length; k++) v[k] = pass === 0 ? Math.min(clip, v[k] / norm) : v[k] / norm;
  }
}

/** A box [x0, y0, x1, y1) in pixels (x1, y1 exclusive), the layout of GroundTruth.boxes. */
export type Box = readonly [number, number, number, number];

/**
 * The box's pixels of an image [height*width*channels] resampled bilinearly to outH x outW (pixel centres aligned as
 * in OpenCV's resize: source coordinate (i + 0.5) * scale - 0.5, clamped to the box).
 */
export function cropResize(image: ArrayLike<number>, width: number, channels: number, box: Box, outH: number, outW: number): Float32Array {
  const [x0, y0, x1, y1] = box;
  if (!(x1 > x0 && y1 > y0)) throw new Error(`cropResize: empty box [${box}]`);
  const out = new Float32Array(outH * outW * channels);
  const sy = (y1 - y0) / outH;
  const sx = (x1 - x0) / outW;
  for (let i = 0; i < outH; i++) {
    const fy = Math.min(Math.max((i + 0.5) * sy - 0.5, 0), y1 - y0 - 1);
    const ya = Math.floor(fy);
    const yb = Math.min(ya + 1, y1 - y0 - 1);
    const ty = fy - ya;
    for (let j = 0; j < outW; j++) {
      const fx = Math.min(Math.max((j + 0.5) * sx - 0.5, 0), x1 - x0 - 1);
      const xa = Math.floor(fx);
      const xb = Math.min(xa + 1, x1 - x0 - 1);
      const tx = fx - xa;
      const aa = ((y0 + ya) * width + x0 + xa) * channels;
      const ab = ((y0 + ya) * width + x0 + xb) * channels;
      const ba = ((y0 + yb) * width + x0 + xa) * channels;
      const bb = ((y0 + yb) * width + x0 + xb) * channels;
      for (let c = 0; c < channels; c++) {
        const top = image[aa + c] * (1 - tx) + image[ab + c] * tx;
        const bottom = image[ba + c] * (1 - tx) + image[bb + c] * tx;
        out[(i * outW + j) * channels + c] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return out;
}
