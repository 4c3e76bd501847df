import { bagnetKernelFlags } from '../../lib/models/bagnet';
import { buildModel } from '../../lib/models/index';
import { decide, diffOf, Estimate, estimate, formatPart, ratioOf } from '../../lib/studies/bagnet/estimates';
import { modelReceptiveField, plateauGain } from '../../lib/studies/bagnet/models';
import { intactUnits } from '../../lib/studies/bagnet/scrambling';
import { Rng } from '../../lib/util/rng';
import { validateClaims } from '../../lib/report/claims';
import { bagnetClaims } from '../../lib/studies/bagnet/claims';
import { BAGNET_CONFIGS, CLAIM_RULES, PAPER_Q_OVER_SIDE } from '../../lib/studies/bagnet/config';
import { DatasetFigures, figureList } from '../../lib/studies/bagnet/figures';
import type { DatasetResult } from '../../lib/studies/bagnet/results';
import { evalCounts } from '../../lib/studies/bagnet/session';
import { getStudy } from '../../lib/studies/index';
import { Figure, SCALES } from '../../lib/studies/types';

/** An estimate with its interval (level 0.95). */
const est = (value: number, low: number, high: number): Estimate => ({ value, interval: { low, high, level: 0.95, over: 'test images' } });
const engine = { backend: 'cpu', tfjs: '4.22.0', build: 'tfjs 4.22.0' };

/** A hand-made result in which every claim holds; tests then break one thing at a time. */
function goodResult(): DatasetResult {
  const model = (key: string, label: string, kind: string, q: number | null, accuracy: number, rf: number) => ({
    key,
    label,
    kind,
    q,
    receptiveField: rf,
    rfOverSide: rf / 64,
    params: 1,
    epochs: 4,
    lr: 1e-3,
    accuracy,
    accuracyInterval: { low: accuracy - 0.05, high: accuracy + 0.05, level: 0.95, over: 'test images' },
    valCurve: [0.5, 0.7, 0.8, 0.81],
    plateauGain: 0.01,
    trainSeconds: 1,
    fromCache: false,
    engine,
  });
  const models = [
    model('bagnet-q3', 'BagNet-3', 'bagnet', 3, 0.7, 3),
    model('bagnet-q5', 'BagNet-5', 'bagnet', 5, 0.8, 5),
    model('bagnet-q9', 'BagNet-9', 'bagnet', 9, 0.86, 9),
    model('vgg-custom', 'VGG-like', 'cnn', null, 0.9, 76),
    model('resnet-custom', 'ResNet-like', 'cnn', null, 0.91, 81),
  ];
  const keys = models.map((m) => m.key);
  const byKey = <T>(f: (k: string) => T) => Object.fromEntries(keys.map((k) => [k, f(k)]));
  const bagKeys = keys.slice(0, 3);
  const byBag = <T>(f: (k: string) => T) => Object.fromEntries(bagKeys.map((k) => [k, f(k)]));
  const curve = { meanLogit: [3, 2, 1], accuracy: [1, 0.5, 0.2] };
  const names = {
    sweep: 'BagNet-9 heatmap',
    masking: 'BagNet-9 masking',
    methods: { saliency: 'own saliency' },
    random: 'random (2 orders)',
  };
  return {
    dataset: 'toy',
    label: 'toy',
    side: 64,
    trainImages: 10,
    valImages: 2,
    testImages: 10,
    models,
    accuracyComparisons: { riseWithQ: est(0.16, 0.1, 0.2), largestVsVgg: est(-0.04, -0.045, 0.01) },
    patchMeanMaxError: { 'bagnet-q3': 1e-7, 'bagnet-q5': 2e-7, 'bagnet-q9': 0 },
    scramble: {
      tiles: [16, 32, 64],
      compareTile: 32,
      accuracy: byKey(() => [0.5, 0.6, 0.7]),
      intact: byBag(() => [0.5, 0.7, 1]),
      controlAccuracy: byBag(() => [0.5, 0.6, 0.7]),
      drop: byKey((k) => (k.startsWith('bagnet') ? est(0.02, -0.01, 0.05) : est(0.3, 0.2, 0.4))),
      controlDrop: byBag(() => est(0.01, 0, 0.02)),
      deeperMinusShallower: est(0.1, 0.05, 0.15),
    },
    occlusion: {
      distances: [0, 4, 8, 16],
      r: {
        'bagnet-q3': [0.9, 1, 1, 1],
        'bagnet-q5': [0.8, 0.9999, 1, 1],
        'bagnet-q9': [0.5, 0.9, 1, 1],
        'vgg-custom': [0.5, 0.6, 0.7, 0.9],
        'resnet-custom': [0.4, 0.5, 0.6, 0.8],
      },
      interaction: byKey(() => [0.5, 0.4, 0.3, 0.1]),
      farOverNear: { 'vgg-custom': est(0.2, 0.1, 0.3), 'resnet-custom': est(0.3, 0.2, 0.4) },
      far: { 'vgg-custom': est(0.05, 0.03, 0.07), 'resnet-custom': est(0.1, 0.07, 0.13) },
      deeperMinusShallower: est(0.05, 0.01, 0.09),
      farGap: 16,
      pairs: 10,
    },
    removal: {
      ks: [0, 1, 2],
      names,
      curves: { 'bagnet-q9': { [names.sweep]: curve }, 'vgg-custom': { [names.sweep]: curve }, 'resnet-custom': { [names.sweep]: curve } },
      randomMinusSweep: { 'vgg-custom': est(1, 0.5, 1.5), 'resnet-custom': est(1, 0.5, 1.5) },
      randomMinusMasking: { 'vgg-custom': est(1, 0.5, 1.5), 'resnet-custom': est(1, 0.5, 1.5) },
      methodMinusSweep: { 'vgg-custom': { saliency: est(0.5, 0.1, 0.9) }, 'resnet-custom': { saliency: est(-0.5, -0.9, -0.1) } },
      images: 10,
    },
    correlation: {
      perClass: {},
      accuracyR: {},
      logitR: {
        'vgg-custom': { 'bagnet-q3': 0.5, 'bagnet-q5': 0.6, 'bagnet-q9': 0.7 },
        'resnet-custom': { 'bagnet-q3': 0.4, 'bagnet-q5': 0.5, 'bagnet-q9': 0.55 },
      },
      logitRRise: { 'vgg-custom': est(0.2, 0.1, 0.3), 'resnet-custom': est(0.15, 0.05, 0.25) },
    },
    pointing: {
      'bagnet-q3': {
        hitRate: 0.6,
        hitInterval: { low: 0.5, high: 0.7, level: 0.95, over: 'test images (Wilson)' },
        chance: 0.1,
        massOnTarget: 0.3,
        areaFraction: 0.05,
        images: 10,
      },
    },
    seconds: {},
  };
}

