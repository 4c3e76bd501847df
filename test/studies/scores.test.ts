import * as os from 'os';
import * as tf from '@tensorflow/tfjs';
import { METHODS } from '../../lib/explain/index';
import { buildModel, ModelConfig } from '../../lib/models/index';
import { scoresSteps } from '../../lib/studies/scores/index';
import { scoresClaims } from '../../lib/studies/scores/claims';
import { SCORES_CONFIGS, ScoresConfig } from '../../lib/studies/scores/config';
import { computeMaps, imagesFor, methodOptions, methodProblem } from '../../lib/studies/scores/maps';
import { freshModel, ProtoPNetBuild, ScoredModel, ScoresSession } from '../../lib/studies/scores/session';
import { CellValues, scoreTable, TableResult } from '../../lib/studies/scores/table';
import { SCALES } from '../../lib/studies/types';
import { Rng } from '../../lib/util/rng';

/** The scores study's pieces that need no trained model: config, method choice, the claims' rules on made-up cells. */

const n = 20;
const jitter = (base: number, k: number) => Array.from({ length: n }, (_, i) => base + ((i % 5) - 2) * k);

function cell(model: string, method: string, metric: string, values: number[], chance: number[] | null = null): CellValues {
  return { dataset: 'parts-birds', model, method, metric, values, chance };
}

/** A table where the rules' answers are known: saliency changes, gradient x input keeps its map, CAM localises, ... */
function table(): TableResult {
  const cells: CellValues[] = [
    cell('resnet', 'saliency', 'randomisation', jitter(0.1, 0.02)),
    cell('resnet', 'gradient-x-input', 'randomisation', jitter(0.9, 0.02)),
    cell('resnet', 'integrated-gradients', 'randomisation', jitter(0.5, 0.3)),
    cell('resnet', 'occlusion', 'randomisation', jitter(0.2, 0.02)),
    cell('resnet', 'cam', 'energy-in-mask', jitter(0.6, 0.05), new Array(n).fill(0.2)),
    cell('resnet', 'grad-cam', 'energy-in-mask', jitter(0.1, 0.05), new Array(n).fill(0.2)),
    cell('resnet', 'occlusion', 'deletion', jitter(0.2, 0.02), new Array(n).fill(0.5)),
    cell('resnet', 'saliency', 'deletion', jitter(0.4, 0.02), new Array(n).fill(0.5)),
    cell('resnet', 'cam', 'deletion', jitter(0.3, 0.02), new Array(n).fill(0.5)),
  ];
  return { rows: [], cells, curves: [] };
}

