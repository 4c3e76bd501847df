/**
 * A tiny raster engine for the synthetic worlds: filled shapes with hard edges (no anti-aliasing), painted by a
 * colour function and written at the same time into an RGB buffer and a uint8 label map. Because one loop writes
 * both, a part's mask is exactly the set of pixels its paint covers (later shapes overwrite earlier ones, so masks
 * show the visible part).
 *
 * Shapes are defined in a local frame (u, v) and placed by an affine map local -> pixel; a pixel (x, y) is inside a
 * shape when its centre (x + 0.5, y + 0.5), mapped back to (u, v), passes the shape's inside test.
 */

/** A colour packed as 0xRRGGBB. */
export type Rgb = number;

/** Colour at local (u, v) and pixel (x, y). */
export type Paint = (u: number, v: number, x: number, y: number) => Rgb;

export interface Shape {
  /** Local bounding box [u0, v0, u1, v1]. */
  bbox: [number, number, number, number];
  inside(u: number, v: number): boolean;
  /** Set when the shape is exactly its bbox (an axis-aligned rectangle): lets `fill` skip the inside test. */
  isRect?: boolean;
}

/** Affine map local -> pixel: x = a*u + b*v + tx, y = c*u + d*v + ty. */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  tx: number;
  ty: number;
}

export const IDENTITY: Affine = { a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0 };

/** Scale `s`, rotate by `angle` radians, mirror u when `flip`, then translate to (tx, ty). */
export function placement(s: number, angle: number, flip: boolean, tx: number, ty: number): Affine {
  const cos = Math.cos(angle) * s;
  const sin = Math.sin(angle) * s;
  const f = flip ? -1 : 1;
  return { a: cos * f, b: -sin, c: sin * f, d: cos, tx, ty };
}

/** Composition: first `inner`, then `outer`. */
export function compose(outer: Affine, inner: Affine): Affine {
  return {
    a: outer.a * inner.a + outer.b * inner.c,
    b: outer.a * inner.b + outer.b * inner.d,
    c: outer.c * inner.a + outer.d * inner.c,
    d: outer.c * inner.b + outer.d * inner.d,
    tx: outer.a * inner.tx + outer.b * inner.ty + outer.tx,
    ty: outer.c * inner.tx + outer.d * inner.ty + outer.ty,
  };
}

export function rgb(r: number, g: number, b: number): Rgb {
  return ((r & 255) << 16) | ((g & 255) << 8) | (b & 255);
}

/** Eight colours far apart (black, the primaries and secondaries, white): the worlds' 'flat' test mode paints label i in colour i. */
export const FLAT_COLOURS: Rgb[] = [
  rgb(0, 0, 0),
  rgb(255, 0, 0),
  rgb(0, 255, 0),
  rgb(0, 0, 255),
  rgb(255, 255, 0),
  rgb(255, 0, 255),
  rgb(0, 255, 255),
  rgb(255, 255, 255),
];

/** Channel-wise mix of two colours, t in [0,1] (0 gives `p`). */
export function mix(p: Rgb, q: Rgb, t: number): Rgb {
  const r = ((p >> 16) & 255) * (1 - t) + ((q >> 16) & 255) * t;
  const g = ((p >> 8) & 255) * (1 - t) + ((q >> 8) & 255) * t;
  const b = (p & 255) * (1 - t) + (q & 255) * t;
  return rgb(Math.round(r), Math.round(g), Math.round(b));
}

/** Multiplies each channel by `f` (clamped). */
export function shade(p: Rgb, f: number): Rgb {
  let r = Math.round(((p >> 16) & 255) * f);
  let g = Math.round(((p >> 8) & 255) * f);
  let b = Math.round((p & 255) * f);
  r = r < 0 ? 0 : r > 255 ? 255 : r;
  g = g < 0 ? 0 : g > 255 ? 255 : g;
  b = b < 0 ? 0 : b > 255 ? 255 : b;
  return (r << 16) | (g << 8) | b;
}

