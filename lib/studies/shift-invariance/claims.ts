import { bootstrapInterval, verdictFromInterval, wilsonInterval } from '../../analysis/intervals';
import { Rng } from '../../util/rng';
import type { Claim, ClaimKind, Interval, Verdict } from '../types';
import { CLAIM_RULES } from './config';
import type { ConditionSummary, VariantSummary } from './summary';

/** One tested part of a claim (e.g. one model): the mean over objects, its interval and its verdict. */
interface Part {
  name: string;
  value: number;
  interval: Interval;
  verdict: Verdict;
}

const RANK: Record<Verdict, number> = { fails: 0, inconclusive: 1, holds: 2 };

/** Interval of the mean over objects of f(o) (paired quantities resample the same objects on both sides). */
function objectInterval(n: number, f: (o: number) => number, rng: Rng, resamples: number, seeds: number): Interval {
  const iv = bootstrapInterval(n, (idx) => idx.reduce((s, o) => s + f(o), 0) / idx.length, rng, { resamples, unit: 'objects' });
  return seeds > 1 ? { ...iv, over: `${iv.over}; each object's value the mean over ${seeds} seeds` } : iv;
}

/**
 * Every part must hold for the claim to hold; any failing part fails it; otherwise inconclusive. The weakest part's
 * interval is the claim's.
 */
function claimOf(base: Omit<Claim, 'pass' | 'verdict' | 'interval' | 'measured'>, parts: Part[], fmt: (v: number) => string): Claim {
  const weakest = [...parts].sort((a, b) => RANK[a.verdict] - RANK[b.verdict])[0];
  const verdict = weakest.verdict;
  const measured = parts.map((p) => `${p.name} ${fmt(p.value)} [${fmt(p.interval.low)}, ${fmt(p.interval.high)}]`).join('; ');
  return { ...base, measured, verdict, pass: verdict === 'holds', interval: weakest.interval };
}

const f3 = (v: number) => v.toFixed(3);
const f4 = (v: number) => v.toFixed(4);
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The study's claims from the condition summaries (conditions in config order; the first is the paper's main
 * setting, large objects on white). Rules in CLAIM_RULES, stated in each claim's details.
 */
