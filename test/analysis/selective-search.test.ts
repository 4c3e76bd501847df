import {
  felzenszwalb,
  felzenszwalbLiteral,
  hierarchicalGrouping,
  hierarchicalGroupingLiteral,
  rankProposals,
  selectiveSearch,
} from '../../lib/analysis/selective-search';
import { Rng } from '../../lib/util/rng';

/** A w x h RGB image of vertical flat stripes, one colour per stripe (each stripe w / colours.length wide). */
function stripes(colours: number[][], w: number, h: number): Uint8Array {
  const img = new Uint8Array(w * h * 3);
  const sw = w / colours.length;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.set(colours[Math.floor(x / sw)], (y * w + x) * 3);
  return img;
}

/** Random rectangles of random colours on a random background, with mild noise: many segments, few ties. */
function blobs(seed: number, size: number): Uint8Array {
  const rng = new Rng(seed);
  const img = new Uint8Array(size * size * 3);
  const bg = [rng.int(256), rng.int(256), rng.int(256)];
  for (let p = 0; p < size * size; p++) img.set(bg, p * 3);
  for (let r = 0; r < 6; r++) {
    const [x0, y0] = [rng.int(size - 3), rng.int(size - 3)];
    const [x1, y1] = [x0 + 2 + rng.int(size - x0 - 2), y0 + 2 + rng.int(size - y0 - 2)];
    const col = [rng.int(256), rng.int(256), rng.int(256)];
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) img.set(col, (y * size + x) * 3);
  }
  for (let i = 0; i < img.length; i++) img[i] = Math.max(0, Math.min(255, img[i] + rng.int(9) - 4));
  return img;
}

describe('Felzenszwalb-Huttenlocher segmentation', () => {
  it('splits two flat halves into two segments (hand-worked: inside edges weigh 0, the boundary edges ~283 > k/|C|)', () => {
    const img = stripes(
      [
        [200, 0, 0],
        [0, 0, 200],
      ],
      8,
      8,
    );
    const seg = felzenszwalb(img, 8, 8, 3, { k: 100, sigma: 0, minSize: 1 });
    expect(seg.count).toBe(2);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(seg.labels[y * 8 + x]).toBe(x < 4 ? 0 : 1);
  });

  it('merges segments below minSize into a neighbour', () => {
    const img = stripes(
      [
        [200, 0, 0],
        [0, 0, 200],
      ],
      8,
      8,
    );
    img.set([0, 200, 0], (3 * 8 + 1) * 3); // one green pixel in the red half
    expect(felzenszwalb(img, 8, 8, 3, { k: 1, sigma: 0, minSize: 1 }).count).toBe(3);
    expect(felzenszwalb(img, 8, 8, 3, { k: 1, sigma: 0, minSize: 2 }).count).toBe(2);
  });

  it('equals the literal twin on random images', () => {
    for (const seed of [1, 2, 3]) {
      const img = blobs(seed, 16);
      for (const k of [20, 200]) {
        const fast = felzenszwalb(img, 16, 16, 3, { k, minSize: 5 });
        const slow = felzenszwalbLiteral(img, 16, 16, 3, { k, minSize: 5 });
        expect(fast.count).toBe(slow.count);
        expect(Array.from(fast.labels)).toEqual(Array.from(slow.labels));
      }
    }
  });
});

describe('hierarchical grouping', () => {
  it('two halves: the two segments and their union (hand-worked)', () => {
    const h = hierarchicalGrouping(
      stripes(
        [
          [200, 0, 0],
          [0, 0, 200],
        ],
        8,
        8,
      ),
      8,
      8,
      3,
      { sigma: 0, minSize: 1 },
    );
    expect(h.regions.map((r) => r.box)).toEqual([
      [0, 0, 4, 8],
      [4, 0, 8, 8],
      [0, 0, 8, 8],
    ]);
    expect(h.regions[2].children).toEqual([0, 1]);
    expect(h.regions[2].size).toBe(64);
  });

  it('merges the two stripes of the same colour bin first (colour similarity 1 against 1/3), then the third', () => {
    // 200 and 202 share bin 19 of 25 on the red channel; blue shares only the empty green channel's bin with red.
    const h = hierarchicalGrouping(
      stripes(
        [
          [200, 0, 0],
          [202, 0, 0],
          [0, 0, 200],
        ],
        12,
        6,
      ),
      6,
      12,
      3,
      { sigma: 0, minSize: 1, k: 1 },
    );
    expect(h.segmentation.count).toBe(3);
    expect(h.regions[3].children).toEqual([0, 1]);
    expect(h.regions[4].children).toEqual([2, 3]);
  });

  it('equals the literal twin (boxes, sizes, merge order) on random images', () => {
    for (const seed of [4, 5]) {
      const img = blobs(seed, 16);
      const fast = hierarchicalGrouping(img, 16, 16, 3, { k: 50, minSize: 4 });
      const slow = hierarchicalGroupingLiteral(img, 16, 16, 3, { k: 50, minSize: 4 });
      expect(fast.regions.length).toBeGreaterThan(3);
      expect(fast.regions).toEqual(slow.regions);
    }
  });
});

describe('selective search proposals', () => {
  it('ranks by hierarchy position times a seeded random number, drops duplicates and tiny boxes', () => {
    const regions = [
      { box: [0, 0, 2, 2] as const, size: 4, children: [-1, -1] as [number, number] },
      { box: [0, 0, 8, 8] as const, size: 60, children: [-1, -1] as [number, number] },
      { box: [0, 0, 8, 8] as const, size: 64, children: [0, 1] as [number, number] },
    ];
    const boxes = rankProposals(regions, new Rng(0), { minSide: 4 });
    expect(boxes).toEqual([[0, 0, 8, 8]]);
  });

  it('gives the same boxes for the same seed and boxes inside the image', () => {
    const img = blobs(9, 24);
    const a = selectiveSearch(img, 24, 24, 3, new Rng(1), { k: 50, minSize: 4 });
    const b = selectiveSearch(img, 24, 24, 3, new Rng(1), { k: 50, minSize: 4 });
    expect(a).toEqual(b);
    expect(a.length).toBeGreaterThan(3);
    for (const [x0, y0, x1, y1] of a) expect(x0 >= 0 && y0 >= 0 && x1 <= 24 && y1 <= 24 && x1 - x0 >= 4 && y1 - y0 >= 4).toBe(true);
  });
});