const verdicts = (r: DatasetResult) => Object.fromEntries(bagnetClaims([r]).map((c) => [c.id, c.verdict]));

describe('BagNet study claims', () => {
  it('every claim holds on a result built to satisfy them, and the claims are well formed', () => {
    const claims = validateClaims(bagnetClaims([goodResult()]), 'bagnet');
    expect(claims.map((c) => c.id)).toEqual([
      'accuracy-rises-with-q',
      'largest-bagnet-near-vgg',
      'logits-are-mean-of-patch-logits',
      'models-reach-plateau',
      'scrambling-bagnets-barely-move',
      'scrambling-deeper-cnn-drops-more',
      'occlusion-additive-beyond-q',
      'cnn-interactions-shrink',
      'deeper-cnn-interacts-longer',
      'bagnet-patches-hurt-cnns',
      'bagnet-patches-beat-attribution',
      'heatmaps-on-discriminative-parts',
      'logit-correlation-rises-with-q',
    ]);
    expect(claims.filter((c) => c.verdict !== 'holds').map((c) => c.id)).toEqual([]);
    for (const c of claims) {
      expect(c.paper.length).toBeGreaterThan(10);
      expect(c.pass).toBe(c.verdict === 'holds');
      // Every comparison carries its interval; the exact checks have none.
      expect(c.interval === undefined).toBe(c.kind === 'check');
    }
    const kinds = Object.fromEntries(claims.map((c) => [c.id, c.kind]));
    expect(kinds['logits-are-mean-of-patch-logits']).toBe('check');
    expect(kinds['occlusion-additive-beyond-q']).toBe('check');
    expect(kinds['scrambling-bagnets-barely-move']).toBe('extension');
  });

  it('an interval straddling the threshold is inconclusive, one beyond it fails', () => {
    const r = goodResult();
    r.accuracyComparisons.riseWithQ = est(0.02, -0.01, 0.05);
    expect(verdicts(r)['accuracy-rises-with-q']).toBe('inconclusive');
    r.accuracyComparisons.riseWithQ = est(-0.05, -0.08, -0.02);
    expect(verdicts(r)['accuracy-rises-with-q']).toBe('fails');
    const claim = bagnetClaims([r]).find((c) => c.id === 'accuracy-rises-with-q')!;
    expect(claim.pass).toBe(false);
    expect(claim.interval).toEqual(r.accuracyComparisons.riseWithQ.interval);
  });

  it('the margin claim reads the interval against -cnnMargin', () => {
    const r = goodResult();
    r.accuracyComparisons.largestVsVgg = est(-0.06, -CLAIM_RULES.cnnMargin - 0.03, -CLAIM_RULES.cnnMargin - 0.01);
    expect(verdicts(r)['largest-bagnet-near-vgg']).toBe('fails');
  });

  it('scrambling: a BagNet drop above the bound fails; a ResNet-like dropping less than the VGG-like fails', () => {
    const r = goodResult();
    r.scramble.drop['bagnet-q5'] = est(0.2, CLAIM_RULES.scrambleBarely + 0.01, 0.3);
    r.scramble.deeperMinusShallower = est(-0.1, -0.15, -0.05);
    const v = verdicts(r);
    expect(v['scrambling-bagnets-barely-move']).toBe('fails');
    expect(v['scrambling-deeper-cnn-drops-more']).toBe('fails');
  });

  it('additivity is only required at gaps >= q - 1', () => {
    const r = goodResult();
    r.occlusion.r['bagnet-q9'] = [0.1, 0.1, 1, 1]; // gaps 0, 4 < 8 do not count for q = 9
    expect(verdicts(r)['occlusion-additive-beyond-q']).toBe('holds');
    r.occlusion.r['bagnet-q5'][1] = 0.99; // gap 4 >= 5 - 1 counts
    expect(verdicts(r)['occlusion-additive-beyond-q']).toBe('fails');
  });

  it('interactions, removal, pointing, plateau and correlation rules', () => {
    const r = goodResult();
    r.occlusion.farOverNear['resnet-custom'] = est(0.6, 0.4, 0.8);
    r.removal.randomMinusSweep['vgg-custom'] = est(-1, -1.5, -0.5);
    r.removal.methodMinusSweep['vgg-custom'].saliency = est(0, -0.1, 0.1);
    r.pointing!['bagnet-q3'].hitInterval = { low: 0.1, high: 0.19, level: 0.95, over: 'x' };
    r.models[4].plateauGain = CLAIM_RULES.plateauGain + 0.01;
    r.correlation.logitRRise['resnet-custom'] = est(-0.1, -0.2, 0.05);
    const v = verdicts(r);
    expect(v['cnn-interactions-shrink']).toBe('inconclusive');
    expect(v['bagnet-patches-hurt-cnns']).toBe('fails');
    expect(v['bagnet-patches-beat-attribution']).toBe('inconclusive');
    expect(v['heatmaps-on-discriminative-parts']).toBe('fails');
    expect(v['models-reach-plateau']).toBe('fails');
    expect(v['logit-correlation-rises-with-q']).toBe('inconclusive');
  });
});

