import { BIRD_CLASSES, BIRD_LABEL, BIRD_PARTS, FLAT_PART_COLOURS, partsBirds, renderBird } from '../../lib/data/synthetic/birds';
import { FACADE_PARTS, FLAT_CUE_COLOURS, facades } from '../../lib/data/synthetic/facades';
import { Canvas, capsule, ellipse, polygon, rect, solid, IDENTITY, placement } from '../../lib/data/synthetic/raster';
import { shiftedObjects } from '../../lib/data/synthetic/shifted';
import { Dataset } from '../../lib/data/dataset';
import { loadDataset } from '../../lib/data';
import { Rng } from '../../lib/util/rng';

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Checks that in flat mode every pixel's colour is exactly its label's flat colour (masks = painted pixels). */
function checkFlat(ds: Dataset, colours: number[]): void {
  const hw = ds.height * ds.width;
  for (let i = 0; i < ds.size; i++) {
    const img = ds.imageBytes(i);
    for (let p = 0; p < hw; p++) {
      const l = ds.truth.partMaps![i * hw + p];
      const c = (img[p * 3] << 16) | (img[p * 3 + 1] << 8) | img[p * 3 + 2];
      if (c !== colours[l]) throw new Error(`image ${i} pixel ${p}: label ${l} but colour ${c.toString(16)}`);
    }
  }
}

