import { meanInterval, verdictFromInterval } from '../../analysis/intervals';
import type { Rng } from '../../util/rng';
import type { Claim, Interval, Verdict } from '../types';
import { CLAIM_RULES } from './config';
import type { CellValues, TableResult } from './table';

/**
 * The claims, read from the per-image scores with the rules of CLAIM_RULES (fixed before the first run). A quantity
 * pooled over models is a mean over (model, image) units: the images a method explains on every model it applies to.
 */

const GRADIENT_METHODS = ['saliency', 'gradient-x-input', 'integrated-gradients'];
const CAM_PAPERS = 'Zhou et al., CVPR 2016 (CAM) and Selvaraju et al., ICCV 2017 (Grad-CAM): class maps localise the class evidence';
const BAGNET_PAPER = 'Brendel & Bethge, ICLR 2019: BagNet heatmaps highlight the object parts that decide the class';
/** The methods whose papers say they localise the class evidence, with what they are and the source. */
const LOCALISING: Record<string, { what: string; paper: string }> = {
  cam: { what: 'CAM-style maps', paper: CAM_PAPERS },
  'grad-cam': { what: 'CAM-style maps', paper: CAM_PAPERS },
  'bagnet-patches': { what: 'BagNet heatmaps', paper: BAGNET_PAPER },
  'bagnet-sweep': { what: 'BagNet heatmaps', paper: BAGNET_PAPER },
  prototype: {
    what: "ProtoPNet's prototype activation maps",
    paper: 'Chen et al., NeurIPS 2019: prototypes are prototypical parts, and their activation maps show where the image looks like them',
  },
};

