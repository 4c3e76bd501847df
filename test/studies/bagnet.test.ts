import { bagnetKernelFlags } from '../../lib/models/bagnet';
import { validateClaims } from '../../lib/report/claims';
import { bagnetClaims } from '../../lib/studies/bagnet/claims';
import { BAGNET_CONFIGS, CLAIM_RULES } from '../../lib/studies/bagnet/config';
import { DatasetFigures, figureList } from '../../lib/studies/bagnet/figures';
import type { DatasetResult } from '../../lib/studies/bagnet/results';
import { evalCounts } from '../../lib/studies/bagnet/session';
import { getStudy } from '../../lib/studies/index';
import { Figure, SCALES } from '../../lib/studies/types';

/** A hand-made result in which every claim holds; tests then break one thing at a time. */
function goodResult(): DatasetResult {
  const models = [
    { key: 'bagnet-q5', label: 'BagNet-5', kind: 'bagnet', q: 5, params: 1, accuracy: 0.7, trainSeconds: 1, fromCache: false },
    { key: 'bagnet-q9', label: 'BagNet-9', kind: 'bagnet', q: 9, params: 1, accuracy: 0.8, trainSeconds: 1, fromCache: false },
    { key: 'bagnet-q17', label: 'BagNet-17', kind: 'bagnet', q: 17, params: 1, accuracy: 0.86, trainSeconds: 1, fromCache: false },
    { key: 'vgg-small', label: 'VGG-like', kind: 'cnn', q: null, params: 1, accuracy: 0.9, trainSeconds: 1, fromCache: false },
    { key: 'resnet-small', label: 'ResNet-like', kind: 'cnn', q: null, params: 1, accuracy: 0.91, trainSeconds: 1, fromCache: false },
  ];
  const curves = (bag: number[], grad: number[], rand: number[]) => ({
    'BagNet-17 heatmap': { meanLogit: bag, accuracy: bag.map(() => 1) },
    'own integrated-gradients': { meanLogit: grad, accuracy: grad.map(() => 1) },
    random: { meanLogit: rand, accuracy: rand.map(() => 1) },
  });
  return {
    dataset: 'toy',
    label: 'toy',
    trainImages: 10,
    testImages: 10,
    models,
    patchMeanMaxError: { 'bagnet-q5': 1e-7, 'bagnet-q9': 2e-7, 'bagnet-q17': 0 },
    scramble: {
      tiles: [4, 8, 16, 32],
      compareTile: 16,
      accuracy: {
        'bagnet-q5': [0.5, 0.65, 0.69, 0.7],
        'bagnet-q9': [0.4, 0.6, 0.77, 0.8],
        'bagnet-q17': [0.3, 0.5, 0.7, 0.86],
        'vgg-small': [0.1, 0.3, 0.6, 0.9],
        'resnet-small': [0.1, 0.2, 0.5, 0.91],
      },
    },
    occlusion: {
      distances: [0, 4, 8, 16],
      r: {
        'bagnet-q5': [0.9, 1, 1, 1],
        'bagnet-q9': [0.8, 0.99, 1, 1],
        'bagnet-q17': [0.5, 0.9, 0.95, 1],
        'vgg-small': [0.5, 0.6, 0.7, 0.9],
        'resnet-small': [0.4, 0.5, 0.6, 0.8],
      },
      interaction: {
        'bagnet-q5': [0.1, 0, 0, 0],
        'bagnet-q9': [0.2, 0.01, 0, 0],
        'bagnet-q17': [0.3, 0.1, 0.05, 0],
        'vgg-small': [0.5, 0.4, 0.3, 0.1],
        'resnet-small': [0.6, 0.5, 0.4, 0.3],
      },
      pairs: 10,
    },
    removal: {
      ks: [0, 1, 2, 3],
      curves: {
        'bagnet-q17': curves([3, 2, 1, 0], [3, 2.5, 2, 1.5], [3, 2.9, 2.8, 2.7]),
        'vgg-small': curves([3, 2, 1.5, 1], [3, 2.5, 2, 1.8], [3, 2.9, 2.8, 2.7]),
        'resnet-small': curves([3, 2, 1.5, 1], [3, 2.5, 2, 1.8], [3, 2.9, 2.8, 2.7]),
      },
      bagnetR2: 1,
    },
    correlation: {
      perClass: {},
      accuracyR: {},
      logitR: {
        'vgg-small': { 'bagnet-q5': 0.5, 'bagnet-q9': 0.6, 'bagnet-q17': 0.7 },
        'resnet-small': { 'bagnet-q5': 0.4, 'bagnet-q9': 0.5, 'bagnet-q17': 0.55 },
      },
    },
    pointing: { 'bagnet-q5': { hitRate: 0.6, chance: 0.1, massOnTarget: 0.3, areaFraction: 0.05, images: 10 } },
    seconds: {},
  };
}

const verdicts = (r: DatasetResult) => Object.fromEntries(bagnetClaims([r]).map((c) => [c.id, c.pass]));

