import { Affine, Canvas, Paint, Shape } from './raster';
import { FACADE_CLASSES, FACADE_LABEL, FACADE_PARTS, FacadeCue, FacadesOptions, renderFacade } from './facades';

/**
 * Ground truth for the cue proxy: which pixels of a facades image show a signature cue *value* of its class (dark
 * brick in brickland, not any wall). The world's part maps give the cue type of every pixel; which building a pixel
 * belongs to (and so the cue's value) is recovered by re-rendering the image on a canvas that records, for every
 * fill, the pixels it painted. renderFacade draws each building roof first (one roof fill per building), then all
 * vegetation in building order (a palm is 7 fills, a tree 2, a hedge 1): `ownerMap` checks both counts against the
 * returned record and throws when the drawing order has changed, so the truth can never silently drift.
 */

const VEGETATION_FILLS: Record<string, number> = { palm: 7, tree: 2, hedge: 1, none: 0 };

/** A canvas that records, for each fill, the pixels it painted (via a sentinel in the label map). */
class RecordingCanvas extends Canvas {
  readonly fills: { label: number; pixels: Int32Array }[] = [];

  override fill(shape: Shape, m: Affine, paint: Paint, label: number): number {
    const before = this.labels.slice();
    this.labels.fill(255);
    const count = super.fill(shape, m, paint, label);
    const pixels: number[] = [];
    for (let p = 0; p < this.labels.length; p++) {
      if (this.labels[p] !== 255) pixels.push(p);
      else this.labels[p] = before[p];
    }
    this.fills.push({ label, pixels: Int32Array.from(pixels) });
    return count;
  }
}

/** Image `index` of a facades split: its label map, its class, and the building (0-based, -1 = none) of every pixel. */
export function ownerMap(
  opts: FacadesOptions,
  index: number,
): { labels: Uint8Array; owner: Int8Array; label: number; buildings: Record<FacadeCue, string>[] } {
  const side = opts.side ?? 128;
  const canvas = new RecordingCanvas(side, side);
  const record = renderFacade(canvas, opts, index);
  const owner = new Int8Array(side * side).fill(-1);
  let building = -1;
  const vegetation: Int32Array[] = [];
  for (const f of canvas.fills) {
    if (f.label === FACADE_LABEL.vegetation) {
      vegetation.push(f.pixels);
      continue;
    }
    if (f.label === FACADE_LABEL.roof) building++;
    for (const p of f.pixels) owner[p] = building;
  }
  const roofs = building + 1;
  const expected = record.buildings.reduce((s, b) => s + VEGETATION_FILLS[b.vegetation], 0);
  if (roofs !== record.buildings.length || vegetation.length !== expected) {
    throw new Error(
      `facades truth: image ${index} drew ${roofs} roofs and ${vegetation.length} vegetation fills, the record has ` +
        `${record.buildings.length} buildings needing ${expected}; renderFacade's drawing order changed, update facade-truth.ts`,
    );
  }
  let v = 0;
  record.buildings.forEach((b, i) => {
    for (let k = 0; k < VEGETATION_FILLS[b.vegetation]; k++, v++) for (const p of vegetation[v]) owner[p] = i;
  });
  return { labels: canvas.labels, owner, label: record.label, buildings: record.buildings };
}

/** [side*side] 1 where the pixel shows a signature cue value of class `cls` (default: the image's class). */
export function signatureMask(opts: FacadesOptions, index: number, cls?: number): Uint8Array {
  const { labels, owner, label, buildings } = ownerMap(opts, index);
  const signature = FACADE_CLASSES[cls ?? label].signature;
  const mask = new Uint8Array(labels.length);
  for (let p = 0; p < labels.length; p++) {
    if (labels[p] === 0 || owner[p] < 0) continue;
    const cue = FACADE_PARTS[labels[p] - 1];
    const sig = signature[cue];
    if (sig && buildings[owner[p]][cue] === sig[0]) mask[p] = 1;
  }
  return mask;
}
