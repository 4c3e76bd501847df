import * as tf from '@tensorflow/tfjs';
import { Dataset } from '../../lib/data/dataset';
import { buildModel } from '../../lib/models/index';
import { validateClaims } from '../../lib/report/claims';
import { getStudy } from '../../lib/studies/index';
import { differenceInterval, plateauClaim, plateauEpoch, shiftClaims } from '../../lib/studies/shift-invariance/claims';
import { CLAIM_RULES, SHIFT_CONFIGS, ShiftStudyConfig } from '../../lib/studies/shift-invariance/config';
import { ANCHOR_NAMES, LAYER_ROLES, shiftMaps } from '../../lib/studies/shift-invariance/maps';
import { pastedSet, ShiftWorld, splitPerClass } from '../../lib/studies/shift-invariance/session';
import { ConditionSummary, fallOff, summarise, VariantSummary } from '../../lib/studies/shift-invariance/summary';
import { SCALES } from '../../lib/studies/types';
import { Rng } from '../../lib/util/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
  process.env.TESSERA_PROGRESS = '0';
});

/** Grey 8x8 items (a bright square of side 2 + label), one per label. */
function items(n: number): Dataset {
  const images = new Uint8Array(n * 64);
  for (let k = 0; k < n; k++) for (let y = 2; y < 4 + (k % 3); y++) for (let x = 2; x < 5; x++) images[k * 64 + y * 8 + x] = 200;
  return new Dataset({
    name: 'toy',
    split: 'test',
    images,
    labels: Int32Array.from({ length: n }, (_, k) => k % 2),
    height: 8,
    width: 8,
    channels: 1,
    classNames: ['a', 'b'],
  });
}

describe('shift-invariance configs and registry', () => {
  it("every scale has its conditions, filters with a baseline and the claims' anti-aliasing, grids big enough for the stride", () => {
    for (const s of SCALES) {
      const c = SHIFT_CONFIGS[s];
      expect(c.filters).toContain('none');
      expect(c.filters).toContain(CLAIM_RULES.antialias);
      // periodicPeak at stride 4 needs at least 9 positions per axis.
      for (const cond of c.conditions) expect(c.canvas - cond.objectSize + 1).toBeGreaterThanOrEqual(9);
      expect(c.probe.objects).toBeLessThanOrEqual(c.objects);
      expect(['fashion-mnist', 'shapes']).toContain(c.source);
      expect(c.train.sizes.sort()).toEqual(
        c.conditions
          .map((d) => d.objectSize)
          .filter((v, i, all) => all.indexOf(v) === i)
          .sort(),
      );
    }
    expect(getStudy('shift-invariance').notebook).toBe('notebooks/04-shift-invariance.ipynb');
  });
});

describe('fallOff', () => {
  it('is positive for a map falling with the distance from the anchor, 0 for a flat map (hand-worked 3x3)', () => {
    // Distance from the centre: 0 (centre), 1 (4 edges), sqrt 2 (4 corners). Thirds of 9 positions: 3 nearest
    // (centre + 2 edges, ties by index), 3 farthest (corners 2, 6, 8).
    const map = [0.5, 0.9, 0.5, 0.9, 1, 0.9, 0.5, 0.9, 0.5];
    expect(fallOff(map, 3, 1, 1)).toBeCloseTo((1 + 0.9 + 0.9) / 3 - 0.5, 9);
    expect(fallOff(new Array(9).fill(0.7), 3, 1, 1)).toBeCloseTo(0, 12);
  });
});

describe('pastedSet', () => {
  it('pastes every item once per size and background, with its label, deterministically', () => {
    const src = items(4);
    const a = pastedSet(src, 12, [4, 6], ['white'], 0, new Rng(1));
    expect(a.size).toBe(8);
    expect(a.imageShape).toEqual([12, 12, 3]);
    expect(Array.from(a.labels).sort()).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const b = pastedSet(src, 12, [4, 6], ['white'], 0, new Rng(1));
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
  });
  it('pastes seeded synthetic shapes (class k % 10), and another seed gives other objects of the same classes', () => {
    const a = pastedSet({ shapes: 20, seed: 5, split: 'train' }, 16, [8], ['white'], 0, new Rng(1));
    expect(a.size).toBe(20);
    expect(Array.from(a.labels)).toEqual(Array.from({ length: 20 }, (_, k) => k % 10));
    expect(a.classNames).toHaveLength(10);
    expect(a.split).toBe('train');
    // Every image shows an object: some pixels differ from the white background.
    for (let k = 0; k < a.size; k++) expect(a.images.subarray(k * 768, (k + 1) * 768).some((v) => v !== 255)).toBe(true);
    const same = pastedSet({ shapes: 20, seed: 5, split: 'train' }, 16, [8], ['white'], 0, new Rng(1));
    const other = pastedSet({ shapes: 20, seed: 6, split: 'train' }, 16, [8], ['white'], 0, new Rng(1));
    expect(Buffer.from(a.images).equals(Buffer.from(same.images))).toBe(true);
    expect(Buffer.from(a.images).equals(Buffer.from(other.images))).toBe(false);
    expect(Array.from(other.labels)).toEqual(Array.from(a.labels));
  });
});

