/** Share of the pixels of the square [y, y+size) x [x, x+size) that are 1 in `mask` ([side*side]). */
export function maskShare(mask: ArrayLike<number>, side: number, y: number, x: number, size: number): number {
  let s = 0;
  for (let r = y; r < y + size; r++) for (let c = x; c < x + size; c++) s += mask[r * side + c];
  return s / (size * size);
}