describe('scores claims', () => {
  const claims = scoresClaims(table(), new Rng(0), 500);
  const verdict = (id: string) => claims.find((c) => c.id === id)?.verdict;
  it('reads each rule against its threshold', () => {
    expect(verdict('randomisation-saliency')).toBe('holds');
    expect(verdict('randomisation-gradient-x-input')).toBe('fails');
    expect(verdict('randomisation-integrated-gradients')).toBe('inconclusive');
    expect(verdict('localises-cam')).toBe('holds');
    expect(verdict('localises-grad-cam')).toBe('fails');
    expect(verdict('occlusion-best-deletion')).toBe('holds');
    expect(verdict('input-dominance')).toBe('holds');
    expect(verdict('every-method-beats-random-order')).toBe('holds');
    expect(verdict('every-method-changes')).toBe('holds');
  });
  it('gives every claim a kind, a verdict, an interval or a reason, and pass = holds', () => {
    for (const c of claims) {
      expect(['paper', 'check', 'extension']).toContain(c.kind);
      expect(c.pass).toBe(c.verdict === 'holds');
      if (c.interval) expect(c.interval.low).toBeLessThanOrEqual(c.interval.high);
      else expect(c.measured).toMatch(/no |none/);
    }
  });
  it('says when a method applies to no model', () => {
    expect(verdict('localises-bagnet-patches')).toBe('inconclusive');
    expect(claims.find((c) => c.id === 'localises-bagnet-patches')!.measured).toMatch(/no model/);
  });
  it('a competitor better than occlusion on deletion makes the claim fail', () => {
    const t = table();
    t.cells.push(cell('resnet', 'grad-cam', 'deletion', jitter(0.05, 0.01), new Array(n).fill(0.5)));
    expect(scoresClaims(t, new Rng(0), 500).find((c) => c.id === 'occlusion-best-deletion')!.verdict).toBe('fails');
  });
  it('a failing deletion claim shows the failing comparison, not a wider inconclusive one', () => {
    const t = table();
    t.cells.push(cell('resnet', 'grad-cam', 'deletion', jitter(0.15, 0.01), new Array(n).fill(0.5)));
    t.cells.push(cell('resnet', 'prototype', 'deletion', jitter(0.2, 0.3), new Array(n).fill(0.5)));
    const c = scoresClaims(t, new Rng(0), 500).find((x) => x.id === 'occlusion-best-deletion')!;
    expect(c.verdict).toBe('fails');
    expect(c.interval!.low).toBeGreaterThan(0);
    expect(c.details).toMatch(/\(grad-cam:/);
  });
});

describe('scores config and method choice', () => {
  it('every scale: the deletion cell divides the 64 px images, subsets fit', () => {
    for (const scale of SCALES) {
      const c = SCORES_CONFIGS[scale];
      expect(64 % c.perturbation.cell).toBe(0);
      expect(c.randomisationImages).toBeLessThanOrEqual(c.images);
      expect(c.methods.maskImages).toBeLessThanOrEqual(c.images);
    }
  });
  it('the crisp mask explains maskImages, the others every image; cost options reach their method', () => {
    const c = SCORES_CONFIGS.quick;
    expect(imagesFor('crisp-mask', c, 32)).toBe(c.methods.maskImages);
    expect(imagesFor('saliency', c, 32)).toBe(32);
    expect(methodOptions('integrated-gradients', c, '')).toEqual({ steps: c.methods.igSteps });
    expect(methodOptions('occlusion', c, '')).toEqual({ window: c.methods.occlusionWindow, stride: c.methods.occlusionStride });
  });
  it('the sliding window needs a crop model', () => {
    const entry = METHODS.find((m) => m.info.id === 'sliding-window')!;
    const whole = { crop: null } as ScoredModel;
    expect(methodProblem(entry, whole)).toMatch(/crop model/);
  });
});

describe('maps and table on tiny untrained models (the path of the study without training)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  /** A session of one 16 px world: two images, a GAP model and its 8 px crop model, masks on the top-left quarter. */
  function tinySession(): ScoresSession {
    const config: ScoresConfig = {
      ...SCORES_CONFIGS.quick,
      images: 2,
      randomisationImages: 2,
      perturbation: { cell: 4, steps: 4, randomOrders: 2 },
      randomisation: { points: 2, absolute: false },
      methods: { igSteps: 2, occlusionWindow: 8, occlusionStride: 4, windowStride: 4, maskIterations: [2, 1], maskImages: 1 },
      resamples: 100,
    };
    const gap: ModelConfig = { family: 'gap', widths: [4, 8], convs: 1 };
    const input = { inputShape: [16, 16, 3] as [number, number, number], numClasses: 3 };
    const rng = new Rng(1);
    const pixels = Uint8Array.from({ length: 2 * 16 * 16 * 3 }, () => rng.int(256));
    const mask = Uint8Array.from({ length: 256 }, (_, p) => (p % 16 < 8 && p < 128 ? 1 : 0));
    const model = (key: string, crop: number | null, seed: number): ScoredModel => ({
      key,
      label: key,
      config: gap,
      model: buildModel(gap, input, seed),
      crop,
      accuracy: 0.5,
      accuracyInterval: { low: 0, high: 1, level: 0.95, over: 'images' },
      fromCache: false,
    });
    const protoBuild: ProtoPNetBuild = { family: 'protopnet', backbone: gap, channels: 2, prototypeClasses: [0, 1, 2] };
    const proto = model('protopnet', null, 3);
    proto.model.dispose();
    proto.config = protoBuild;
    proto.model = freshModel(proto, input, new Rng(3));
    return {
      ctx: { study: 'scores', scale: 'quick', seed: 0, outRoot: os.tmpdir(), out: os.tmpdir() },
      config,
      engine: { backend: 'cpu', threads: 1, detail: 'test' },
      rng: new Rng(0),
      datasets: [
        {
          name: 'parts-birds',
          label: 'tiny',
          x: tf.tensor4d(
            Float32Array.from(pixels, (v) => v / 255),
            [2, 16, 16, 3],
          ),
          labels: [0, 2],
          pixels,
          height: 16,
          width: 16,
          channels: 3,
          classNames: ['a', 'b', 'c'],
          masks: [mask, mask],
          truth: 'the top-left quarter',
          models: [model('gap-crop8', 8, 1), model('gap-whole', null, 2), proto],
        },
      ],
      seconds: {},
    };
  }

  it('runs every applicable method, skips the rest with a reason, scores every cell with an interval and a chance', async () => {
    const s = tinySession();
    const maps = computeMaps(s);
    const ran = (model: string) => maps.maps.filter((m) => m.model === model).map((m) => m.method);
    expect(ran('gap-crop8')).toContain('sliding-window');
    expect(ran('gap-whole')).not.toContain('sliding-window');
    expect(ran('gap-whole')).toEqual(expect.arrayContaining(['saliency', 'occlusion', 'cam', 'grad-cam', 'crisp-mask']));
    expect(maps.skipped.filter((k) => k.model === 'gap-whole').map((k) => k.method)).toEqual(
      expect.arrayContaining(['bagnet-patches', 'prototype']),
    );
    // The ProtoPNet: its prototype maps and the model-agnostic methods; no CAM (no GAP head), no window (no crop model).
    expect(ran('protopnet')).toEqual(expect.arrayContaining(['prototype', 'saliency', 'occlusion']));
    expect(ran('protopnet')).not.toContain('cam');
    expect(maps.maps.find((m) => m.method === 'crisp-mask')!.maps.n).toBe(1);
    const t = scoreTable(s, maps);
    expect(t.rows.length).toBe(maps.maps.length * 6);
    // Every cell scores some image, but sparseness, undefined on a constant map (an untrained model's empty crisp mask).
    expect(t.rows.filter((r) => !r.images && r.metric !== 'sparseness').map((r) => `${r.model} ${r.method} ${r.metric}`)).toEqual([]);
    for (const r of t.rows) {
      if (Number.isFinite(r.value) && r.images > 1) expect(r.low).toBeLessThanOrEqual(r.high);
      if (['pointing-game', 'energy-in-mask', 'deletion', 'insertion', 'randomisation'].includes(r.metric)) expect(r.chance).not.toBeNull();
      else expect(r.chance).toBeNull();
    }
    // The cascade re-initialises a fresh ProtoPNet's prototype layer too (freshModel builds the same layers).
    expect(t.rows.find((r) => r.model === 'protopnet' && r.method === 'prototype' && r.metric === 'randomisation')!.images).toBe(2);
    const energy = t.rows.find((r) => r.metric === 'energy-in-mask')!;
    expect(energy.chance).toBeCloseTo(0.25, 9);
    const out = await scoresSteps.output(s, maps, t);
    expect(out.figures.map((f) => f.name)).toEqual([
      'table-parts-birds',
      'deletion-curves',
      'insertion-curves',
      'randomisation-cascade',
      'maps-parts-birds',
    ]);
    expect(out.claims.length).toBeGreaterThan(5);
    scoresSteps.dispose(s);
  }, 300_000); // the cpu backend on a loaded 2-core machine: about 40 s
});