/** A world of two untrained tiny models on 2 toy items, canvas 12, objects 4 px (9 x 9 positions). */
function tinyWorld(): ShiftWorld {
  const base = SHIFT_CONFIGS.quick;
  const config: ShiftStudyConfig = {
    ...base,
    canvas: 12,
    objects: 2,
    conditions: [{ name: 'tiny', label: 'tiny', objectSize: 4, background: 'white' }],
    probe: { objects: 1, folds: 3, ridge: 1 },
    seeds: 1,
  };
  const arch = base.architectures[1];
  const models = (['none', 'bin-5'] as const).map((antialias) => {
    const model = buildModel({ ...arch.config, antialias, widths: [4, 4, 4] }, { inputShape: [12, 12, 3], numClasses: 2 }, new Rng(3));
    const variant = `${arch.key}-${antialias}`;
    return {
      key: `${variant}-s0`,
      variant,
      label: variant,
      arch,
      antialias,
      seed: 0,
      model,
      stride: 4,
      params: 0,
      heldOutAccuracy: 0,
      valCurve: [0.5],
      trainSeconds: 0,
      fromCache: false,
    };
  });
  const ctx = { study: 'shift-invariance', scale: 'quick' as const, seed: 0, outRoot: '/tmp', out: '/tmp/x' };
  const session = { ctx, config, engine: { backend: 'cpu', threads: 1, detail: 'cpu' }, rng: new Rng(0) };
  const toy = items(2);
  return { session, train: toy, val: toy, heldOut: toy, items: toy, models, seconds: {} } as unknown as ShiftWorld;
}

describe('shiftMaps and summarise on untrained tiny models', () => {
  it('every anchor has cosine 1 with itself, maps cover the grid, the probe runs on the first objects only', async () => {
    const world = tinyWorld();
    const cm = await shiftMaps(world, 'tiny');
    expect(cm.side).toBe(9);
    expect(cm.anchors.map((a) => a.name)).toEqual([...ANCHOR_NAMES]);
    for (const m of world.models) {
      const objs = cm.models[m.key];
      expect(objs).toHaveLength(2);
      for (const o of objs) {
        for (const r of LAYER_ROLES) {
          cm.anchors.forEach((a, k) => {
            expect(o.cos[r][k]).toHaveLength(81);
            expect(o.cos[r][k][a.j * 9 + a.i]).toBeCloseTo(1, 5);
          });
        }
        expect(o.top1).toHaveLength(81);
        for (const p of o.prob) expect(p).toBeGreaterThanOrEqual(0);
      }
      expect(objs.filter((o) => o.probe)).toHaveLength(1);
    }
    const { summary, averages } = summarise(world, cm);
    expect(summary.variants.map((v) => v.variant)).toEqual(['gap-none', 'gap-bin-5']);
    expect(summary.variants[0].probe.penultimate).toHaveLength(1);
    expect(averages.cos['gap-none'].logits[2][cm.anchors[2].j * 9 + cm.anchors[2].i]).toBeCloseTo(1, 5);
    for (const m of world.models) m.model.dispose();
  });
  it('refuses an unknown condition, naming the known ones', async () => {
    await expect(shiftMaps(tinyWorld(), 'huge')).rejects.toThrow(/no condition "huge" at this scale; expected one of tiny/);
  });
});

/** A summary of two architectures x (baseline, AA) with per-object values given by `f(variant, measure, object)`. */
function summaryOf(condition: string, objectSize: number, f: (variant: string, measure: string, o: number) => number): ConditionSummary {
  const n = 12;
  const values = (variant: string, measure: string) => Array.from({ length: n }, (_, o) => f(variant, measure, o));
  const variant = (arch: string, antialias: 'none' | 'bin-5'): VariantSummary => {
    const v = `${arch}-${antialias}`;
    const perLayer = <T>(g: () => T) => ({ early: g(), penultimate: g(), logits: g() });
    const meanCos = perLayer(
      () => Object.fromEntries(ANCHOR_NAMES.map((a) => [a, values(v, `cos-${a}`)])) as Record<(typeof ANCHOR_NAMES)[number], number[]>,
    );
    return {
      variant: v,
      label: v,
      arch,
      antialias,
      stride: 4,
      meanCos,
      corners: perLayer(() => values(v, 'corners')),
      fallOff: perLayer(() => values(v, 'falloff')),
      localVariation: perLayer(() => values(v, 'localvar')),
      periodicPeak: perLayer(() => values(v, 'peak')),
      consistency: values(v, 'consistency'),
      accuracy: values(v, 'accuracy'),
      meanProb: values(v, 'prob'),
      minProb: values(v, 'prob'),
      probe: { penultimate: values(v, 'probe'), logits: values(v, 'probe') },
      probeAxes: {
        penultimate: { rows: values(v, 'probe'), columns: values(v, 'probe') },
        logits: { rows: values(v, 'probe'), columns: values(v, 'probe') },
      },
    };
  };
  const variants = ['vgg', 'gap'].flatMap((a) => [variant(a, 'none'), variant(a, 'bin-5')]);
  return { condition, label: condition, objectSize, side: 13, objects: n, seeds: 1, variants };
}

