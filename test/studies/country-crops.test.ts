import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { facades } from '../../lib/data/synthetic/facades';
import { writeImageFolder } from '../../lib/data/imagefolder';
import { Heatmaps, windowGeometry } from '../../lib/explain/heatmaps';
import { candidates, localMaxima } from '../../lib/studies/country-crops/galleries';
import { positiveShareOn } from '../../lib/studies/country-crops/maps';
import { maskShare } from '../../lib/studies/country-crops/truth';
import { COUNTRY_CROPS_CONFIGS, CountryCropsConfig } from '../../lib/studies/country-crops/config';
import { countryCropsSteps } from '../../lib/studies/country-crops';
import { makeContext } from '../../lib/studies/context';

describe('crop truth', () => {
  test('maskShare counts the square exactly', () => {
    const mask = new Uint8Array(16);
    mask[5] = 1; // (1,1) in a 4x4 image
    mask[10] = 1; // (2,2)
    expect(maskShare(mask, 4, 0, 0, 2)).toBe(0.25);
    expect(maskShare(mask, 4, 1, 1, 2)).toBe(0.5);
    expect(maskShare(mask, 4, 2, 0, 2)).toBe(0);
  });
});

describe('candidate crops from maps', () => {
  test('localMaxima keeps cells no neighbour exceeds (plateaus keep all their cells)', () => {
    // 3x3: peaks at (0,0) = 5 and (2,2) = 4; the corners (0,2) and (2,0) of the plateau of 2s touch neither peak.
    expect(localMaxima([5, 2, 2, 2, 2, 2, 2, 2, 4], 3, 3)).toEqual([0, 2, 6, 8]);
    expect(localMaxima([5, 2, 2, 2, 3, 2, 2, 2, 4], 3, 3)).toEqual([0, 8]);
    expect(localMaxima([1, 1, 1, 1], 2, 2)).toEqual([0, 1, 2, 3]);
  });

  test('window cells give their window; larger CAM fields give a crop centred on the field, clamped into the image', () => {
    const base = { method: 'x', n: 1, imageHeight: 16, imageWidth: 16, targets: [0], signed: false };
    const win: Heatmaps = { ...base, height: 2, width: 2, geometry: windowGeometry(8, 8), values: Float32Array.from([0, 1, 0, 0]) };
    expect(candidates(win, 8, 16)).toEqual([{ image: 0, y: 0, x: 8, score: 1 }]);
    // A 1x3 map of 12 px fields every 8 px from -2: centres 4, 12, 20; an 8 px crop at centre 4 starts at 0, the one at
    // centre 20 would start at 16 and is clamped to 8 (the 16 px image).
    const cam: Heatmaps = { ...base, height: 1, width: 3, geometry: windowGeometry(12, 8, -2), values: Float32Array.from([3, 0, 2]) };
    expect(candidates(cam, 8, 16)).toEqual([
      { image: 0, y: 0, x: 0, score: 3 },
      { image: 0, y: 0, x: 8, score: 2 },
    ]);
  });

  test('positiveShareOn: positive mass on the mask over all positive mass, negatives ignored', () => {
    const h: Heatmaps = {
      method: 'x',
      n: 1,
      height: 2,
      width: 2,
      imageHeight: 2,
      imageWidth: 2,
      targets: [0],
      signed: true,
      geometry: windowGeometry(1, 1),
      values: Float32Array.from([3, 1, -5, 0]),
    };
    expect(positiveShareOn(h, 0, [1, 0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(positiveShareOn(h, 0, [0, 0, 0, 0])).toBe(0);
  });
});

describe('country-crops study end to end on a tiny ImageFolder (--data)', () => {
  test('trains, explains, clusters, writes the A/B task set; cue claims are inconclusive without ground truth', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-'));
    const data = path.join(root, 'data');
    // A real ImageFolder on disk (PNG files in class folders, train/ and test/), made from three facades classes at 32 px.
    await writeImageFolder(data, facades({ split: 'train', side: 32, size: 60, classes: 3 }));
    await writeImageFolder(data, facades({ split: 'test', side: 32, size: 30, classes: 3 }));
    const prev = process.env.TESSERA_MODELS;
    process.env.TESSERA_MODELS = path.join(root, 'models');
    try {
      const ctx = makeContext({ study: 'country-crops', scale: 'quick', seed: 0, outRoot: path.join(root, 'out'), data });
      const config: CountryCropsConfig = {
        ...COUNTRY_CROPS_CONFIGS.quick,
        side: 32,
        crops: [8, 16],
        galleryCrop: 8,
        model: { family: 'gap', widths: [8, 16], convs: 1, batchNorm: true },
        epochs: 1,
        imagesPerClass: 5,
        topN: 6,
        clusters: 3,
        resamples: 50,
        randomCropsPerImage: 2,
      };
      const s = await countryCropsSteps.prepare(ctx, config);
      try {
        expect(s.truth).toBeNull();
        expect(s.test.numClasses).toBe(3);
        const acc = countryCropsSteps.accuracy(s);
        expect(acc.models.map((m) => m.crop)).toEqual([8, 16, 32]);
        const images = countryCropsSteps.explainedImages(s);
        expect(images.indices).toHaveLength(15);
        const m = countryCropsSteps.maps(s, images);
        expect(m.cam.height).toBe(16);
        expect(m.window.height).toBe((32 - 8) / config.windowStride + 1);
        expect(m.camMeanError).toBeLessThan(1e-4);
        const g = countryCropsSteps.galleries(s, m);
        for (const o of g.galleries) {
          expect(o.clustered.length).toBe(Math.min(3, o.pool.length));
          expect(new Set(o.clustered).size).toBe(o.clustered.length);
        }
        const u = await countryCropsSteps.writeUserStudy(s, g, countryCropsSteps.explainedPixels(s, m));
        const set = JSON.parse(fs.readFileSync(u.tasksFile, 'utf8'));
        expect(set.study).toBe('country-crops');
        expect(set.tasks).toHaveLength(3);
        for (const t of set.tasks) {
          expect(t.kind).toBe('ab');
          expect(t.fields.choice).toEqual({ type: 'enum', values: ['left', 'right'], label: 'The better set' });
          for (const img of t.images) expect(fs.existsSync(path.join(u.dir, img))).toBe(true);
          expect([t.meta.left, t.meta.right].sort()).toEqual(['cam', 'window']);
        }
        const claims = countryCropsSteps.claims(acc, m, null, g);
        for (const c of claims) expect(c.pass).toBe(c.verdict === 'holds');
        expect(claims.find((c) => c.id === 'window-beats-cam')!.verdict).toBe('inconclusive');
        expect(claims.find((c) => c.id === 'cam-mean-equals-logit')!.verdict).toBe('holds');
      } finally {
        countryCropsSteps.dispose(s);
      }
    } finally {
      if (prev === undefined) delete process.env.TESSERA_MODELS;
      else process.env.TESSERA_MODELS = prev;
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 300000);
});