/** An integer hash of (x, y, seed) in [0, 1): deterministic value noise without consuming an Rng. */
export function hash2(x: number, y: number, seed: number): number {
  let h = Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul(y | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

/** RGB image plus label map, both H x W, row-major. */
export class Canvas {
  readonly rgb: Uint8Array;
  readonly labels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    rgbBuffer?: Uint8Array,
    labelBuffer?: Uint8Array,
  ) {
    this.rgb = rgbBuffer ?? new Uint8Array(width * height * 3);
    this.labels = labelBuffer ?? new Uint8Array(width * height);
  }

  /** Paints every pixel (label 0 unless given). */
  fillAll(paint: Paint, label = 0): void {
    const { width, height, rgb: out, labels } = this;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const c = paint(x + 0.5, y + 0.5, x, y);
        const p = (y * width + x) * 3;
        out[p] = (c >> 16) & 255;
        out[p + 1] = (c >> 8) & 255;
        out[p + 2] = c & 255;
        labels[y * width + x] = label;
      }
    }
  }

  /** Paints every pixel of row y with `colourOfRow(y)` (fast backgrounds: gradients, bands); label 0 unless given. */
  fillRows(colourOfRow: (y: number) => Rgb, label = 0): void {
    const { width, height, rgb: out, labels } = this;
    for (let y = 0; y < height; y++) {
      const c = colourOfRow(y);
      const r = (c >> 16) & 255;
      const g = (c >> 8) & 255;
      const b = c & 255;
      for (let x = 0, p = y * width * 3; x < width; x++, p += 3) {
        out[p] = r;
        out[p + 1] = g;
        out[p + 2] = b;
      }
    }
    labels.fill(label);
  }

  /**
   * Fills `shape` placed by `m`; writes `label` into the label map for every painted pixel unless label < 0
   * (then the label map is left alone: paint-only detail such as a pattern drawn over a part). Returns the number
   * of pixels painted.
   */
  fill(shape: Shape, m: Affine, paint: Paint, label: number): number {
    const { width, height, rgb: out, labels } = this;
    const det = m.a * m.d - m.b * m.c;
    if (Math.abs(det) < 1e-12) return 0;
    // Inverse map pixel -> local.
    const ia = m.d / det;
    const ib = -m.b / det;
    const ic = -m.c / det;
    const id = m.a / det;
    const [u0, v0, u1, v1] = shape.bbox;
    let xmin = Infinity;
    let xmax = -Infinity;
    let ymin = Infinity;
    let ymax = -Infinity;
    for (const [u, v] of [
      [u0, v0],
      [u1, v0],
      [u0, v1],
      [u1, v1],
    ]) {
      const x = m.a * u + m.b * v + m.tx;
      const y = m.c * u + m.d * v + m.ty;
      if (x < xmin) xmin = x;
      if (x > xmax) xmax = x;
      if (y < ymin) ymin = y;
      if (y > ymax) ymax = y;
    }
    const x0 = Math.max(0, Math.floor(xmin));
    const x1 = Math.min(width - 1, Math.ceil(xmax));
    const y0 = Math.max(0, Math.floor(ymin));
    const y1 = Math.min(height - 1, Math.ceil(ymax));
    const colour = (paint as { colour?: Rgb }).colour;
    if (shape.isRect && m.b === 0 && m.c === 0 && m.a > 0 && m.d > 0) return this.fillRect(shape, m, paint, colour, label);
    let count = 0;
    for (let y = y0; y <= y1; y++) {
      const py = y + 0.5 - m.ty;
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5 - m.tx;
        const u = ia * px + ib * py;
        const v = ic * px + id * py;
        if (!shape.inside(u, v)) continue;
        const c = colour ?? paint(u, v, x, y);
        const p = (y * width + x) * 3;
        out[p] = (c >> 16) & 255;
        out[p + 1] = (c >> 8) & 255;
        out[p + 2] = c & 255;
        if (label >= 0) labels[y * width + x] = label;
        count++;
      }
    }
    return count;
  }

  /** `fill` for an axis-aligned rectangle under a positive scale + translation: same pixels, no inside test. */
  private fillRect(shape: Shape, m: Affine, paint: Paint, colour: Rgb | undefined, label: number): number {
    const { width, height, rgb: out, labels } = this;
    const [u0, v0, u1, v1] = shape.bbox;
    // Pixel x is inside when u0 <= (x + 0.5 - tx) / a < u1, i.e. x in [ceil(a*u0 + tx - 0.5), ceil(a*u1 + tx - 0.5)).
    const x0 = Math.max(0, Math.ceil(m.a * u0 + m.tx - 0.5));
    const x1 = Math.min(width, Math.ceil(m.a * u1 + m.tx - 0.5));
    const y0 = Math.max(0, Math.ceil(m.d * v0 + m.ty - 0.5));
    const y1 = Math.min(height, Math.ceil(m.d * v1 + m.ty - 0.5));
    if (x1 <= x0 || y1 <= y0) return 0;
    const ia = 1 / m.a;
    const id = 1 / m.d;
    for (let y = y0; y < y1; y++) {
      const v = (y + 0.5 - m.ty) * id;
      for (let x = x0, p = (y * width + x0) * 3; x < x1; x++, p += 3) {
        const c = colour ?? paint((x + 0.5 - m.tx) * ia, v, x, y);
        out[p] = (c >> 16) & 255;
        out[p + 1] = (c >> 8) & 255;
        out[p + 2] = c & 255;
      }
      if (label >= 0) labels.fill(label, y * width + x0, y * width + x1);
    }
    return (x1 - x0) * (y1 - y0);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Shapes (local frame)

/** Ellipse centred at (cx, cy) with radii (rx, ry), rotated by `angle` radians. */
export function ellipse(cx: number, cy: number, rx: number, ry: number, angle = 0): Shape {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const r = Math.max(rx, ry);
  const irx2 = 1 / (rx * rx);
  const iry2 = 1 / (ry * ry);
  return {
    bbox: [cx - r, cy - r, cx + r, cy + r],
    inside(u, v) {
      const du = u - cx;
      const dv = v - cy;
      const a = du * cos + dv * sin;
      const b = -du * sin + dv * cos;
      return a * a * irx2 + b * b * iry2 <= 1;
    },
  };
}

/** Axis-aligned rectangle [u0, u1) x [v0, v1). */
export function rect(u0: number, v0: number, u1: number, v1: number): Shape {
  return {
    bbox: [u0, v0, u1, v1],
    inside: (u, v) => u >= u0 && u < u1 && v >= v0 && v < v1,
    isRect: true,
  };
}

/** Polygon (any simple or self-intersecting one; even-odd rule), points as [u, v] pairs. */
export function polygon(points: readonly (readonly [number, number])[]): Shape {
  const us = points.map((p) => p[0]);
  const vs = points.map((p) => p[1]);
  const n = points.length;
  return {
    bbox: [Math.min(...us), Math.min(...vs), Math.max(...us), Math.max(...vs)],
    inside(u, v) {
      let inside = false;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const vi = vs[i];
        const vj = vs[j];
        if (vi > v !== vj > v && u < ((us[j] - us[i]) * (v - vi)) / (vj - vi) + us[i]) inside = !inside;
      }
      return inside;
    },
  };
}