export function shiftClaims(summaries: ConditionSummary[], seed: number, resamples: number): Claim[] {
  const R = CLAIM_RULES;
  const L = R.layer;
  const rng = new Rng(seed).fork('claims');
  const main = summaries[0];
  const claims: Claim[] = [];
  const part = (
    key: string,
    name: string,
    n: number,
    f: (o: number) => number,
    seeds: number,
    threshold: number,
    dir: 'above' | 'below',
  ): Part => {
    const interval = objectInterval(n, f, rng.fork(key), resamples, seeds);
    const value = meanOf(Array.from({ length: n }, (_, o) => f(o)));
    return { name, value, interval, verdict: verdictFromInterval(interval, threshold, dir) };
  };
  const perVariant = (s: ConditionSummary, id: string, f: (v: VariantSummary) => (o: number) => number, threshold: number, n = s.objects) =>
    s.variants.map((v) => part(`${id}/${s.condition}/${v.variant}`, v.label, n, f(v), s.seeds, threshold, 'above'));
  const pairs = (s: ConditionSummary) =>
    [...new Set(s.variants.map((v) => v.arch))].flatMap((arch) => {
      const base = s.variants.find((v) => v.arch === arch && v.antialias === 'none');
      const aa = s.variants.find((v) => v.arch === arch && v.antialias === R.antialias);
      return base && aa ? [{ arch, base, aa }] : [];
    });
  const kind: ClaimKind = 'paper';

  claims.push(
    claimOf(
      {
        id: 'not-globally-invariant',
        claim: 'Features are not globally invariant: the cosine to an anchor falls with the distance from it',
        paper: 'Lee et al. Fig. 3-4: similarity falls off away from every anchor (mean cosines to the anchor .89-.98 on logits)',
        details:
          `per model (${L}, ${main.label}): mean over the 5 anchors of [mean cosine over the nearest third of positions - over the ` +
          `farthest third]; holds when its 95% interval over objects is above ${R.fallOff} for every model`,
        kind,
      },
      perVariant(main, 'falloff', (v) => (o) => v.fallOff[L][o], R.fallOff),
      f4,
    ),
  );
  const large = summaries.filter((s) => s.condition.endsWith('-white')).sort((a, b) => b.objectSize - a.objectSize);
  if (large.length >= 2) {
    const [big, small] = [large[0], large[large.length - 1]];
    const allAnchors = (v: VariantSummary, o: number) => meanOf(Object.values(v.meanCos[L]).map((xs) => xs[o]));
    claims.push(
      claimOf(
        {
          id: 'small-objects-worse',
          claim: 'Small objects are less invariant than large ones',
          paper: 'Lee et al.: mean cosine to C, large / small: ResNet-50 .961 / .949, MobileNetV2 .954 / .935, AlexNet fc7 .977 / .967',
          details:
            `per model (${L}): mean cosine over all 5 anchors, ${big.label} minus ${small.label} (the same objects, paired); holds ` +
            'when the interval over objects is above 0 for every model',
          kind,
        },
        big.variants.map((v, k) => {
          const w = small.variants[k];
          return part(
            `small/${v.variant}`,
            v.label,
            Math.min(big.objects, small.objects),
            (o) => allAnchors(v, o) - allAnchors(w, o),
            big.seeds,
            0,
            'above',
          );
        }),
        f4,
      ),
    );
  }
  claims.push(
    claimOf(
      {
        id: 'centre-anchor-highest',
        claim: 'The centre anchor has the highest mean similarity',
        paper: 'Lee et al. (large): ResNet-50 C .961 vs TL .945, BR .930; MobileNetV2 .954 vs .931, .917',
        details:
          `per model (${L}, ${main.label}): mean cosine to C minus the mean of the 4 corners; holds when the interval is above 0 ` +
          `for every model`,
        kind,
      },
      perVariant(main, 'centre', (v) => (o) => v.meanCos[L].C[o] - v.corners[L][o], 0),
      f4,
    ),
  );
  claims.push(
    claimOf(
      {
        id: 'tl-above-br',
        claim: 'Top-left anchors are more similar than bottom-right ones (border/padding asymmetry)',
        paper: 'Lee et al. (large): ResNet-50 TL .945 > BR .930, AA .948 > .939; MobileNetV2 .931 > .917; AlexNet fc7 .949 > .944',
        details: `per model (${L}, ${main.label}): mean cosine to TL minus to BR; holds when the interval is above 0 for every model`,
        kind,
      },
      perVariant(main, 'tlbr', (v) => (o) => v.meanCos[L].TL[o] - v.meanCos[L].BR[o], 0),
      f4,
    ),
  );
  const pairParts = (id: string, f: (b: VariantSummary, a: VariantSummary) => (o: number) => number, threshold = 0) =>
    pairs(main).map(({ arch, base, aa }) =>
      part(`${id}/${arch}`, `${base.label} → ${aa.label}`, main.objects, f(base, aa), main.seeds, threshold, 'above'),
    );
  claims.push(
    claimOf(
      {
        id: 'aa-lowers-local-variation',
        claim: 'Anti-aliasing lowers the 1-pixel variation (local invariance improves)',
        paper:
          'Lee et al. demo (anchor C, logits): ResNet-50 0.00142 → 0.00071 (strawberry), 0.00445 → 0.00343 (plane); AlexNet 0.00275 → ' +
          '0.00070; MobileNetV2 0.00558 → 0.00206',
        details:
          `per architecture (${L}, ${main.label}, anchor C): mean |delta cos| between 1-px neighbours, baseline minus ${R.antialias}; ` +
          `holds ` +
          'when the interval over objects is above 0 for every architecture',
        kind,
      },
      pairParts('localvar', (b, a) => (o) => b.localVariation[L][o] - a.localVariation[L][o]),
      (v) => v.toExponential(2),
    ),
  );
  claims.push(
    claimOf(
      {
        id: 'aa-raises-consistency',
        claim: 'Anti-aliasing raises consistency (same top-1 class under two random shifts)',
        paper:
          'Zhang 2019, ImageNet: ResNet-50 89.20 → 91.31 (Bin-5), AlexNet 78.18 → 83.31, VGG16 88.52 → 90.91, MobileNetV2 86.50 → 87.73',
        details:
          `per architecture (${main.label}): consistency (two positions drawn uniformly from the grid agree on the top-1 class), ` +
          `${R.antialias} minus baseline; holds when the interval over objects is above 0 for every architecture`,
        kind,
      },
      pairParts('consistency', (b, a) => (o) => a.consistency[o] - b.consistency[o]),
      f4,
    ),
  );
  claims.push(
    claimOf(
      {
        id: 'aa-raises-centre',
        claim: "Anti-aliasing raises the centre anchor's global similarity",
        paper: 'Lee et al. (large, C): ResNet-50 .961 → .975, MobileNetV2 .954 → .970, AlexNet fc7 .977 → .981, fc8 .955 → .970',
        details:
          `per architecture (${L}, ${main.label}): mean cosine to C, ${R.antialias} minus baseline; holds when the interval is ` +
          `above 0 for every architecture`,
        kind,
      },
      pairParts('centre-aa', (b, a) => (o) => a.meanCos[L].C[o] - b.meanCos[L].C[o]),
      f4,
    ),
  );
  // "Barely changes": the interval of the change must lie inside (-barely, barely).
  const barelyParts = pairs(main).map(({ arch, base, aa }) => {
    const f = (o: number) => aa.corners[L][o] - base.corners[L][o];
    const interval = objectInterval(main.objects, f, rng.fork(`corners/${arch}`), resamples, main.seeds);
    const inside = interval.low > -R.barely && interval.high < R.barely;
    const outside = interval.low >= R.barely || interval.high <= -R.barely;
    const verdict: Verdict = inside ? 'holds' : outside ? 'fails' : 'inconclusive';
    return { name: `${base.label} → ${aa.label}`, value: meanOf(Array.from({ length: main.objects }, (_, o) => f(o))), interval, verdict };
  });
  claims.push(
    claimOf(
      {
        id: 'aa-barely-changes-corners',
        claim: 'Anti-aliasing barely changes the corner anchors (global invariance does not improve)',
        paper:
          'Lee et al. (large): ResNet-50 TL .945 → .948, BR .930 → .939; MobileNetV2 TL .931 → .943, BR .917 → .934 ("improves local ' +
          'invariance but not global")',
        details:
          `per architecture (${L}, ${main.label}): mean cosine of the 4 corner anchors, ${R.antialias} minus baseline; holds when its ` +
          `interval ` +
          `lies inside (-${R.barely}, ${R.barely}), fails when it lies outside, inconclusive when it straddles a bound`,
        kind,
      },
      barelyParts,
      f4,
    ),
  );
  claims.push(
    claimOf(
      {
        id: 'baseline-period-at-stride',
        claim: 'Baseline maps show grid artefacts with a period equal to the network stride',
        paper: 'Lee et al.: periodic grid artefacts in the baseline heatmaps, period = network stride (qualitative)',
        details:
          `per baseline architecture (${L}, ${main.label}, anchor C): periodic peak of the map's 1-px difference spectrum at the network ` +
          `stride (1 = white noise); holds when the interval over objects is above ${R.periodicPeak} for every architecture`,
        kind,
      },
      main.variants
        .filter((v) => v.antialias === 'none')
        .map((v) =>
          part(
            `period/${v.variant}`,
            `${v.label} (stride ${v.stride})`,
            main.objects,
            (o) => v.periodicPeak[L][o],
            main.seeds,
            R.periodicPeak,
            'above',
          ),
        ),
      (v) => v.toFixed(2),
    ),
  );
  claims.push(
    claimOf(
      {
        id: 'aa-weakens-period',
        claim: 'Anti-aliasing weakens the stride-periodic artefacts',
        paper: 'Lee et al.: AA smooths the periodic artefacts of the heatmaps (qualitative)',
        details:
          `per architecture (${L}, ${main.label}, anchor C): periodic peak, baseline minus ${R.antialias}; holds when the ` +
          `interval is above 0 for every architecture`,
        kind,
      },
      pairParts('period-aa', (b, a) => (o) => b.periodicPeak[L][o] - a.periodicPeak[L][o]),
      (v) => v.toFixed(2),
    ),
  );
  const probed = main.variants[0].probe.penultimate.length;
  claims.push(
    claimOf(
      {
        id: 'position-decodable',
        claim: 'Position stays linearly decodable from the penultimate features, with and without anti-aliasing',
        paper:
          'Lee et al. Exp. 3: a linear SVM predicts top/bottom and left/right from the features with high accuracy (exact numbers not ' +
          'verified)',
        details:
          `per model (penultimate layer, ${main.label}, ${probed} objects): ridge linear probe, 5-fold CV with shuffled folds, accuracy ` +
          `averaged over top/bottom and left/right (chance 0.5); holds when the interval is above ${R.probeChance} for every model`,
        kind,
      },
      perVariant(main, 'probe', (v) => (o) => v.probe.penultimate[o], R.probeChance, probed),
      f3,
    ),
  );
  return claims;
}

