import { Rng, hashString } from '../../lib/util/rng';

describe('Rng', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 20 }, () => a.nextU32());
    expect(Array.from({ length: 20 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 20 }, () => c.nextU32())).not.toEqual(sa);
  });

  it('draws floats in [0,1) with a mean near 1/2 and integers within bounds', () => {
    const rng = new Rng(1);
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      sum += x;
    }
    expect(Math.abs(sum / 10000 - 0.5)).toBeLessThan(0.02);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 5000; i++) counts[rng.int(5)]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
    expect(() => rng.int(0)).toThrow(/positive integer/);
  });

  it('normal samples have mean 0 and standard deviation 1', () => {
    const rng = new Rng(7);
    const xs = Array.from({ length: 20000 }, () => rng.normal());
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });

  it('permutation holds every index once', () => {
    const p = new Rng(3).permutation(100);
    expect([...p].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('fork gives independent streams without advancing the parent', () => {
    const parent = new Rng(5);
    const before = parent.state();
    const f1 = parent.fork('a');
    const f2 = parent.fork('b');
    expect(parent.state()).toEqual(before);
    expect(f1.nextU32()).not.toEqual(f2.nextU32());
    expect(new Rng(5).fork('a').nextU32()).toEqual(new Rng(5).fork('a').nextU32());
  });

  it('state/setState resumes the exact sequence', () => {
    const rng = new Rng(9);
    rng.nextU32();
    const saved = rng.state();
    const expected = [rng.nextU32(), rng.nextU32()];
    const other = new Rng(0);
    other.setState(saved);
    expect([other.nextU32(), other.nextU32()]).toEqual(expected);
    expect(() => other.setState([1, 2])).toThrow(/4 integers/);
  });

  it('string seeds hash deterministically (FNV-1a)', () => {
    expect(hashString('')).toBe(0x811c9dc5);
    expect(hashString('a')).toBe(0xe40c292c);
    expect(new Rng('x').nextU32()).toBe(new Rng('x').nextU32());
  });
});
