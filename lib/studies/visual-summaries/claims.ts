import { bootstrapInterval, meanInterval, verdictFromInterval } from '../../analysis/intervals';
import type { Rng } from '../../util/rng';
import type { Claim, Interval } from '../types';
import { CLAIM_RULES } from './config';
import type { ArchitectureSummaries } from './results';
import type { Session } from './session';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const ivText = (iv: Interval, f: (x: number) => string = (x) => x.toFixed(3)) => `[${f(iv.low)}, ${f(iv.high)}]`;

function claim(c: Omit<Claim, 'pass'>): Claim {
  return { ...c, pass: c.verdict === 'holds' };
}

/** The study's claims, each decided by its rule in CLAIM_RULES against a 95% bootstrap interval. */
export function summaryClaims(s: Session, results: ArchitectureSummaries[], rng: Rng): Claim[] {
  const R = CLAIM_RULES;
  const opts = { resamples: s.config.resamples };
  const images = results.flatMap((r) => r.masks);
  const areas = images.map((m) => m.crispStats.area);
  const drops = images.map((m) => m.crispStats.drop);
  const area = areas.reduce((a, b) => a + b, 0) / areas.length;
  const drop = drops.reduce((a, b) => a + b, 0) / drops.length;
  const areaIv = meanInterval(areas, rng.fork('area'), { ...opts, unit: 'explained images' });
  const dropIv = meanInterval(drops, rng.fork('drop'), { ...opts, unit: 'explained images' });
  const summaries = results.flatMap((r) => r.classes.flatMap((c) => c.summaries));
  const gains = summaries.map((sm) => sm.purity - sm.chancePurity);
  const byAcc = [...results].sort((a, b) => a.accuracy - b.accuracy);
  const [worst, best] = [byAcc[0], byAcc[byAcc.length - 1]];
  const perClass = (r: ArchitectureSummaries) => r.classes.map((c) => c.summaries.length);
  const [bw, bb] = [perClass(worst), perClass(best)];
  const diff = (idx: Int32Array) => {
    let d = 0;
    for (const i of idx) d += bb[i] - bw[i];
    return d / idx.length;
  };
  const moreIv = bootstrapInterval(bb.length, diff, rng.fork('more'), { ...opts, unit: 'classes (paired)' });
  const moreValue = diff(Int32Array.from(bb.keys()));
  const labels = s.test.labels;
  const accDiff = (idx: Int32Array) => {
    let d = 0;
    for (const i of idx) d += (best.predictions[i] === labels[i] ? 1 : 0) - (worst.predictions[i] === labels[i] ? 1 : 0);
    return d / idx.length;
  };
  const accIv = bootstrapInterval(labels.length, accDiff, rng.fork('accuracy'), { ...opts, unit: 'test images (paired)' });
  const claims: Claim[] = [
    claim({
      id: 'architectures-differ',
      kind: 'check',
      claim: 'The architectures differ clearly in accuracy (the comparison needs them to)',
      paper: 'AlexNet, VGG-16, GoogLeNet and ResNet-50 span about 57-76% ImageNet top-1 [mem]',
      measured:
        `${best.label} ${pct(best.accuracy)} vs ${worst.label} ${pct(worst.accuracy)}: gap ` +
        `${pct(best.accuracy - worst.accuracy)} ${ivText(accIv, pct)}`,
      details: `holds when the paired bootstrap interval of the best-minus-worst test accuracy lies above ${R.accuracyGap}`,
      verdict: verdictFromInterval(accIv, R.accuracyGap, 'above'),
      interval: accIv,
    }),
    claim({
      id: 'crisp-masks-sparse',
      kind: 'paper',
      claim: 'Crisp masks are sparse: they perturb a small part of the image',
      paper: 'crisp masks cover compact parts (mask figure) [src]',
      measured: `mean perturbed area ${pct(area)} ${ivText(areaIv, pct)} over ${areas.length} images`,
      details: `holds when the bootstrap interval of the mean perturbed fraction (1 - m > 0.5) lies below ${R.maxArea}`,
      verdict: verdictFromInterval(areaIv, R.maxArea, 'below'),
      interval: areaIv,
    }),
    claim({
      id: 'crisp-masks-drop',
      kind: 'paper',
      claim: 'Blurring the crisp mask drops the class probability strongly',
      paper: 'drop = (p0 - p_mask)/p0 is reported per mask; exact values not at hand [mem]',
      measured: `mean drop ${pct(drop)} ${ivText(dropIv, pct)} over ${drops.length} images`,
      details: `holds when the bootstrap interval of the mean drop lies above ${R.minDrop}`,
      verdict: verdictFromInterval(dropIv, R.minDrop, 'above'),
      interval: dropIv,
    }),
  ];
  if (gains.length) {
    const iv = meanInterval(gains, rng.fork('purity'), { ...opts, unit: 'summaries' });
    const meanPurity = summaries.reduce((a, sm) => a + sm.purity, 0) / summaries.length;
    const meanChance = summaries.reduce((a, sm) => a + sm.chancePurity, 0) / summaries.length;
    claims.push(
      claim({
        id: 'summaries-part-pure',
        kind: 'paper',
        claim: 'Summaries are part-pure: their regions show one part, beyond chance',
        paper: 'users judged that the regions of a summary show the same part (user study) [src]',
        measured:
          `mean purity ${pct(meanPurity)} vs chance ${pct(meanChance)}: gain ${pct(meanPurity - meanChance)} ${ivText(iv, pct)} ` +
          `over ${gains.length} summaries`,
        details:
          `holds when the bootstrap interval of mean(purity - chance purity) lies above ${R.purityMargin}; chance = same-size ` +
          `summaries drawn from the class's candidate regions, one per image`,
        verdict: verdictFromInterval(iv, R.purityMargin, 'above'),
        interval: iv,
      }),
    );
  } else {
    claims.push(
      claim({
        id: 'summaries-part-pure',
        kind: 'paper',
        claim: 'Summaries are part-pure beyond chance',
        paper: 'user study [src]',
        measured: 'no summaries were kept',
        details: 'needs at least one summary',
        verdict: 'inconclusive',
      }),
    );
  }
  claims.push(
    claim({
      id: 'better-nets-more-summaries',
      kind: 'paper',
      claim: 'Better networks give more summaries per class',
      paper: 'GoogLeNet yields more summaries than AlexNet; the number correlates with accuracy (v3) [src]',
      measured:
        `${best.label} (${pct(best.accuracy)}) ${mean(bb).toFixed(2)} vs ${worst.label} (${pct(worst.accuracy)}) ` +
        `${mean(bw).toFixed(2)} summaries per class: difference ${moreValue.toFixed(2)} ${ivText(moreIv, (x) => x.toFixed(2))}`,
      details:
        `holds when the paired bootstrap interval (over classes) of best-minus-worst mean summaries per class lies above ` +
        `${R.moreSummaries}`,
      verdict: verdictFromInterval(moreIv, R.moreSummaries, 'above'),
      interval: moreIv,
    }),
  );
  return claims;
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
}