/** Check: every model learnt the task (held-out accuracy, Wilson interval over the held-out images). */
export function learntClaim(models: { label: string; seed: number; accuracy: number; images: number }[]): Claim {
  const R = CLAIM_RULES;
  const parts = models.map((m) => {
    const interval = wilsonInterval(Math.round(m.accuracy * m.images), m.images, 0.95, 'held-out images');
    return { name: `${m.label} (seed ${m.seed})`, value: m.accuracy, interval, verdict: verdictFromInterval(interval, R.learnt, 'above') };
  });
  return claimOf(
    {
      id: 'models-learn',
      claim: 'Every model learnt to classify the pasted objects',
      paper: 'precondition (the paper uses ImageNet-trained models): a shift study of an untrained model says nothing',
      details:
        `held-out accuracy (objects never trained on, at random positions, sizes and backgrounds); holds when the Wilson interval ` +
        `is above ${R.learnt} for every model (chance 0.1)`,
      kind: 'check',
    },
    parts,
    f3,
  );
}

/**
 * Newcombe's hybrid score interval (Newcombe 1998, method 10) of the difference p1 - p2 of two proportions k1/n1 and
 * k2/n2 from their Wilson intervals: [d - sqrt((p1 - l1)^2 + (u2 - p2)^2), d + sqrt((u1 - p1)^2 + (p2 - l2)^2)].
 * For independent samples; on paired ones (the same images) it is conservative (wider).
 */