/** Per-image units of one quantity pooled over cells, and its mean with an interval. */
interface Pooled {
  values: number[];
  mean: number;
  interval: Interval;
  cells: number;
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const ivText = (iv: Interval) => `[${f3(iv.low)}, ${f3(iv.high)}]`;

/** Pools `unit(cell, i)` over the cells (finite values only) with a bootstrap interval of the mean. */
function pool(cells: CellValues[], unit: (c: CellValues, i: number) => number, rng: Rng, resamples: number): Pooled | null {
  const values: number[] = [];
  for (const c of cells) {
    for (let i = 0; i < c.values.length; i++) {
      const v = unit(c, i);
      if (Number.isFinite(v)) values.push(v);
    }
  }
  if (!values.length) return null;
  const interval = meanInterval(values, rng, { resamples, level: CLAIM_RULES.level, unit: '(model, image) units' });
  return { values, mean: values.reduce((a, v) => a + v, 0) / values.length, interval, cells: cells.length };
}

/** A claim with its verdict; `pass` follows the verdict. */
function claim(c: Omit<Claim, 'pass'> & { verdict: Verdict }): Claim {
  return { ...c, pass: c.verdict === 'holds' };
}

/** The verdict of several comparisons that must all hold: fails if any fails, holds if all hold. */
function allOf(verdicts: Verdict[]): Verdict {
  if (!verdicts.length) return 'inconclusive';
  if (verdicts.includes('fails')) return 'fails';
  return verdicts.every((v) => v === 'holds') ? 'holds' : 'inconclusive';
}

/** A claim that could not be measured (no model the methods apply to). */
function unmeasured(id: string, text: string, paper: string, kind: Claim['kind'], why: string): Claim {
  return claim({ id, claim: text, paper, measured: why, details: why, verdict: 'inconclusive', kind });
}

/** A claim read from a pooled quantity against its rule; inconclusive with the reason when nothing was measured. */
function ruled(
  id: string,
  p: Pooled | null,
  c: {
    claim: string;
    paper: string;
    kind: Claim['kind'];
    measured: (p: Pooled) => string;
    rule: string;
    threshold: number;
    direction: 'above' | 'below';
  },
): Claim {
  if (!p) return unmeasured(id, c.claim, c.paper, c.kind, 'no model that the methods apply to');
  return claim({
    id,
    claim: c.claim,
    paper: c.paper,
    kind: c.kind,
    measured: c.measured(p),
    details: `Rule: holds when ${c.rule}; fails when it lies wholly on the other side.`,
    verdict: verdictFromInterval(p.interval, c.threshold, c.direction),
    interval: p.interval,
  });
}

/** An image's score minus its chance level. */
const minusChance = (c: CellValues, i: number) => c.values[i] - (c.chance ? c.chance[i] : NaN);

function cellsOf(t: TableResult, method: string, metric: string): CellValues[] {
  return t.cells.filter((c) => c.method === method && c.metric === metric);
}

/** The other method's cell on the same model, for paired differences. */
function partner(t: TableResult, c: CellValues, method: string): CellValues | undefined {
  return t.cells.find((o) => o.dataset === c.dataset && o.model === c.model && o.method === method && o.metric === c.metric);
}

export function scoresClaims(t: TableResult, rng: Rng, resamples: number): Claim[] {
  const claims: Claim[] = [];
  const r = CLAIM_RULES;

  for (const method of GRADIENT_METHODS) {
    const id = `randomisation-${method}`;
    const p = pool(cellsOf(t, method, 'randomisation'), (c, i) => c.values[i], rng.fork(id), resamples);
    claims.push(
      ruled(id, p, {
        claim: `${method} maps change when the model's layers are re-initialised from the top down`,
        paper: 'Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018: gradient maps are sensitive to model randomisation',
        kind: 'paper',
        measured: (q) =>
          `mean Spearman(trained, all layers re-initialised) ${f3(q.mean)} ${ivText(q.interval)} ` +
          `over ${q.values.length} images of ${q.cells} models`,
        rule: `the 95% interval of the mean rank correlation lies below ${r.changedBelow}`,
        threshold: r.changedBelow,
        direction: 'below',
      }),
    );
  }

  for (const [method, source] of Object.entries(LOCALISING)) {
    const id = `localises-${method}`;
    const p = pool(cellsOf(t, method, 'energy-in-mask'), minusChance, rng.fork(id), resamples);
    const pointing = pool(cellsOf(t, method, 'pointing-game'), minusChance, rng.fork(`${id}-pg`), resamples);
    claims.push(
      ruled(id, p, {
        claim: `${source.what} (${method}) put more of their positive mass on the discriminative parts than chance`,
        paper: source.paper,
        kind: 'paper',
        measured: (q) =>
          `energy in mask minus chance ${f3(q.mean)} ${ivText(q.interval)} over ${q.values.length} images of ${q.cells} models` +
          (pointing ? `; pointing game minus chance ${f3(pointing.mean)} ${ivText(pointing.interval)}` : ''),
        rule:
          `the 95% interval of the mean paired difference energy-in-mask minus the part's share of the image lies above ` +
          `${r.localisesAbove} (the pointing game is reported, not ruled)`,
        threshold: r.localisesAbove,
        direction: 'above',
      }),
    );
  }

  {
    const id = 'occlusion-best-deletion';
    const text = 'Occlusion scores best on deletion (it measures the very drop deletion scores)';
    const paper = 'Petsiuk et al., BMVC 2018 (deletion); occlusion (Zeiler & Fergus 2014) removes evidence as deletion does';
    const occ = cellsOf(t, 'occlusion', 'deletion');
    const others = [...new Set(t.cells.filter((c) => c.metric === 'deletion' && c.method !== 'occlusion').map((c) => c.method))];
    const comparisons = others
      .map((other) => {
        const paired = occ.filter((c) => partner(t, c, other));
        const p = pool(paired, (c, i) => c.values[i] - partner(t, c, other)!.values[i], rng.fork(`${id}/${other}`), resamples);
        return p ? { other, p, verdict: verdictFromInterval(p.interval, r.deletionMargin, 'below') } : null;
      })
      .filter((x): x is NonNullable<typeof x> => x !== null);
    if (!comparisons.length) claims.push(unmeasured(id, text, paper, 'paper', 'no model with occlusion and another method'));
    else {
      // The interval shown decides the verdict: the failing comparison furthest past the margin, else the closest one.
      const failing = comparisons.filter((c) => c.verdict === 'fails');
      const binding = failing.length
        ? failing.reduce((a, b) => (b.p.interval.low > a.p.interval.low ? b : a))
        : comparisons.reduce((a, b) => (b.p.interval.high > a.p.interval.high ? b : a));
      claims.push(
        claim({
          id,
          claim: text,
          paper,
          kind: 'paper',
          measured: comparisons.map((c) => `vs ${c.other} ${f3(c.p.mean)} ${ivText(c.p.interval)} (${c.verdict})`).join('; '),
          details:
            `Rule: occlusion's deletion AUC minus each other method's, paired over the images of every model both explain; holds when ` +
            `every 95% interval lies below ${r.deletionMargin}, fails when any lies above. ` +
            `The interval shown is that of the comparison that decides the verdict (${binding.other}: the failing one furthest ` +
            'past the margin, else the closest competitor).',
          verdict: allOf(comparisons.map((c) => c.verdict)),
          interval: binding.p.interval,
        }),
      );
    }
  }

  {
    const id = 'input-dominance';
    const paired = cellsOf(t, 'gradient-x-input', 'randomisation').filter((c) => partner(t, c, 'saliency'));
    const p = pool(paired, (c, i) => c.values[i] - partner(t, c, 'saliency')!.values[i], rng.fork(id), resamples);
    claims.push(
      ruled(id, p, {
        claim: 'Gradient x input keeps more of its map under randomisation than saliency (the input term survives)',
        paper: 'extension (Adebayo et al. 2018 note that gradient x input resembles the input after randomisation)',
        kind: 'extension',
        measured: (q) => `Spearman(gradient x input) minus Spearman(saliency) ${f3(q.mean)} ${ivText(q.interval)}`,
        rule: `the 95% interval of the paired difference lies above ${r.inputDominance}`,
        threshold: r.inputDominance,
        direction: 'above',
      }),
    );
  }

  for (const [id, text, metric, threshold, direction, unitOf] of [
    [
      'every-method-changes',
      'Every method that is not gradient-based also changes under model randomisation',
      'randomisation',
      r.changedBelow,
      'below',
      (c: CellValues, i: number) => c.values[i],
    ],
    [
      'every-method-beats-random-order',
      'Every method deletes the class evidence faster than a random order of the cells',
      'deletion',
      r.beatsRandomOrder,
      'below',
      minusChance,
    ],
  ] as const) {
    const methods = [...new Set(t.cells.filter((c) => c.metric === metric).map((c) => c.method))].filter(
      (m) => metric !== 'randomisation' || !GRADIENT_METHODS.includes(m),
    );
    const per = methods
      .map((m) => ({ m, p: pool(cellsOf(t, m, metric), unitOf, rng.fork(`${id}/${m}`), resamples) }))
      .filter((x): x is { m: string; p: Pooled } => x.p !== null)
      .map((x) => ({ ...x, verdict: verdictFromInterval(x.p.interval, threshold, direction) }));
    if (!per.length) {
      claims.push(unmeasured(id, text, 'extension', 'extension', 'no method measured'));
      continue;
    }
    const worst = per.reduce((a, b) => (b.p.interval.high > a.p.interval.high ? b : a));
    claims.push(
      claim({
        id,
        claim: text,
        paper: 'extension',
        kind: 'extension',
        measured: per.map((x) => `${x.m} ${f3(x.p.mean)} ${ivText(x.p.interval)} (${x.verdict})`).join('; '),
        details:
          `Rule: per method, the 95% interval of the mean ` +
          `${metric === 'deletion' ? 'deletion AUC minus the random-order AUC' : 'rank correlation'} must lie below ${threshold}; ` +
          `holds when every method's does, fails when any lies above. The interval shown is the worst method's (${worst.m}).`,
        verdict: allOf(per.map((x) => x.verdict)),
        interval: worst.p.interval,
      }),
    );
  }
  return claims;
}
