import type { AxisRF } from '../models/rf';

/**
 * What every explanation method returns: plain numbers (no tensors to dispose) and the geometry that places each map
 * cell on the image.
 *
 * Geometry: along each axis, map cell i covers the image pixels [start + i*jump, start + i*jump + size) (the
 * receptive-field arithmetic of lib/models/rf.ts: `size` pixels seen, `jump` pixels between neighbouring cells;
 * `start` may be negative where padding extends a field past the image). A per-pixel map has {size 1, jump 1, start 0}.
 */
export interface MapGeometry {
  y: AxisRF;
  x: AxisRF;
}

/** One plane per image, for the image's target class. */
export interface Heatmaps {
  /** The method's id (see lib/explain/index.ts). */
  method: string;
  /** Images. */
  n: number;
  /** Map size. */
  height: number;
  width: number;
  /** Size of the images the maps explain. */
  imageHeight: number;
  imageWidth: number;
  /** The class explained in each image (n entries). */
  targets: number[];
  geometry: MapGeometry;
  /** Whether values carry a sign (evidence for / against) or are magnitudes/probabilities. */
  signed: boolean;
  /** [n, height, width] row-major. */
  values: Float32Array;
}

/** Every class at once (methods with `allClasses`): values [n, height, width, classes]. */
export interface ClassHeatmaps extends Omit<Heatmaps, 'targets'> {
  classes: number;
}

/** The per-pixel geometry. */
export const PIXEL_GEOMETRY: MapGeometry = { y: { size: 1, jump: 1, start: 0 }, x: { size: 1, jump: 1, start: 0 } };

/** A geometry of square windows of `size` every `stride` pixels starting at `start` on both axes. */
export function windowGeometry(size: number, stride: number, start = 0): MapGeometry {
  return { y: { size, jump: stride, start }, x: { size, jump: stride, start } };
}

/** Image i's plane: a view into `h.values` of height*width numbers. */
export function plane(h: Heatmaps, i: number): Float32Array {
  const hw = h.height * h.width;
  return h.values.subarray(i * hw, (i + 1) * hw);
}

/** Selects one class per image from class maps: `classes[i]` for image i. */
export function selectClasses(maps: ClassHeatmaps, classes: ArrayLike<number>): Heatmaps {
  const { n, height, width, classes: K, values, ...rest } = maps;
  if (classes.length !== n) throw new Error(`selectClasses: ${n} images need ${n} classes, found ${classes.length}`);
  const hw = height * width;
  const out = new Float32Array(n * hw);
  for (let i = 0; i < n; i++) {
    const c = classes[i];
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new Error(`selectClasses: class ${c} of image ${i} is outside [0, ${K})`);
    for (let p = 0; p < hw; p++) out[i * hw + p] = values[(i * hw + p) * K + c];
  }
  return { ...rest, n, height, width, values: out, targets: Array.from(classes) };
}

/** Centre of cell (i, j) in image pixel coordinates (pixel p spans [p, p+1), so a 1-pixel cell's centre is p + 0.5). */
export function cellCentre(g: MapGeometry, i: number, j: number): { y: number; x: number } {
  return { y: g.y.start + i * g.y.jump + g.y.size / 2, x: g.x.start + j * g.x.jump + g.x.size / 2 };
}

/** The image rectangle [y0, y1) x [x0, x1) seen by cell (i, j), unclipped. */
export function cellField(g: MapGeometry, i: number, j: number): { y0: number; x0: number; y1: number; x1: number } {
  const y0 = g.y.start + i * g.y.jump;
  const x0 = g.x.start + j * g.x.jump;
  return { y0, x0, y1: y0 + g.y.size, x1: x0 + g.x.size };
}

/**
 * A map drawn on the image's pixel grid [imageHeight * imageWidth]: each cell is painted as a tile of jump x jump
 * pixels centred on its field's centre (so neighbouring cells tile the image without overlap, and a coarse map is
 * not stretched over pixels no cell is centred near). Pixels no tile covers get `fill` (NaN: transparent in overlays).
 */
export function onImageGrid(h: Heatmaps, i: number, fill = NaN): Float32Array {
  const H = h.imageHeight;
  const W = h.imageWidth;
  const out = new Float32Array(H * W).fill(fill);
  const p = plane(h, i);
  const g = h.geometry;
  const axis = (a: AxisRF, cells: number, pixels: number): Int32Array => {
    // For each pixel, the cell whose tile [centre - jump/2, centre + jump/2) holds the pixel's centre, or -1.
    const idx = new Int32Array(pixels).fill(-1);
    for (let q = 0; q < pixels; q++) {
      const c = Math.floor((q + 0.5 - a.start - a.size / 2 + a.jump / 2) / a.jump);
      if (c >= 0 && c < cells) idx[q] = c;
    }
    return idx;
  };
  const iy = axis(g.y, h.height, H);
  const ix = axis(g.x, h.width, W);
  for (let y = 0; y < H; y++) {
    if (iy[y] < 0) continue;
    for (let x = 0; x < W; x++) if (ix[x] >= 0) out[y * W + x] = p[iy[y] * h.width + ix[x]];
  }
  return out;
}

/** Problems with a Heatmaps object (sizes, finite values, every cell's centre on the image); empty when valid. */
export function heatmapProblems(h: Heatmaps): string[] {
  const problems: string[] = [];
  if (h.values.length !== h.n * h.height * h.width)
    problems.push(`values hold ${h.values.length} numbers, expected n*height*width = ${h.n * h.height * h.width}`);
  if (h.targets.length !== h.n) problems.push(`${h.targets.length} targets for ${h.n} images`);
  for (let k = 0; k < h.values.length; k++) {
    if (!Number.isFinite(h.values[k])) {
      problems.push(`value ${k} is ${h.values[k]}`);
      break;
    }
  }
  const first = cellCentre(h.geometry, 0, 0);
  const last = cellCentre(h.geometry, h.height - 1, h.width - 1);
  if (first.y < 0 || first.x < 0 || last.y > h.imageHeight || last.x > h.imageWidth) {
    problems.push(`cell centres span (${first.y}, ${first.x})..(${last.y}, ${last.x}), outside the ${h.imageHeight}x${h.imageWidth} image`);
  }
  return problems;
}

/** The first `count` images of a set of maps (values are a view, not a copy). */
export function firstImagesOf<T extends Heatmaps | ClassHeatmaps>(h: T, count: number): T {
  if (!Number.isInteger(count) || count < 0 || count > h.n) throw new Error(`firstImagesOf: asked for ${count} of ${h.n} images`);
  const per = h.height * h.width * ('classes' in h ? h.classes : 1);
  const out = { ...h, n: count, values: h.values.subarray(0, count * per) };
  return 'targets' in h ? { ...out, targets: h.targets.slice(0, count) } : out;
}