describe('shiftClaims', () => {
  const jitter = (o: number) => 0.001 * ((o * 7) % 5);
  // Everything as the paper says: AA lowers variation and the period, raises consistency and C, corners unchanged.
  const good =
    (size: number) =>
    (v: string, m: string, o: number): number => {
      const aa = v.endsWith('bin-5');
      const small = size < 20 ? 0.05 : 0;
      const cos: Record<string, number> = { 'cos-C': 0.97, 'cos-TL': 0.95, 'cos-TR': 0.94, 'cos-BL': 0.94, 'cos-BR': 0.93 };
      if (m in cos) return cos[m] - small + (aa && m === 'cos-C' ? 0.01 : 0) + jitter(o);
      const table: Record<string, number> = {
        corners: 0.94,
        falloff: 0.05,
        localvar: aa ? 0.001 : 0.003,
        peak: aa ? 1.2 : 4,
        consistency: aa ? 0.9 : 0.85,
        accuracy: 0.8,
        prob: 0.7,
        probe: 0.95,
      };
      return table[m] + jitter(o);
    };
  it('all paper claims hold on a summary built to satisfy them, and the claims validate', () => {
    const claims = shiftClaims([summaryOf('large-white', 20, good(20)), summaryOf('small-white', 12, good(12))], 0, 200);
    expect(validateClaims(claims, 'test')).toHaveLength(claims.length);
    for (const c of claims) expect([c.id, c.verdict]).toEqual([c.id, 'holds']);
    expect(claims.map((c) => c.id)).toContain('small-objects-worse');
  });
  it('a large corner change fails "barely changes"; a peak straddling the threshold is inconclusive', () => {
    const moved = (v: string, m: string, o: number) => (m === 'corners' && v.endsWith('bin-5') ? 0.94 + 0.1 : good(20)(v, m, o));
    const claims = shiftClaims([summaryOf('large-white', 20, moved)], 0, 200);
    expect(claims.find((c) => c.id === 'aa-barely-changes-corners')!.verdict).toBe('fails');
    const straddle = (v: string, m: string, o: number) =>
      m === 'peak' && !v.endsWith('bin-5') ? CLAIM_RULES.periodicPeak + (o % 2 ? 1 : -1) : good(20)(v, m, o);
    const c2 = shiftClaims([summaryOf('large-white', 20, straddle)], 0, 200).find((c) => c.id === 'baseline-period-at-stride')!;
    expect(c2.verdict).toBe('inconclusive');
    expect(c2.interval!.low).toBeLessThan(CLAIM_RULES.periodicPeak);
    expect(c2.interval!.high).toBeGreaterThan(CLAIM_RULES.periodicPeak);
  });
});

describe('the plateau check', () => {
  it("differenceInterval is Newcombe's method 10 (his worked example: 56/70 - 48/80 = 0.2, [0.0524, 0.3339])", () => {
    const iv = differenceInterval(56, 70, 48, 80);
    expect(iv.low).toBeCloseTo(0.0524, 3);
    expect(iv.high).toBeCloseTo(0.3339, 3);
  });
  it('compares the last epoch with the end of the first two thirds', () => {
    expect([1, 2, 3, 4, 6, 9].map(plateauEpoch)).toEqual([1, 1, 2, 3, 4, 6]);
  });
  it('holds for a flat curve, fails for one still climbing fast, is inconclusive in between', () => {
    const claim = (curve: number[]) => plateauClaim([{ label: 'm', seed: 0, valCurve: curve, images: 1000 }]);
    expect(claim([0.5, 0.7, 0.75, 0.755]).verdict).toBe('holds');
    expect(claim([0.3, 0.4, 0.5, 0.7]).verdict).toBe('fails');
    expect(claim([0.5, 0.6, 0.7, 0.76]).verdict).toBe('inconclusive');
    expect(claim([0.5, 0.7, 0.75, 0.755]).interval!.over).toMatch(/validation images/);
  });
});

describe('splitPerClass', () => {
  it('keeps the first perClass items of every class for training and the rest for validation', () => {
    const toy = items(8); // labels 0,1,0,1,...
    const { trainItems, valItems } = splitPerClass(toy, 3);
    expect(Array.from(trainItems.labels)).toEqual([0, 1, 0, 1, 0, 1]);
    expect(Array.from(valItems.labels)).toEqual([0, 1]);
    expect(valItems.imageBytes(0)).toEqual(toy.imageBytes(6));
  });
  it('says which class has no item left for validation', () => {
    expect(() => splitPerClass(items(8), 4)).toThrow(/class "a" has 4 items, expected more than the 4 for training/);
  });
});