export function differenceInterval(k1: number, n1: number, k2: number, n2: number, level = 0.95, unit = 'images'): Interval {
  const [p1, p2] = [k1 / n1, k2 / n2];
  const [a, b] = [wilsonInterval(k1, n1, level), wilsonInterval(k2, n2, level)];
  const d = p1 - p2;
  return {
    low: d - Math.hypot(p1 - a.low, b.high - p2),
    high: d + Math.hypot(a.high - p1, p2 - b.low),
    level,
    over: `${unit} (Newcombe hybrid score from Wilson intervals)`,
  };
}

/** The 1-based epoch whose validation accuracy the last epoch is compared with: the end of the first two thirds. */
export function plateauEpoch(epochs: number): number {
  return Math.max(1, Math.round((2 * epochs) / 3));
}

/**
 * Check: every model trained to a plateau. The validation accuracy gained from the end of the first two thirds of
 * the epochs (plateauEpoch) to the last epoch must be below CLAIM_RULES.plateauGain: holds when the whole interval
 * of the gain is below it, fails when the whole interval is above, inconclusive otherwise.
 */
export function plateauClaim(models: { label: string; seed: number; valCurve: number[]; images: number }[]): Claim {
  const R = CLAIM_RULES;
  const parts = models.map((m) => {
    const E = m.valCurve.length;
    const at = plateauEpoch(E);
    const [last, mid] = [m.valCurve[E - 1], m.valCurve[at - 1]];
    const interval = differenceInterval(
      Math.round(last * m.images),
      m.images,
      Math.round(mid * m.images),
      m.images,
      0.95,
      'validation images',
    );
    return {
      name: `${m.label} (seed ${m.seed}, epoch ${at} → ${E})`,
      value: last - mid,
      interval,
      verdict: verdictFromInterval(interval, R.plateauGain, 'below'),
    };
  });
  return claimOf(
    {
      id: 'models-plateau',
      claim: 'Every model was trained to a plateau of its validation accuracy',
      paper: 'precondition (the paper studies converged ImageNet models); equal budgets for baseline and anti-aliased models',
      details:
        'validation accuracy (other objects pasted as the training images) at the last epoch minus at the end ' +
        `of the first two thirds of the epochs; holds when the interval of the gain is below ${R.plateauGain} for every model`,
      kind: 'check',
    },
    parts,
    f3,
  );
}