describe('BagNet study helpers', () => {
  it('decide: holds only when every part holds; the deciding interval is the failing or straddling one', () => {
    const ok = { label: 'a', estimate: est(1, 0.5, 1.5) };
    const straddle = { label: 'b', estimate: est(0, -0.5, 0.5) };
    const bad = { label: 'c', estimate: est(-1, -1.5, -0.5) };
    expect(decide([ok], 0, 'above').verdict).toBe('holds');
    expect(decide([ok, straddle], 0, 'above')).toMatchObject({ verdict: 'inconclusive', interval: straddle.estimate.interval });
    expect(decide([ok, straddle, bad], 0, 'above')).toMatchObject({ verdict: 'fails', interval: bad.estimate.interval });
    expect(decide([bad], 0, 'below').verdict).toBe('holds');
  });

  it('estimate: paired differences and ratios of sums on hand-worked numbers', () => {
    const rng = new Rng(1);
    const a = [1, 1, 0, 1];
    const b = [0, 1, 0, 0];
    const e = estimate(4, diffOf(a, b), rng, 200);
    expect(e.value).toBeCloseTo(0.5, 10);
    expect(e.interval.low).toBeGreaterThanOrEqual(0);
    expect(e.interval.high).toBeLessThanOrEqual(1);
    expect(ratioOf([1, 3], [2, 2])(Int32Array.from([0, 1]))).toBeCloseTo(1, 10);
    expect(ratioOf([1, 3], [2, 2])(Int32Array.from([1, 1]))).toBeCloseTo(1.5, 10);
  });

  it('formatPart: three decimals, small magnitudes as exponents', () => {
    expect(formatPart({ label: 'a', estimate: est(0.25, 0.1, 0.4) })).toBe('a 0.250 [0.100, 0.400]');
    expect(formatPart({ label: 'b', estimate: est(2e-5, 0, 0.5) })).toBe('b 2.00e-5 [0.000, 0.500]');
  });

  it('intactUnits: a unit is intact when its field lies inside one tile', () => {
    // q = 5, jump 4, start 0, tiles of 8: fields [0,4] [4,8] [8,12] [12,16] -> intact, crosses 8, intact, crosses 16.
    expect(intactUnits(4, 5, 4, 0, 8)).toEqual([true, false, true, false]);
    // q = 3: [0,2] [4,6] [8,10] [12,14] all inside their tile.
    expect(intactUnits(4, 3, 4, 0, 8)).toEqual([true, true, true, true]);
  });

  it('plateauGain: validation accuracy gained over the last quarter of the epochs', () => {
    expect(plateauGain([0.5, 0.6, 0.7, 0.75])).toBeCloseTo(0.05, 10);
    expect(plateauGain([0.5, 0.6, 0.7, 0.72, 0.73, 0.74, 0.745, 0.75])).toBeCloseTo(0.01, 10);
    expect(plateauGain([0.5])).toBe(0);
  });
});