/** A thick segment from (u0, v0) to (u1, v1) with half-width r and round caps. */
export function capsule(u0: number, v0: number, u1: number, v1: number, r: number): Shape {
  const du = u1 - u0;
  const dv = v1 - v0;
  const len2 = du * du + dv * dv || 1e-12;
  const r2 = r * r;
  return {
    bbox: [Math.min(u0, u1) - r, Math.min(v0, v1) - r, Math.max(u0, u1) + r, Math.max(v0, v1) + r],
    inside(u, v) {
      let t = ((u - u0) * du + (v - v0) * dv) / len2;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const eu = u - u0 - t * du;
      const ev = v - v0 - t * dv;
      return eu * eu + ev * ev <= r2;
    },
  };
}

/** Points of a regular star (or polygon when inner == outer) with k tips. */
export function starPoints(cx: number, cy: number, outer: number, inner: number, k: number, angle = -Math.PI / 2): [number, number][] {
  const pts: [number, number][] = [];
  for (let i = 0; i < 2 * k; i++) {
    const r = i % 2 === 0 ? outer : inner;
    const a = angle + (i * Math.PI) / k;
    pts.push([cx + r * Math.cos(a), cy + r * Math.sin(a)]);
  }
  return pts;
}

/** Union of shapes. */
export function union(...shapes: Shape[]): Shape {
  return {
    bbox: [
      Math.min(...shapes.map((s) => s.bbox[0])),
      Math.min(...shapes.map((s) => s.bbox[1])),
      Math.max(...shapes.map((s) => s.bbox[2])),
      Math.max(...shapes.map((s) => s.bbox[3])),
    ],
    inside(u, v) {
      for (let i = 0; i < shapes.length; i++) if (shapes[i].inside(u, v)) return true;
      return false;
    },
  };
}

