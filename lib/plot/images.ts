/**
 * Raster helpers for figures: image grids, label-map and heatmap overlays, colour maps, PNG encoding with sharp.
 * Everything works on plain `Raster`s (uint8, row-major HWC), so they can be built from a Dataset, a tensor's
 * data, or a heatmap without TensorFlow.js.
 */
import * as fs from 'fs';
import { writeFileAtomic } from '../util/atomic';

/** A uint8 image, row-major, `channels` interleaved (1 = grey, 3 = RGB, 4 = RGBA). */
export interface Raster {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export function raster(width: number, height: number, channels: number, fill = 0): Raster {
  return { width, height, channels, data: new Uint8Array(width * height * channels).fill(fill) };
}

/** Wraps existing bytes (checked for size). */
export function fromBytes(data: Uint8Array, width: number, height: number, channels: number): Raster {
  if (data.length !== width * height * channels) {
    throw new Error(`raster ${width}x${height}x${channels} needs ${width * height * channels} bytes, found ${data.length}`);
  }
  return { width, height, channels, data };
}

/** Float values in [0,1] (e.g. a tensor's dataSync of one HWC image) to a Raster; values are clamped. */
export function fromFloats(values: ArrayLike<number>, width: number, height: number, channels: number): Raster {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(values[i] * 255)));
  return fromBytes(data, width, height, channels);
}

/** RGB copy (grey replicated; alpha dropped). */
export function toRgb(img: Raster): Raster {
  if (img.channels === 3) return img;
  const out = raster(img.width, img.height, 3);
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out.data[i * 3 + c] = img.channels === 1 ? img.data[i] : img.data[i * img.channels + c];
  }
  return out;
}

/** Nearest-neighbour upscaling by an integer factor (keeps pixels crisp in figures). */
export function upscale(img: Raster, factor: number): Raster {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`upscale factor must be a positive integer, found ${factor}`);
  if (factor === 1) return img;
  const out = raster(img.width * factor, img.height * factor, img.channels);
  const ch = img.channels;
  for (let y = 0; y < out.height; y++) {
    const sy = (y / factor) | 0;
    for (let x = 0; x < out.width; x++) {
      const sx = (x / factor) | 0;
      const s = (sy * img.width + sx) * ch;
      const d = (y * out.width + x) * ch;
      for (let c = 0; c < ch; c++) out.data[d + c] = img.data[s + c];
    }
  }
  return out;
}

/**
 * Images laid out in a grid, row-major, `cols` per row, with `pad` pixels of `background` (grey level) between and
 * around cells. Cells take the size of the largest image; all are converted to RGB.
 */
export function grid(images: readonly Raster[], opts: { cols?: number; pad?: number; background?: number } = {}): Raster {
  if (images.length === 0) throw new Error('grid needs at least one image');
  const cols = Math.max(1, Math.min(opts.cols ?? Math.ceil(Math.sqrt(images.length)), images.length));
  const rows = Math.ceil(images.length / cols);
  const pad = opts.pad ?? 2;
  const cw = Math.max(...images.map((i) => i.width));
  const chh = Math.max(...images.map((i) => i.height));
  const out = raster(cols * cw + (cols + 1) * pad, rows * chh + (rows + 1) * pad, 3, opts.background ?? 255);
  images.forEach((img, k) => {
    const rgbImg = toRgb(img);
    const ox = pad + (k % cols) * (cw + pad);
    const oy = pad + Math.floor(k / cols) * (chh + pad);
    for (let y = 0; y < img.height; y++) {
      const src = rgbImg.data.subarray(y * img.width * 3, (y + 1) * img.width * 3);
      out.data.set(src, ((oy + y) * out.width + ox) * 3);
    }
  });
  return out;
}

/** n visually distinct RGB colours (index 0 is black, for background), e.g. for part labels. */
export function palette(n: number): [number, number, number][] {
  const base: [number, number, number][] = [
    [0, 0, 0],
    [230, 25, 75],
    [60, 180, 75],
    [255, 225, 25],
    [0, 130, 200],
    [245, 130, 48],
    [145, 30, 180],
    [70, 240, 240],
    [240, 50, 230],
    [210, 245, 60],
    [250, 190, 212],
    [0, 128, 128],
    [170, 110, 40],
    [128, 0, 0],
    [0, 0, 128],
    [128, 128, 0],
  ];
  const out: [number, number, number][] = [];
  for (let i = 0; i < n; i++) {
    if (i < base.length) out.push(base[i]);
    else {
      const h = (i * 0.618034) % 1;
      out.push(hsvToRgb(h, 0.8, 0.9));
    }
  }
  return out;
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i % 6];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