describe('BagNet study configs', () => {
  const isCount = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  it.each(SCALES)('%s: every q can be built, tiles end at the image side, the compare tile is a stride multiple >= 2 q', (scale) => {
    for (const d of BAGNET_CONFIGS[scale].datasets) {
      const strides = d.bagnet.strides ?? [2, 2, 1];
      for (const q of d.qs) expect(() => bagnetKernelFlags(q, strides)).not.toThrow();
      expect(d.tiles[d.tiles.length - 1]).toBe(d.side);
      expect(d.tiles).toContain(d.scrambleCompareTile);
      const stride = strides.reduce((a, s) => a * s, 1);
      for (const t of d.tiles) expect(t % stride).toBe(0);
      expect(d.scrambleCompareTile).toBeGreaterThanOrEqual(2 * Math.max(...d.qs));
      expect(d.qs).toEqual([...d.qs].sort((a, b) => a - b));
      expect(d.cnns.length).toBe(2);
      expect(d.valFraction > 0 && d.valFraction < 0.5).toBe(true);
      expect(isCount(d.removal.randomOrders) && d.removal.methods.length > 0).toBe(true);
    }
  });

  it.each(SCALES)("%s: q / side within a factor 1.25 of the paper's (9, 17, 33 of 224 px)", (scale) => {
    for (const d of BAGNET_CONFIGS[scale].datasets) {
      expect(d.qs.length).toBe(PAPER_Q_OVER_SIDE.length);
      d.qs.forEach((q, i) => {
        const ratio = q / d.side / PAPER_Q_OVER_SIDE[i];
        expect(ratio).toBeGreaterThan(1 / 1.25);
        expect(ratio).toBeLessThan(1.25);
      });
    }
  });

  it('every CNN of every scale sees the whole image (receptive field >= side), every BagNet exactly q', () => {
    // Each distinct (config, side) once: building the full scale's models twice only costs time.
    const seen = new Set<string>();
    for (const scale of SCALES) {
      for (const d of BAGNET_CONFIGS[scale].datasets) {
        const input = { inputShape: [d.side, d.side, d.dataset === 'fashion-mnist' ? 1 : 3] as [number, number, number], numClasses: 10 };
        const configs = [...d.cnns.map((c) => c.config), ...d.qs.map((q) => ({ family: 'bagnet' as const, q, ...d.bagnet }))];
        for (const config of configs) {
          const id = JSON.stringify([config, d.side]);
          if (seen.has(id)) continue;
          seen.add(id);
          const model = buildModel(config, input, 0);
          if (config.family === 'bagnet') expect(modelReceptiveField(model, 'bagnet')).toBe(config.q);
          else expect(modelReceptiveField(model, 'cnn')).toBeGreaterThanOrEqual(d.side);
          model.dispose();
        }
      }
    }
  });
});

