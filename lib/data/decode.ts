/** Decoding PNG/JPEG files to fixed-size uint8 images with sharp, with the coordinate map of the resize policy. */
import * as fs from 'fs';
import { UserError } from '../util/errors';
import { Rng } from '../util/rng';

/**
 * How an image is brought to size x size: 'cover' scales to cover the square and crops the centre (default),
 * 'contain' scales to fit and pads with black, 'fill' stretches (aspect ratio not kept; what ProtoPNet does).
 */
export type Fit = 'cover' | 'contain' | 'fill';

export interface DecodeOptions {
  size: number;
  fit?: Fit;
  channels?: 1 | 3;
  /** Region [x, y, w, h] of the original to keep before resizing (clamped to the image). */
  region?: [number, number, number, number];
}

/** Maps original pixel coordinates to output ones: x' = (x - rx) * sx + ox. */
export interface CoordMap {
  rx: number;
  ry: number;
  sx: number;
  sy: number;
  ox: number;
  oy: number;
}

export function mapPoint(m: CoordMap, x: number, y: number): [number, number] {
  return [(x - m.rx) * m.sx + m.ox, (y - m.ry) * m.sy + m.oy];
}

export function coordMap(region: [number, number, number, number], size: number, fit: Fit): CoordMap {
  const [rx, ry, w, h] = region;
  if (fit === 'fill') return { rx, ry, sx: size / w, sy: size / h, ox: 0, oy: 0 };
  const s = fit === 'cover' ? Math.max(size / w, size / h) : Math.min(size / w, size / h);
  return { rx, ry, sx: s, sy: s, ox: (size - w * s) / 2, oy: (size - h * s) / 2 };
}

export interface Decoded {
  data: Uint8Array;
  /** Size of the original file's image. */
  width: number;
  height: number;
  map: CoordMap;
}

/** Decodes `file` to size x size x channels bytes; unreadable files raise a UserError naming the file. */
export async function decodeImage(file: string, opts: DecodeOptions): Promise<Decoded> {
  const sharp = (await import('sharp')).default;
  const channels = opts.channels ?? 3;
  const fit = opts.fit ?? 'cover';
  try {
    const input = fs.readFileSync(file);
    const meta = await sharp(input).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size in the file');
    // EXIF orientation 5-8 swaps width and height after autorotation.
    const swap = (meta.orientation ?? 1) >= 5;
    const width = swap ? meta.height : meta.width;
    const height = swap ? meta.width : meta.height;
    let region: [number, number, number, number] = [0, 0, width, height];
    let pipeline = sharp(input).rotate();
    if (opts.region) {
      const x0 = Math.max(0, Math.min(width - 1, Math.round(opts.region[0])));
      const y0 = Math.max(0, Math.min(height - 1, Math.round(opts.region[1])));
      const x1 = Math.max(x0 + 1, Math.min(width, Math.round(opts.region[0] + opts.region[2])));
      const y1 = Math.max(y0 + 1, Math.min(height, Math.round(opts.region[1] + opts.region[3])));
      region = [x0, y0, x1 - x0, y1 - y0];
      // Decode (auto-rotated) to raw pixels first, so that the crop is exact and nothing is re-encoded.
      const { data: px, info: pi } = await pipeline.raw().toBuffer({ resolveWithObject: true });
      pipeline = sharp(px, { raw: { width: pi.width, height: pi.height, channels: pi.channels } }).extract({
        left: x0,
        top: y0,
        width: x1 - x0,
        height: y1 - y0,
      });
    }
    pipeline = pipeline.resize(opts.size, opts.size, { fit, position: 'centre', background: { r: 0, g: 0, b: 0 } }).removeAlpha();
    pipeline = channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb');
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    let out = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (info.channels !== channels) out = convertChannels(out, info.channels, channels);
    return { data: out, width, height, map: coordMap(region, opts.size, fit) };
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `${file}: cannot decode the image (${(err as Error).message}); expected a readable PNG or JPEG. Replace or remove the file.`,
    );
  }
}

function convertChannels(src: Uint8Array, from: number, to: number): Uint8Array {
  const n = src.length / from;
  const out = new Uint8Array(n * to);
  for (let i = 0; i < n; i++) {
    if (to === 1)
      out[i] = from >= 3 ? Math.round(0.299 * src[i * from] + 0.587 * src[i * from + 1] + 0.114 * src[i * from + 2]) : src[i * from];
    else for (let c = 0; c < to; c++) out[i * to + c] = src[i * from + (from >= 3 ? c : 0)];
  }
  return out;
}

/** Runs `fn` over items with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * Indices of at most `perClass` items of each class (labels[i]), chosen by `rng`, returned in their original order:
 * the per-class cap applied before decoding, so that quick runs never read the whole folder.
 */
export function capPerClass(labels: readonly number[], perClass: number, rng: Rng): number[] {
  const byClass = new Map<number, number[]>();
  labels.forEach((l, i) => {
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  });
  const keep: number[] = [];
  for (const [l, idx] of [...byClass].sort((a, b) => a[0] - b[0])) keep.push(...rng.fork(`class${l}`).shuffle(idx).slice(0, perClass));
  return keep.sort((a, b) => a - b);
}