describe('raster', () => {
  test('shapes cover exactly the pixels whose centres are inside', () => {
    const c = new Canvas(6, 4);
    expect(c.fill(rect(1, 1, 4, 3), IDENTITY, solid(0xffffff), 2)).toBe(6);
    expect(Array.from(c.labels)).toEqual([0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(c.rgb.subarray(7 * 3, 7 * 3 + 3))).toEqual([255, 255, 255]);
    const d = new Canvas(5, 5);
    // Radius 1.6 around (2.5, 2.5): the centre pixel and its 4 neighbours (distance 1), not the diagonals (1.41 < 1.6 -> in).
    expect(d.fill(ellipse(2.5, 2.5, 1.2, 1.2), IDENTITY, solid(1), 1)).toBe(5);
    expect(
      new Canvas(4, 4).fill(
        polygon([
          [0, 0],
          [4, 0],
          [0, 4],
        ]),
        IDENTITY,
        solid(1),
        1,
      ),
    ).toBe(6);
    expect(new Canvas(5, 1).fill(capsule(0.5, 0.5, 3.5, 0.5, 0.4), IDENTITY, solid(1), 1)).toBe(4);
  });

  test('the rectangle fast path paints the same pixels as the generic inside test', () => {
    const rng = new Rng(11);
    for (let k = 0; k < 200; k++) {
      const u0 = rng.uniform(-3, 10);
      const v0 = rng.uniform(-3, 10);
      const r = rect(u0, v0, u0 + rng.uniform(0, 8), v0 + rng.uniform(0, 8));
      const m = placement(rng.uniform(0.5, 2), 0, false, rng.uniform(-4, 4), rng.uniform(-4, 4));
      const fast = new Canvas(12, 12);
      const slow = new Canvas(12, 12);
      const nf = fast.fill(r, m, solid(0xabcdef), 1);
      const ns = slow.fill({ bbox: r.bbox, inside: r.inside }, m, (_u, _v) => 0xabcdef, 1);
      expect(nf).toBe(ns);
      expect(same(fast.labels, slow.labels) && same(fast.rgb, slow.rgb)).toBe(true);
    }
  });

  test('a placement maps local shapes (scale, flip, translate)', () => {
    const c = new Canvas(8, 8);
    // Local rect [0,2)x[0,1) scaled 2, mirrored, moved to x=6: pixels x in [2,6), y in [0,2).
    c.fill(rect(0, 0, 2, 1), placement(2, 0, true, 6, 0), solid(1), 1);
    const on: number[] = [];
    c.labels.forEach((v, i) => v && on.push(i));
    expect(on).toEqual([2, 3, 4, 5, 10, 11, 12, 13]);
  });
});

describe('parts-birds', () => {
  test('deterministic per seed, and image i does not depend on the set size', () => {
    const a = partsBirds({ split: 'train', seed: 3, size: 12 });
    const b = partsBirds({ split: 'train', seed: 3, size: 12 });
    const c = partsBirds({ split: 'train', seed: 4, size: 12 });
    const d = partsBirds({ split: 'train', seed: 3, size: 5 });
    const t = partsBirds({ split: 'test', seed: 3, size: 12 });
    expect(same(a.images, b.images)).toBe(true);
    expect(same(a.truth.partMaps!, b.truth.partMaps!)).toBe(true);
    expect(same(a.images, c.images)).toBe(false);
    expect(same(a.images, t.images)).toBe(false);
    expect(same(a.images.subarray(0, d.images.length), d.images)).toBe(true);
    expect(Array.from(a.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  });

  test('part masks line up with the rendered parts pixel by pixel (flat colours)', () => {
    const ds = partsBirds({ split: 'train', seed: 7, size: 40, mode: 'flat' });
    checkFlat(ds, FLAT_PART_COLOURS);
  });

  test('outside the masks the image is exactly the bird-free render; masks agree across modes', () => {
    const side = 64;
    let differing = 0;
    let partPixels = 0;
    for (let i = 0; i < 20; i++) {
      const full = new Canvas(side, side);
      const bg = new Canvas(side, side);
      const flat = new Canvas(side, side);
      renderBird(full, { split: 'test', seed: 1 }, i);
      renderBird(bg, { split: 'test', seed: 1, mode: 'background' }, i);
      renderBird(flat, { split: 'test', seed: 1, mode: 'flat' }, i);
      expect(same(full.labels, flat.labels)).toBe(true);
      expect(bg.labels.every((v) => v === 0)).toBe(true);
      for (let p = 0; p < side * side; p++) {
        const diff =
          full.rgb[p * 3] !== bg.rgb[p * 3] || full.rgb[p * 3 + 1] !== bg.rgb[p * 3 + 1] || full.rgb[p * 3 + 2] !== bg.rgb[p * 3 + 2];
        if (full.labels[p] === 0 && diff) differing++;
        if (full.labels[p] !== 0) partPixels++;
      }
    }
    expect(differing).toBe(0);
    expect(partPixels).toBeGreaterThan(20 * 200);
  });

  test('discriminative parts: each class fixes its parts, visible in its images', () => {
    const ds = partsBirds({ split: 'train', seed: 2, size: 100 });
    expect(ds.truth.partNames).toEqual([...BIRD_PARTS]);
    expect(ds.truth.discriminativeParts![0]).toEqual(['head', 'wing']);
    expect(ds.truth.discriminativeParts![4]).toEqual(['beak', 'eye', 'legs']);
    const hw = 64 * 64;
    for (let i = 0; i < ds.size; i++) {
      const counts = new Array(8).fill(0);
      for (let p = 0; p < hw; p++) counts[ds.truth.partMaps![i * hw + p]]++;
      for (const part of ds.truth.discriminativeParts![ds.labels[i]])
        expect(counts[BIRD_LABEL[part as keyof typeof BIRD_LABEL]]).toBeGreaterThan(0);
      // The box is the tight box of the part pixels.
      const [x0, y0, x1, y1] = ds.truth.boxes!.subarray(i * 4, i * 4 + 4);
      let inside = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (ds.truth.partMaps![i * hw + y * 64 + x]) inside++;
      expect(inside).toBe(hw - counts[0]);
      expect(x0 >= 0 && y0 >= 0 && x1 <= 64 && y1 <= 64 && x0 < x1 && y0 < y1).toBe(true);
    }
    // Signatures are distinct, so the class is identifiable from the parts.
    const sigs = BIRD_CLASSES.map((c) => JSON.stringify(c.fixed));
    expect(new Set(sigs).size).toBe(sigs.length);
  });
});

describe('facades', () => {
  test('deterministic, cue masks line up with the painted cues', () => {
    const a = facades({ split: 'train', seed: 5, size: 6, side: 96 });
    const b = facades({ split: 'train', seed: 5, size: 6, side: 96 });
    expect(same(a.images, b.images)).toBe(true);
    expect(same(a.images, facades({ split: 'train', seed: 6, size: 6, side: 96 }).images)).toBe(false);
    const flat = facades({ split: 'train', seed: 5, size: 12, mode: 'flat' });
    checkFlat(flat, FLAT_CUE_COLOURS);
    expect(same(flat.truth.partMaps!.subarray(0, 96 * 96), new Uint8Array(96 * 96))).toBe(false);
    expect(flat.truth.partNames).toEqual([...FACADE_PARTS]);
    // Every image shows walls.
    const hw = 128 * 128;
    for (let i = 0; i < flat.size; i++) expect(flat.truth.partMaps!.subarray(i * hw, (i + 1) * hw).includes(1)).toBe(true);
    // The normal render has the same masks as the flat one.
    const normal = facades({ split: 'train', seed: 5, size: 12 });
    expect(same(normal.truth.partMaps!, flat.truth.partMaps!)).toBe(true);
  });
});

describe('shifted objects', () => {
  test('lazy grid: count, order, positions', () => {
    const gen = shiftedObjects({ canvas: 12, objectSize: 5, objects: 2, stride: 2 });
    expect(gen.positions).toBe(4);
    expect(gen.size).toBe(32);
    expect(gen.shape).toEqual([12, 12, 3]);
    const seen: [number, number, number][] = [];
    for (const s of gen) seen.push([s.object, s.x, s.y]);
    expect(seen.length).toBe(32);
    expect(seen.slice(0, 5)).toEqual([
      [0, 0, 0],
      [0, 2, 0],
      [0, 4, 0],
      [0, 6, 0],
      [0, 0, 2],
    ]);
    expect(gen.anchors().map((a) => [a.name, a.x, a.y])).toEqual([
      ['TL', 0, 0],
      ['TR', 6, 0],
      ['C', 2, 2],
      ['BL', 0, 6],
      ['BR', 6, 6],
    ]);
  });

  test('float batches of every position of one object', () => {
    const gen = shiftedObjects({ canvas: 10, objectSize: 6, objects: 2, stride: 2 });
    const chunks = [...gen.batches(1, 4)];
    expect(chunks.map((c) => c.x.shape[0])).toEqual([4, 4, 1]);
    expect(chunks[1].grid[0]).toEqual([1, 1]);
    expect(chunks[1].offsets[0]).toEqual([2, 2]);
    const x = chunks[2].x.dataSync();
    const bytes = gen.render(1, 4, 4);
    expect(x[123]).toBeCloseTo(bytes[123] / 255, 6);
    chunks.forEach((c) => c.x.dispose());
  });

  test('alpha blending is exact, and a shift moves the object by exactly that', () => {
    const gen = shiftedObjects({ canvas: 8, objectSize: 4, objects: 3, background: 'grey' });
    const sp = gen.sprites[1];
    sp.alpha.fill(0);
    sp.alpha[0] = 1;
    sp.alpha[1] = 0.5;
    sp.colour.fill(0);
    sp.colour.set([200, 100, 0, 28, 28, 28], 0);
    const img = gen.render(1, 3, 2);
    const at = (x: number, y: number) => Array.from(img.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3));
    expect(at(3, 2)).toEqual([200, 100, 0]);
    expect(at(4, 2)).toEqual([78, 78, 78]);
    expect(at(5, 2)).toEqual([128, 128, 128]);
    const a = gen.render(0, 1, 1);
    const b = gen.render(0, 3, 2);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++)
        for (let k = 0; k < 3; k++) expect(b[((y + 2) * 8 + x + 3) * 3 + k]).toBe(a[((y + 1) * 8 + x + 1) * 3 + k]);
  });

  test('objects from a dataset; noise background fixed per object; sample dataset', async () => {
    const birds = partsBirds({ split: 'test', size: 20 });
    const gen = shiftedObjects({ source: birds, objects: 4, canvas: 40, objectSize: 20, background: 'noise', seed: 1 });
    expect(gen.sprites.map((s) => s.label)).toEqual([0, 1, 2, 3]);
    expect(gen.classNames).toBe(birds.classNames);
    const [p, q] = [gen.render(2, 0, 0), gen.render(2, 20, 20)];
    expect(p[(39 * 40 + 0) * 3]).toBe(q[(39 * 40 + 0) * 3]);
    const ds = gen.sample(10, new (await import('../../lib/util/rng')).Rng(1));
    expect(ds.size).toBe(10);
    expect(ds.truth.positions!.length).toBe(20);
    const sh = await loadDataset('shifted-objects', { split: 'train', size: 30 });
    expect(sh.imageShape).toEqual([64, 64, 3]);
    expect(sh.classNames.length).toBe(10);
  });
});

describe('loadDataset for generated worlds', () => {
  test('limit caps per class; unknown names are errors', async () => {
    const ds = await loadDataset('parts-birds', { split: 'train', limit: 2, seed: 1 });
    expect(ds.size).toBe(20);
    expect(ds.classCounts()).toEqual(new Array(10).fill(2));
    const f = await loadDataset('facades', { split: 'test', size: 7, classes: 3 });
    expect(f.classNames.length).toBe(3);
    await expect(loadDataset('imagenet', { split: 'train' })).rejects.toThrow(/unknown dataset "imagenet"/);
  });
});