describe('BagNet study plans', () => {
  const isCount = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const increasing = (v: number[]) => v.every((x, i) => i === 0 || x > v[i - 1]);

  it.each(SCALES)('%s: every size is a positive integer, lists increase, settings fit the images', (scale) => {
    for (const d of BAGNET_CONFIGS[scale].datasets) {
      const side = d.side;
      // Fashion-MNIST is subset per class, the generated world in total: exactly one of each pair is set.
      const perClass = d.dataset === 'fashion-mnist';
      expect((perClass ? [d.trainPerClass, d.testPerClass] : [d.trainSize, d.testSize]).every(isCount)).toBe(true);
      expect(perClass ? (d.trainSize ?? d.testSize) : (d.trainPerClass ?? d.testPerClass)).toBeUndefined();
      const testImages = d.testSize ?? d.testPerClass! * 10;
      expect([d.epochs, d.batchSize, d.evalImages, d.heatmapImages, d.galleryPerClass, d.wrongImages].every(isCount)).toBe(true);
      for (const lr of [d.bagnetLr, ...d.cnns.map((c) => c.lr)]) expect(lr > 0 && lr < 0.1).toBe(true);
      expect(d.evalImages).toBeLessThanOrEqual(testImages);
      expect(increasing(d.qs) && increasing(d.tiles)).toBe(true);
      for (const q of d.qs) expect(q % 2).toBe(1); // a centred patch
      const occ = d.occlusion;
      expect([occ.images, occ.patch, occ.perDistance].every(isCount)).toBe(true);
      // Two patches at the largest gap fit side by side.
      expect(increasing(occ.distances) && occ.distances[0] === 0 && 2 * occ.patch + Math.max(...occ.distances) <= side).toBe(true);
      const rem = d.removal;
      expect([rem.images, rem.cell, rem.steps].every(isCount)).toBe(true);
      expect(side % rem.cell).toBe(0);
      expect(increasing(rem.ks) && rem.ks[0] === 0 && Math.max(...rem.ks) <= (side / rem.cell) ** 2).toBe(true);
      // The pointing game needs part maps: only the generated world has them.
      expect(d.pointing === undefined).toBe(d.dataset === 'fashion-mnist');
      if (d.pointing) expect(isCount(d.pointing.images) && d.pointing.tolerance >= 0).toBe(true);
    }
  });

  it.each(SCALES)('%s: the sweeps cover the heatmaps, the removal and the pointing game', (scale) => {
    for (const d of BAGNET_CONFIGS[scale].datasets) {
      const c = evalCounts(d, d.evalImages);
      expect(c.check).toBe(Math.min(64, d.evalImages));
      expect(c.sweep).toBeGreaterThanOrEqual(Math.max(c.heatmap, c.removal, c.pointing));
      expect(c.heatmap).toBeLessThanOrEqual(c.check);
    }
  });
});

describe('BagNet study shape', () => {
  it("lists a dataset's figures in the study's order and leaves out the missing ones", () => {
    const f = (name: string): Figure => ({ name, caption: name, spec: { data: [], layout: {} } });
    const figs: DatasetFigures = {
      accuracy: { vsQ: f('fig1'), perClass: f('fig6a'), logitCorrelation: f('fig6b') },
      heatmaps: { maps: f('fig2a'), gallery: f('fig2b') },
      scrambling: f('fig3'),
      occlusion: { r: f('fig4a'), scatter: f('fig4b') },
      removal: { logit: f('fig5a'), accuracy: f('fig5b') },
      pointing: f('fig2d'),
    };
    const names = ['fig1', 'fig6a', 'fig6b', 'fig2a', 'fig2b', 'fig3', 'fig4a', 'fig4b', 'fig5a', 'fig5b', 'fig2d'];
    expect(figureList(figs).map((x) => x.name)).toEqual(names);
    figs.heatmaps.wrong = f('fig2c');
    delete figs.pointing;
    expect(figureList(figs).map((x) => x.name)).toEqual([...names.slice(0, 5), 'fig2c', ...names.slice(5, -1)]);
  });

  it('the registry finds the study folder under its public name', () => {
    const s = getStudy('bagnet');
    expect(s.name).toBe('bagnet');
    expect(s.notebook).toBe('notebooks/01-bagnet.ipynb');
  });
});