describe('BagNet study claims', () => {
  it('every claim holds on a result built to satisfy them, and the claims are well formed', () => {
    const claims = validateClaims(bagnetClaims([goodResult()]), 'bagnet');
    expect(claims.length).toBe(11);
    expect(claims.filter((c) => !c.pass).map((c) => c.id)).toEqual([]);
    for (const c of claims) expect(c.paper.length).toBeGreaterThan(10);
  });

  it('accuracy that falls with q fails the first claim', () => {
    const r = goodResult();
    r.models[2].accuracy = r.models[1].accuracy - CLAIM_RULES.accuracyDropTolerance - 0.01;
    expect(verdicts(r)['accuracy-rises-with-q']).toBe(false);
  });

  it('a BagNet far below the VGG-like fails the margin claim', () => {
    const r = goodResult();
    r.models[3].accuracy = r.models[2].accuracy + CLAIM_RULES.cnnMargin + 0.01;
    expect(verdicts(r)['largest-bagnet-near-cnn']).toBe(false);
  });

  it('scrambling: a BagNet that drops more than a CNN, or a ResNet that drops less than the VGG, fails', () => {
    const r = goodResult();
    r.scramble.accuracy['bagnet-q9'][2] = 0.2;
    expect(verdicts(r).scrambling).toBe(false);
    const s = goodResult();
    s.scramble.accuracy['resnet-small'][2] = 0.9;
    expect(verdicts(s).scrambling).toBe(false);
  });

  it('additivity is only required at gaps >= q - 1', () => {
    const r = goodResult();
    r.occlusion.r['bagnet-q17'] = [0.1, 0.1, 0.1, 1]; // gaps 0, 4, 8 < 16 do not count for q = 17
    expect(verdicts(r)['occlusion-additive-beyond-q']).toBe(true);
    r.occlusion.r['bagnet-q5'][1] = 0.99; // gap 4 >= 5 - 1 counts
    expect(verdicts(r)['occlusion-additive-beyond-q']).toBe(false);
  });

  it('removal and pointing rules', () => {
    const r = goodResult();
    r.removal.bagnetR2 = CLAIM_RULES.linearR2 - 0.01;
    r.removal.curves['vgg-small'].random.meanLogit = [3, 1, 0, -1];
    r.pointing!['bagnet-q5'].hitRate = 0.15;
    const v = verdicts(r);
    expect(v['removal-linear-for-bagnet']).toBe(false);
    expect(v['bagnet-patches-hurt-cnns']).toBe(false);
    expect(v['heatmaps-on-discriminative-parts']).toBe(false);
  });
});

describe('BagNet study configs', () => {
  it.each(SCALES)('%s: every q can be built, tiles end at the image size, the comparison tile is listed', (scale) => {
    for (const d of BAGNET_CONFIGS[scale].datasets) {
      for (const q of d.qs) expect(() => bagnetKernelFlags(q, d.bagnet.strides ?? [2, 2, 1])).not.toThrow();
      const side = d.dataset === 'fashion-mnist' ? 28 : 64;
      expect(d.tiles[d.tiles.length - 1]).toBe(side);
      expect(d.tiles).toContain(d.scrambleCompareTile);
      expect(d.qs).toEqual([...d.qs].sort((a, b) => a - b));
      expect(d.cnns.length).toBe(2);
    }
  });
});

describe('BagNet study plans', () => {
  const isCount = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const increasing = (v: number[]) => v.every((x, i) => i === 0 || x > v[i - 1]);

  it.each(SCALES)('%s: every size is a positive integer, lists increase, settings fit the images', (scale) => {
    for (const d of BAGNET_CONFIGS[scale].datasets) {
      const side = d.dataset === 'fashion-mnist' ? 28 : 64;
      // Fashion-MNIST is subset per class, the generated world in total: exactly one of each pair is set.
      const perClass = d.dataset === 'fashion-mnist';
      expect((perClass ? [d.trainPerClass, d.testPerClass] : [d.trainSize, d.testSize]).every(isCount)).toBe(true);
      expect(perClass ? (d.trainSize ?? d.testSize) : (d.trainPerClass ?? d.testPerClass)).toBeUndefined();
      const testImages = d.testSize ?? d.testPerClass! * 10;
      expect([d.epochs, d.batchSize, d.evalImages, d.heatmapImages, d.galleryPerClass, d.wrongImages].every(isCount)).toBe(true);
      expect(d.lr).toBeGreaterThan(0);
      expect(d.lr).toBeLessThan(0.1);
      expect(d.evalImages).toBeLessThanOrEqual(testImages);
      expect(increasing(d.qs) && increasing(d.tiles)).toBe(true);
      for (const q of d.qs) expect(q % 2).toBe(1); // a centred patch
      for (const c of d.cnns) if (c.epochs !== undefined) expect(isCount(c.epochs)).toBe(true);
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