/**
 * A label map (H*W, 0 = background, left untouched) blended over an image with `alpha`; with `outline` only the
 * label boundaries are drawn, opaque.
 */
export function overlayLabels(
  img: Raster,
  labels: Uint8Array,
  opts: { alpha?: number; colours?: [number, number, number][]; outline?: boolean } = {},
): Raster {
  const base = toRgb(img);
  const out = raster(img.width, img.height, 3);
  out.data.set(base.data);
  const alpha = opts.alpha ?? 0.5;
  let maxLabel = 0;
  for (const l of labels) if (l > maxLabel) maxLabel = l;
  const colours = opts.colours ?? palette(maxLabel + 1);
  const edges = opts.outline ? boundaryPixels(labels, img.width, img.height) : null;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === 0 || (edges && !edges[i])) continue;
    const a = opts.outline ? 1 : alpha;
    const col = colours[l % colours.length];
    for (let c = 0; c < 3; c++) out.data[i * 3 + c] = Math.round(out.data[i * 3 + c] * (1 - a) + col[c] * a);
  }
  return out;
}

/**
 * The boundary pixels of the regions of a label map (height*width, 0 = outside, e.g. a binary mask): 1 where a
 * pixel's label is nonzero and one of its 4 neighbours has another label or lies off the image. With `factor` the
 * map is first upscaled (nearest neighbour), so the outline stays 1 px thin on a magnified image.
 * Returns [height*factor, width*factor] row-major 0/1.
 */
export function boundaryPixels(labels: ArrayLike<number>, width: number, height: number, factor = 1): Uint8Array {
  if (labels.length !== width * height) {
    throw new Error(`boundaryPixels: a ${width}x${height} map needs ${width * height} labels, found ${labels.length}`);
  }
  const W = width * factor;
  const H = height * factor;
  const at = (y: number, x: number) => labels[((y / factor) | 0) * width + ((x / factor) | 0)];
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const l = at(y, x);
      if (!l) continue;
      const onEdge = x === 0 || y === 0 || x === W - 1 || y === H - 1;
      out[y * W + x] = +(onEdge || at(y, x - 1) !== l || at(y, x + 1) !== l || at(y - 1, x) !== l || at(y + 1, x) !== l);
    }
  }
  return out;
}

export type ColormapName = 'gray' | 'hot' | 'viridis' | 'RdBu_r' | 'jet';

const STOPS: Record<ColormapName, [number, number, number, number][]> = {
  gray: [
    [0, 0, 0, 0],
    [1, 255, 255, 255],
  ],
  hot: [
    [0, 10, 0, 0],
    [0.375, 255, 0, 0],
    [0.75, 255, 255, 0],
    [1, 255, 255, 255],
  ],
  viridis: [
    [0, 68, 1, 84],
    [0.25, 59, 82, 139],
    [0.5, 33, 145, 140],
    [0.75, 94, 201, 98],
    [1, 253, 231, 37],
  ],
  RdBu_r: [
    [0, 5, 48, 97],
    [0.25, 67, 147, 195],
    [0.5, 247, 247, 247],
    [0.75, 214, 96, 77],
    [1, 103, 0, 31],
  ],
  jet: [
    [0, 0, 0, 143],
    [0.125, 0, 0, 255],
    [0.375, 0, 255, 255],
    [0.625, 255, 255, 0],
    [0.875, 255, 0, 0],
    [1, 128, 0, 0],
  ],
};

/** The colour of t in [0,1] (clamped) on a colour map, by linear interpolation between its stops. */
export function colormap(name: ColormapName, t: number): [number, number, number] {
  const stops = STOPS[name];
  if (!stops) throw new Error(`unknown colour map "${name}"; known: ${Object.keys(STOPS).join(', ')}`);
  const x = Number.isFinite(t) ? Math.max(0, Math.min(1, t)) : 0;
  for (let k = 1; k < stops.length; k++) {
    if (x <= stops[k][0]) {
      const [t0, r0, g0, b0] = stops[k - 1];
      const [t1, r1, g1, b1] = stops[k];
      const f = (x - t0) / (t1 - t0);
      return [Math.round(r0 + f * (r1 - r0)), Math.round(g0 + f * (g1 - g0)), Math.round(b0 + f * (b1 - b0))];
    }
  }
  const last = stops[stops.length - 1];
  return [last[1], last[2], last[3]];
}

