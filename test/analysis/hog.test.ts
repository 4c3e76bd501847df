import { cropResize, hog, hogLength } from '../../lib/analysis/hog';

/** An 8x8 grey image with a vertical step edge between columns 3 and 4 (0 left, 1 right). */
function stepImage(vertical: boolean): Float32Array {
  const img = new Float32Array(64);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) img[y * 8 + x] = (vertical ? x : y) >= 4 ? 1 : 0;
  return img;
}

describe('hog', () => {
  it('has the Dalal-Triggs length: blocks x cells per block x bins', () => {
    expect(hogLength(16, 16, { cell: 4 })).toBe(3 * 3 * 4 * 9);
    expect(hog(new Float32Array(16 * 16 * 3), 16, 16, 3, { cell: 4 }).length).toBe(324);
  });

  it(
    'puts a vertical edge (horizontal gradient, 0 deg) half in bin 0 and half in bin 8, as interpolation between centres at 10 and 170 ' +
      'deg',
    () => {
      // Gradient angle 0 lies between the centres of bin 8 (170 deg) and bin 0 (10 deg, wrapping): half to each.
      const d = hog(stepImage(true), 8, 8, 1, { cell: 4, block: 2, clip: 1 });
      // One block of 4 cells; the edge pixels (columns 3 and 4, gradient 1 each) are in the left and right cells.
      const cells = [0, 1, 2, 3].map((c) => Array.from(d.subarray(c * 9, c * 9 + 9)));
      for (const cell of cells) {
        expect(cell[0]).toBeCloseTo(cell[8], 6);
        for (let b = 1; b < 8; b++) expect(cell[b]).toBe(0);
      }
      // Every cell holds 4 edge pixels of magnitude 1 (column 3 or 4): equal cells, each 1/2 after L2 normalisation.
      const norm = Math.sqrt(cells.flat().reduce((s, v) => s + v * v, 0));
      expect(norm).toBeCloseTo(1, 5);
      expect(cells[0][0]).toBeCloseTo(Math.sqrt(1 / 8), 5);
    },
  );

  it('puts a horizontal edge (vertical gradient, 90 deg) wholly in bin 4, whose centre is 90 deg', () => {
    const d = hog(stepImage(false), 8, 8, 1, { cell: 4, block: 2, clip: 1 });
    for (let c = 0; c < 4; c++) for (let b = 0; b < 9; b++) expect(d[c * 9 + b]).toBeCloseTo(b === 4 ? Math.sqrt(1 / 4) : 0, 6);
  });

  it('L2-Hys clips a single dominant bin at 0.2 before renormalising', () => {
    const d = hog(stepImage(true), 8, 8, 1, { cell: 4, block: 2, clip: 0.2 });
    // 8 equal non-zero entries of 1/sqrt(8) = 0.354 are clipped to 0.2, then renormalised to 1/sqrt(8) again.
    expect(d[0]).toBeCloseTo(Math.sqrt(1 / 8), 5);
  });

  it('rejects windows smaller than a block', () => {
    expect(() => hog(new Float32Array(16), 4, 4, 1, { cell: 4 })).toThrow(/fewer than one 2x2 block/);
  });
});

describe('cropResize', () => {
  it('copies a box at its own size and averages 2x2 blocks when halving (hand-worked)', () => {
    const img = Float32Array.from({ length: 16 }, (_, i) => i); // 4x4 grey, value = index
    expect(Array.from(cropResize(img, 4, 1, [1, 1, 3, 3], 2, 2))).toEqual([5, 6, 9, 10]);
    // Halving: the sample at (0.5, 0.5) of the box is the mean of its 2x2 block.
    expect(Array.from(cropResize(img, 4, 1, [0, 0, 4, 4], 2, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });
});