/** Pixels of `a` not in `b`. */
export function difference(a: Shape, b: Shape): Shape {
  return { bbox: a.bbox, inside: (u, v) => a.inside(u, v) && !b.inside(u, v) };
}

// ---------------------------------------------------------------------------------------------------------------
// Paints (local frame, so patterns move with the object)

/** One colour everywhere (carries `colour`, so fills skip the per-pixel call). */
export function solid(c: Rgb): Paint {
  const paint: Paint = () => c;
  (paint as Paint & { colour?: Rgb }).colour = c;
  return paint;
}

/** Stripes of period `period` (local units) across direction `angle`; the first `duty` of a period is `c2`. */
export function stripes(c1: Rgb, c2: Rgb, period: number, angle = 0, duty = 0.5): Paint {
  const cos = Math.cos(angle) / period;
  const sin = Math.sin(angle) / period;
  return (u, v) => {
    const t = u * cos + v * sin;
    return t - Math.floor(t) < duty ? c2 : c1;
  };
}

/** Dots of radius `r` on a (staggered) grid of spacing `s`. */
export function spots(c1: Rgb, c2: Rgb, s: number, r: number): Paint {
  const r2 = r * r;
  return (u, v) => {
    const row = Math.floor(v / s);
    const shift = row % 2 === 0 ? 0 : s / 2;
    const du = ((((u + shift) % s) + s) % s) - s / 2;
    const dv = (((v % s) + s) % s) - s / 2;
    return du * du + dv * dv <= r2 ? c2 : c1;
  };
}

/** Checkerboard of cell size `s`. */
export function checker(c1: Rgb, c2: Rgb, s: number): Paint {
  return (u, v) => ((Math.floor(u / s) + Math.floor(v / s)) & 1 ? c2 : c1);
}

/** Vertical gradient from `top` (v = v0) to `bottom` (v = v1). */
export function vgradient(top: Rgb, bottom: Rgb, v0: number, v1: number): Paint {
  let lastV = NaN;
  let last = top;
  return (_u, v) => {
    if (v !== lastV) {
      lastV = v;
      last = mix(top, bottom, Math.max(0, Math.min(1, (v - v0) / (v1 - v0))));
    }
    return last;
  };
}

/** `base` with per-pixel brightness jitter of +-amount (deterministic from `seed`). */
export function speckle(base: Paint, amount: number, seed: number): Paint {
  return (u, v, x, y) => shade(base(u, v, x, y), 1 + amount * (2 * hash2(x, y, seed) - 1));
}

/** Brick courses: rows of height `h`, bricks of width `w`, mortar of width `m`, each brick's shade jittered. */
export function bricks(brick: Rgb, mortar: Rgb, w: number, h: number, m: number, seed: number): Paint {
  // Neighbouring pixels mostly fall in the same brick: remember the last brick's colour.
  let lastCol = NaN;
  let lastRow = NaN;
  let last = brick;
  return (u, v) => {
    const row = Math.floor(v / h);
    const uu = u + (row & 1 ? w / 2 : 0);
    const col = Math.floor(uu / w);
    const fu = uu - col * w;
    const fv = v - row * h;
    if (fu < m || fv < m) return mortar;
    if (col !== lastCol || row !== lastRow) {
      lastCol = col;
      lastRow = row;
      last = shade(brick, 0.85 + 0.3 * hash2(col, row, seed));
    }
    return last;
  };
}