/**
 * A heatmap (H*W floats) as an RGB raster. By default the range is [min, max]; `symmetric` makes it [-m, m] with m
 * the `percentile` (default 100) of |value| (as BagNet's RdBu_r heatmaps, clipped at the 99th percentile).
 */
export function heatmap(
  values: ArrayLike<number>,
  width: number,
  height: number,
  opts: { cmap?: ColormapName; vmin?: number; vmax?: number; symmetric?: boolean; percentile?: number } = {},
): Raster {
  const n = width * height;
  if (values.length !== n) throw new Error(`heatmap ${width}x${height} needs ${n} values, found ${values.length}`);
  let vmin = opts.vmin;
  let vmax = opts.vmax;
  if (opts.symmetric) {
    const abs = Array.from(values, (v) => Math.abs(v)).sort((a, b) => a - b);
    const p = opts.percentile ?? 100;
    const m = abs[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))] || 1e-12;
    vmin = vmin ?? -m;
    vmax = vmax ?? m;
  } else {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      if (values[i] < lo) lo = values[i];
      if (values[i] > hi) hi = values[i];
    }
    vmin = vmin ?? lo;
    vmax = vmax ?? hi;
  }
  const span = vmax - vmin || 1;
  const cmap = opts.cmap ?? (opts.symmetric ? 'RdBu_r' : 'viridis');
  const out = raster(width, height, 3);
  for (let i = 0; i < n; i++) out.data.set(colormap(cmap, (values[i] - vmin) / span), i * 3);
  return out;
}

/** `top` blended over `bottom` (same size) with opacity `alpha`, optionally per pixel (alpha map in [0,1]). */
export function blend(bottom: Raster, top: Raster, alpha: number | ArrayLike<number> = 0.5): Raster {
  if (bottom.width !== top.width || bottom.height !== top.height) {
    throw new Error(`blend needs equal sizes, found ${bottom.width}x${bottom.height} and ${top.width}x${top.height}`);
  }
  const a = toRgb(bottom);
  const b = toRgb(top);
  const out = raster(a.width, a.height, 3);
  const n = a.width * a.height;
  for (let i = 0; i < n; i++) {
    const t = typeof alpha === 'number' ? alpha : alpha[i];
    for (let c = 0; c < 3; c++) out.data[i * 3 + c] = Math.round(a.data[i * 3 + c] * (1 - t) + b.data[i * 3 + c] * t);
  }
  return out;
}

/** Draws a 1-px rectangle outline [x0, y0, x1, y1) in place. */
export function drawBox(img: Raster, box: ArrayLike<number>, colour: [number, number, number] = [255, 0, 0]): Raster {
  const [x0, y0, x1, y1] = [box[0], box[1], box[2] - 1, box[3] - 1].map((v) => Math.round(v));
  const put = (x: number, y: number) => {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
    for (let c = 0; c < Math.min(3, img.channels); c++) img.data[(y * img.width + x) * img.channels + c] = colour[c];
  };
  for (let x = x0; x <= x1; x++) {
    put(x, y0);
    put(x, y1);
  }
  for (let y = y0; y <= y1; y++) {
    put(x0, y);
    put(x1, y);
  }
  return img;
}

/** PNG bytes of a raster (sharp). */
export async function encodePng(img: Raster): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 },
  })
    .png()
    .toBuffer();
}

/** Writes a PNG atomically (never half-written). */
export async function writePng(file: string, img: Raster): Promise<void> {
  writeFileAtomic(file, await encodePng(img));
}

/** Reads a PNG/JPEG file into a Raster (channels as stored, alpha kept). */
export async function readImage(file: string): Promise<Raster> {
  const sharp = (await import('sharp')).default;
  const { data, info } = await sharp(fs.readFileSync(file)).raw().toBuffer({ resolveWithObject: true });
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { width: info.width, height: info.height, channels: info.channels, data: bytes };
}
