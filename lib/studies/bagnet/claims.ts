import { mean } from '../../analysis/stats';
import type { Claim } from '../types';
import { CLAIM_RULES } from './config';
import { fix, pct } from './format';
import type { PointingScore } from './pointing';
import type { DatasetResult } from './results';

/** The claims, each with the paper's statement, our numbers and the rule (CLAIM_RULES) that decides it. */
export function bagnetClaims(results: DatasetResult[]): Claim[] {
  const R = CLAIM_RULES;
  const claims: Claim[] = [];
  const bags = (r: DatasetResult) => r.models.filter((m) => m.kind === 'bagnet');
  const cnns = (r: DatasetResult) => r.models.filter((m) => m.kind === 'cnn');
  const per = (f: (r: DatasetResult) => string) => results.map((r) => `${r.dataset}: ${f(r)}`).join('; ');
  const list = <T>(xs: T[], f: (x: T) => string, sep = ', ') => xs.map(f).join(sep);

  // 1. Accuracy rises with q.
  const rises = results.map((r) => {
    const b = bags(r);
    const noDrop = b.every((m, i) => i === 0 || m.accuracy >= b[i - 1].accuracy - R.accuracyDropTolerance);
    return noDrop && b[b.length - 1].accuracy > b[0].accuracy;
  });
  claims.push({
    id: 'accuracy-rises-with-q',
    claim: 'BagNet accuracy rises with the patch size q',
    paper: 'ImageNet top-5: BagNet-9 ≈ 70%, BagNet-17 80.5%, BagNet-33 87.6% (Fig. 1B)',
    measured: per((r) => list(bags(r), (m) => `q=${m.q} ${pct(m.accuracy)}`)),
    pass: rises.every(Boolean),
    details:
      `pass when, on every dataset, accuracy never drops by more than ${R.accuracyDropTolerance * 100} points from one q to ` +
      'the next and the largest q beats the smallest (top-1 on the test subset)',
  });
  // 2. Largest BagNet close to the VGG-like.
  const close = results.map((r) => {
    const b = bags(r);
    return b[b.length - 1].accuracy >= cnns(r)[0].accuracy - R.cnnMargin;
  });
  claims.push({
    id: 'largest-bagnet-near-cnn',
    claim: `The largest BagNet comes within ${R.cnnMargin * 100} points of the VGG-like CNN`,
    paper: 'BagNet-33 87.6% top-5 vs VGG-16 ≈ 90% (top-1 66.7% vs 71.6%); about AlexNet level for BagNet-17',
    measured: per((r) => {
      const big = bags(r)[bags(r).length - 1];
      return `${big.label} ${pct(big.accuracy)} vs ${list(cnns(r), (c) => `${c.label} ${pct(c.accuracy)}`)}`;
    }),
    pass: close.every(Boolean),
    details: `pass when on every dataset the largest BagNet's top-1 accuracy is at least the VGG-like's minus ${R.cnnMargin * 100} points`,
  });
  // 3. Image logits = mean of patch logits.
  const worst = Math.max(...results.flatMap((r) => Object.values(r.patchMeanMaxError)));
  claims.push({
    id: 'logits-are-mean-of-patch-logits',
    claim: 'BagNet image logits are exactly the mean of its patch logits',
    paper: 'by construction: average pooling and the linear classifier commute (reference code, issue #23)',
    measured: `largest relative difference over all BagNets and checked images: ${worst.toExponential(2)}`,
    pass: worst <= R.patchMeanTolerance,
    details: `pass when max |logit - mean(patch logits)| / max(1, |logit|) <= ${R.patchMeanTolerance} (float32)`,
  });
  // 4. Scrambling.
  const scr = results.map((r) => {
    const t = r.scramble.tiles;
    const j = t.indexOf(Math.max(...t.filter((v) => v <= r.scramble.compareTile)));
    const full = t.length - 1; // the image size: unscrambled
    const drop = (key: string) => r.scramble.accuracy[key][full] - r.scramble.accuracy[key][j];
    const tile = t[j];
    const b = bags(r).filter((m) => (m.q ?? 0) <= tile);
    const c = cnns(r);
    const ok =
      b.length > 0 &&
      b.every((m) => drop(m.key) <= R.scrambleBarely && c.every((cn) => drop(m.key) < drop(cn.key))) &&
      drop(c[c.length - 1].key) >= drop(c[0].key);
    return { ok, text: `t=${tile}: drops ${[...b, ...c].map((m) => `${m.label} ${(100 * drop(m.key)).toFixed(1)}`).join(', ')} points` };
  });
  claims.push({
    id: 'scrambling',
    claim: 'With tiles at least q wide, scrambling barely moves BagNet accuracy; the CNNs drop more, the deeper one most',
    paper: 'texturised ImageNet: VGG-16 top-5 only 90.1% → 79.4%; ResNet-50 and DenseNet drop much more',
    measured: results.map((r, i) => `${r.dataset} ${scr[i].text}`).join('; '),
    pass: scr.every((s) => s.ok),
    details:
      'at the comparison tile size (config scrambleCompareTile), pass when every BagNet with q <= t loses at most ' +
      `${R.scrambleBarely * 100} points and less than each CNN, and the ResNet-like loses at least as much as the VGG-like`,
  });
  // 5. Occlusion additivity.
  const add = results.map((r) => {
    const d = r.occlusion.distances;
    const okBag = bags(r).every((m) => d.every((dist, i) => dist < (m.q ?? 0) - 1 || r.occlusion.r[m.key][i] >= R.additiveR));
    const okCnn = cnns(r).every((c) => r.occlusion.interaction[c.key][d.length - 1] < r.occlusion.interaction[c.key][0]);
    return { okBag, okCnn, r };
  });
  const rAtGaps = (r: DatasetResult, key: string) =>
    r.occlusion.distances.map((d, i) => `d${d}=${fix(r.occlusion.r[key][i], 4)}`).join(' ');
  claims.push({
    id: 'occlusion-additive-beyond-q',
    claim: 'BagNet occlusion effects are additive beyond distance q (r = 1)',
    paper: 'BagNets are exactly linear in the occlusion of patches farther apart than the receptive field',
    measured: list(add, ({ r }) => `${r.dataset}: ${list(bags(r), (m) => `${m.label} r ${rAtGaps(r, m.key)}`, '; ')}`, ' | '),
    pass: add.every((a) => a.okBag),
    details:
      `pass when every BagNet-q has Pearson r >= ${R.additiveR} between joint and summed drops at every measured gap d >= q - 1 ` +
      '(no q x q patch sees both masks)',
  });
  const nearFar = (r: DatasetResult, key: string) => {
    const o = r.occlusion;
    const last = o.distances.length - 1;
    return (
      `|joint - sum| / (|a|+|b|) ${fix(o.interaction[key][0])} at d=${o.distances[0]} → ${fix(o.interaction[key][last])} ` +
      `at d=${o.distances[last]}, r ${fix(o.r[key][0])} → ${fix(o.r[key][last])}`
    );
  };
  claims.push({
    id: 'cnn-interactions-shrink',
    claim: "The CNNs' occlusion interactions shrink with distance",
    paper: 'VGG-16 shows few interactions between parts more than ~30 px apart; deeper ResNets/DenseNets interact over longer ranges',
    measured: list(add, ({ r }) => `${r.dataset}: ${list(cnns(r), (c) => `${c.label} ${nearFar(r, c.key)}`, '; ')}`, ' | '),
    pass: add.every((a) => a.okCnn),
    details:
      'pass when, for every CNN, the mean relative interaction |drop(a,b) - drop(a) - drop(b)| / mean(|drop(a)| + |drop(b)|) is ' +
      'smaller at the largest gap than at the smallest',
  });
  // 6. Removal.
  claims.push({
    id: 'removal-linear-for-bagnet',
    claim: 'BagNet logits decay close to linearly as its most predictive patches are masked',
    paper: 'BagNet evidence is a sum over patches, so masking patches removes their evidence one by one',
    measured: per((r) => `R² of a line through the mean logit vs k: ${fix(r.removal.bagnetR2, 4)}`),
    pass: results.every((r) => r.removal.bagnetR2 >= R.linearR2),
    details: `pass when R² >= ${R.linearR2} on every dataset (largest BagNet, cells ranked by its own per-pixel heatmap)`,
  });
  const faster = results.map((r) => {
    const big = bags(r)[bags(r).length - 1];
    const name = `${big.label} heatmap`;
    const parts = cnns(r).map((c) => {
      const cv = r.removal.curves[c.key];
      const auc = (y: number[]) => mean(y);
      const own = Object.entries(cv).find(([n]) => n.startsWith('own'))![1];
      return { c, bag: auc(cv[name].meanLogit), rand: auc(cv.random.meanLogit), grad: auc(own.meanLogit) };
    });
    return { r, parts };
  });
  const aucs = (p: (typeof faster)[number]['parts'][number]) =>
    `${p.c.label} mean logit over k: BagNet-chosen ${fix(p.bag, 2)}, own gradient ${fix(p.grad, 2)}, random ${fix(p.rand, 2)}`;
  claims.push({
    id: 'bagnet-patches-hurt-cnns',
    claim: 'Patches chosen by the BagNet heatmap hurt the CNNs faster than random patches',
    paper: 'BagNet-derived masks degrade VGG-16 fastest, faster than masks from attribution methods on the DNN itself',
    measured: faster.map(({ r, parts }) => `${r.dataset}: ${parts.map(aucs).join('; ')}`).join(' | '),
    pass: faster.every(({ parts }) => parts.every((p) => p.bag < p.rand)),
    details:
      'pass when, for every CNN on every dataset, the mean true-class logit averaged over k (area under the curve) is lower with ' +
      'BagNet-chosen cells than with random cells',
  });
  claims.push({
    id: 'bagnet-patches-beat-own-gradient',
    claim: "BagNet-chosen patches hurt the VGG-like faster than its own gradient attribution's",
    paper: 'BagNet masks degrade VGG-16 fastest (and predict DenseNet-169 sensitivity better than DeepLIFT on DenseNet itself)',
    measured: faster
      .map(({ r, parts }) => `${r.dataset}: BagNet-chosen ${fix(parts[0].bag, 2)} vs own gradient ${fix(parts[0].grad, 2)}`)
      .join('; '),
    pass: faster.every(({ parts }) => parts[0].bag < parts[0].grad),
    details:
      'pass when, for the VGG-like on every dataset, the area under the logit curve is lower with BagNet-chosen cells than with ' +
      'its own attribution (integrated gradients)',
  });
  // 7. Pointing game.
  const withParts = results.filter((r) => r.pointing);
  if (withParts.length) {
    const score = ([k, p]: [string, PointingScore]) =>
      `${k} hit ${pct(p.hitRate)} (chance ${pct(p.chance)}), evidence on parts ${pct(p.massOnTarget)} (area ${pct(p.areaFraction)})`;
    const scores = (r: DatasetResult) => Object.entries(r.pointing!).map(score).join('; ');
    claims.push({
      id: 'heatmaps-on-discriminative-parts',
      claim: 'On the synthetic world, BagNet heatmaps put their mass on the discriminative parts',
      paper:
        'qualitative in the paper (heatmaps highlight class-typical parts, e.g. fingers for "tench"); here checked against ' +
        'ground-truth parts',
      measured: withParts.map((r) => `${r.dataset}: ${scores(r)}`).join(' | '),
      pass: withParts.every((r) => Object.values(r.pointing!).every((p) => p.hitRate >= R.pointingFactor * p.chance)),
      details:
        `pass when for every BagNet the pointing-game hit rate is at least ${R.pointingFactor}x chance (chance = mean share of ` +
        'pixels within the tolerance of a discriminative part)',
    });
  }
  // 8. Logit correlation with the CNNs rises with q.
  const corr = results.map((r) => {
    const b = bags(r);
    const logitR = r.correlation.logitR;
    const rises = (c: string) => b.every((m, i) => i === 0 || logitR[c][m.key] >= logitR[c][b[i - 1].key] - R.logitCorrTolerance);
    return cnns(r).every((c) => rises(c.key));
  });
  claims.push({
    id: 'logit-correlation-rises-with-q',
    claim: "BagNet logits correlate more with the CNNs' as q grows",
    paper: 'correlation of BagNet logits with VGG-16 logits rises with q (Fig. 1C); BagNet-33 and VGG-16 errors are "quite similar"',
    measured: per((r) => {
      const rByQ = (c: string) => list(bags(r), (m) => `q${m.q}=${fix(r.correlation.logitR[c][m.key], 3)}`, ' ');
      return list(cnns(r), (c) => `${c.label} r ${rByQ(c.key)}`, '; ');
    }),
    pass: corr.every(Boolean),
    details: `pass when, for every CNN and dataset, r never drops by more than ${R.logitCorrTolerance} from one q to the next`,
  });
  return claims;
}
