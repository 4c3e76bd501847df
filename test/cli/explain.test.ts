import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { main } from '../../lib/cli';
import { initEngine } from '../../lib/engine';
import { METHODS } from '../../lib/explain';
import { buildModel, saveModel } from '../../lib/models';

/**
 * `tessera explain` in-process on tiny models (cpu backend): outputs for --method all and single methods, --list, and
 * every bad input giving exit 2, one message naming the problem, and no output folder.
 */

let dir: string;
const SIDE = 16;

/** Runs the CLI, capturing what it prints. */
async function tessera(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  try {
    const code = await main(['explain', ...argv, '--backend', 'cpu']);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** The entries of `parent` that belong to the output folder `name` (itself or temporary siblings). */
const leftovers = (parent: string, name: string) => fs.readdirSync(parent).filter((f) => f === name || f.startsWith(`${name}.`));

beforeAll(async () => {
  process.env.TESSERA_PROGRESS = '0';
  await initEngine({ backend: 'cpu', quiet: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-explain-'));
  // A GAP model (CAM applies) with its build config, a flatten -> dense model (CAM does not), and a tiny BagNet.
  const input = { inputShape: [SIDE, SIDE, 1] as [number, number, number], numClasses: 3 };
  const gapConfig = { family: 'gap' as const, widths: [4, 6] };
  await saveModel(buildModel(gapConfig, input, 1), path.join(dir, 'gap'), { tessera: { config: gapConfig } });
  const flat = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [SIDE, SIDE, 1], filters: 2, kernelSize: 3, activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3 }),
    ],
  });
  await saveModel(flat, path.join(dir, 'flat'));
  const bagnetConfig = { family: 'bagnet' as const, q: 5, widths: [4, 4, 4] };
  await saveModel(buildModel(bagnetConfig, input, 2), path.join(dir, 'bagnet'), { tessera: { config: bagnetConfig } });
  // Images: RGB PNGs of another size (resized and turned grey by the loader), one JPEG in a sub-folder.
  const images = path.join(dir, 'images');
  fs.mkdirSync(path.join(images, 'sub'), { recursive: true });
  const pixels = (k: number) => Buffer.from(Array.from({ length: 20 * 20 * 3 }, (_, i) => (i * (k + 3)) % 251 & 255));
  const raw = (k: number) => sharp(pixels(k), { raw: { width: 20, height: 20, channels: 3 } });
  await raw(0).png().toFile(path.join(images, 'a.png'));
  await raw(1).png().toFile(path.join(images, 'b.png'));
  await raw(2)
    .jpeg()
    .toFile(path.join(images, 'sub', 'c.jpg'));
  fs.writeFileSync(path.join(images, 'notes.txt'), 'not an image');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  delete process.env.TESSERA_PROGRESS;
});

describe('tessera explain', () => {
  it('runs every applicable method: overlays, sheets, maps as JSON, predictions and targets', async () => {
    const out = path.join(dir, 'out-all');
    const r = await tessera(
      '--model',
      path.join(dir, 'gap', 'model.json'),
      '--images',
      path.join(dir, 'images'),
      '--method',
      'all',
      '--out',
      out,
      '--steps',
      '4',
      '--mask-steps',
      '3,2',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/skipped bagnet-patches: it needs a BagNet/);
    expect(r.out).toMatch(/skipped bagnet-sweep: it needs a BagNet/);
    expect(r.out).toContain(`to ${out} in `);
    // Every registered method either ran or was skipped with a reason; these must run on a GAP model.
    const summary = readJson(path.join(out, 'explain.json'));
    const ran: string[] = summary.methods.map((m: { id: string }) => m.id);
    const skipped: { id: string; reason: string }[] = summary.skipped;
    expect(ran).toEqual(
      expect.arrayContaining(['saliency', 'gradient-x-input', 'integrated-gradients', 'occlusion', 'sliding-window', 'cam', 'grad-cam']),
    );
    expect([...ran, ...skipped.map((s) => s.id)].sort()).toEqual(METHODS.map((m) => m.info.id).sort());
    for (const s of skipped) expect(r.out).toContain(`skipped ${s.id}: ${s.reason}`);
    const names = ['a', 'b', 'sub__c'];
    expect(skipped.map((s) => s.id)).toEqual(expect.arrayContaining(['bagnet-patches', 'bagnet-sweep']));
    expect(summary.input).toEqual({ height: SIDE, width: SIDE, channels: 1, fit: 'cover' });
    expect(summary.images.map((i: { name: string }) => i.name)).toEqual(names);
    for (const im of summary.images) {
      expect(im.target).toBe(im.prediction); // default target: the predicted class
      expect(im.probability).toBeGreaterThan(0);
    }
    expect(fs.readdirSync(path.join(out, 'overlays'))).toHaveLength(names.length * ran.length);
    expect(fs.readdirSync(path.join(out, 'sheets')).sort()).toEqual(names.map((n) => `${n}.png`));
    for (const id of ran) {
      const maps = readJson(path.join(out, 'maps', `${id}.json`));
      expect(maps).toMatchObject({ method: id, n: 3, imageHeight: SIDE, imageWidth: SIDE, images: names });
      expect(maps.targets).toEqual(summary.images.map((i: { prediction: number }) => i.prediction));
      expect(maps.values).toHaveLength(3);
      expect(maps.values[0]).toHaveLength(maps.height);
      expect(maps.values[0][0]).toHaveLength(maps.width);
      expect(maps.geometry.y).toEqual(
        expect.objectContaining({ size: expect.any(Number), jump: expect.any(Number), start: expect.any(Number) }),
      );
    }
    // Upscaled to be readable: a 16 px image becomes 224 px (14x), beside its overlay.
    const png = await sharp(path.join(out, 'overlays', 'a.cam.png')).metadata();
    expect(png.width).toBeGreaterThanOrEqual(2 * 224);
    expect(png.height).toBeGreaterThanOrEqual(224);
    // A rerun replaces a previous explain output.
    const again = await tessera(
      '--model',
      path.join(dir, 'gap'),
      '--images',
      path.join(dir, 'images', 'a.png'),
      '--method',
      'cam',
      '--out',
      out,
    );
    expect(again.code).toBe(0);
    expect(fs.readdirSync(path.join(out, 'overlays'))).toEqual(['a.cam.png']);
    expect(fs.existsSync(path.join(out, 'sheets'))).toBe(false);
  });

  it('runs one method on one image with a given target, and the BagNet methods with the saved config', async () => {
    const out = path.join(dir, 'out-bagnet');
    const r = await tessera(
      '--model',
      path.join(dir, 'bagnet', 'model.json'),
      '--images',
      path.join(dir, 'images', 'b.png'),
      '--method',
      'bagnet-sweep,bagnet-patches',
      '--target',
      '2',
      '--out',
      out,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const sweep = readJson(path.join(out, 'maps', 'bagnet-sweep.json'));
    expect(sweep).toMatchObject({ n: 1, height: SIDE, width: SIDE, targets: [2], signed: true });
    const patches = readJson(path.join(out, 'maps', 'bagnet-patches.json'));
    expect(patches.targets).toEqual([2]);
    expect(readJson(path.join(out, 'explain.json')).images[0].target).toBe(2);
    expect(fs.readdirSync(path.join(out, 'overlays')).sort()).toEqual(['b.bagnet-patches.png', 'b.bagnet-sweep.png']);
  });

  it('lists the methods, and with --model whether each applies', async () => {
    const plain = await tessera('--list');
    expect(plain.code).toBe(0);
    expect(plain.out).toContain('integrated-gradients  Integrated gradients');
    const json = JSON.parse((await tessera('--list', '--json', '--model', path.join(dir, 'flat', 'model.json'))).out);
    const cam = json.find((m: { id: string }) => m.id === 'cam');
    expect(cam).toMatchObject({ label: 'CAM', signed: true, needs: { gapHead: true }, applies: false });
    expect(cam.problem).toContain('GlobalAveragePooling2D');
    expect(json.find((m: { id: string }) => m.id === 'saliency').applies).toBe(true);
  });

  describe('bad input: exit 2, one message naming the problem, nothing written', () => {
    const cases: [string, () => string[], RegExp][] = [
      ['an unknown method', () => ['--method', 'shap'], /unknown method "shap"; known methods: saliency, .*bagnet-sweep/],
      [
        'a method the model cannot support',
        () => ['--model', path.join(dir, 'flat', 'model.json'), '--method', 'cam'],
        /method "cam" cannot explain .*flat.*GlobalAveragePooling2D/,
      ],
      ['a target out of range', () => ['--target', '3'], /--target 3 is out of range: the model has 3 classes \(0\.\.2\)/],
      ['an unreadable image', () => ['--images', path.join(dir, 'bad-images')], /bad-images.*broken\.png: cannot decode the image/],
      ['a missing model', () => ['--model', path.join(dir, 'nowhere', 'model.json')], /nowhere.*model\.json not found/],
      ['a corrupt model', () => ['--model', path.join(dir, 'corrupt', 'model.json')], /corrupt.*model\.json is not valid JSON/],
      [
        'weights that do not match the model',
        () => ['--model', path.join(dir, 'short', 'model.json')],
        /hold \d+ bytes but its manifest describes \d+/,
      ],
      ['an empty folder', () => ['--images', path.join(dir, 'empty')], /the folder .*empty holds no images/],
      ['a window larger than the image', () => ['--method', 'occlusion', '--window', '40'], /--window 40 exceeds the 16 px side/],
    ];

    beforeAll(() => {
      fs.mkdirSync(path.join(dir, 'empty'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'bad-images'), { recursive: true });
      fs.copyFileSync(path.join(dir, 'images', 'a.png'), path.join(dir, 'bad-images', 'a.png'));
      fs.writeFileSync(path.join(dir, 'bad-images', 'broken.png'), 'not a png');
      fs.mkdirSync(path.join(dir, 'corrupt'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'corrupt', 'model.json'), '{"modelTopology": ');
      fs.cpSync(path.join(dir, 'gap'), path.join(dir, 'short'), { recursive: true });
      const w = path.join(dir, 'short', 'weights.bin');
      fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 40));
    });

    it.each(cases)('%s', async (_name, extra, message) => {
      const out = path.join(dir, 'out-bad');
      // The flags of a good run, with the case's flags (pairs) replacing or adding to them.
      const flags = new Map([
        ['--model', path.join(dir, 'gap', 'model.json')],
        ['--images', path.join(dir, 'images')],
        ['--method', 'all'],
        ['--out', out],
      ]);
      const args = extra();
      for (let k = 0; k < args.length; k += 2) flags.set(args[k], args[k + 1]);
      const r = await tessera(...[...flags].flat());
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^tessera explain: /);
      expect(leftovers(dir, 'out-bad')).toEqual([]);
    });

    it('refuses to replace a folder that is not an explain output', async () => {
      const out = path.join(dir, 'precious');
      fs.mkdirSync(out);
      fs.writeFileSync(path.join(out, 'keep.txt'), 'mine');
      const r = await tessera('--model', path.join(dir, 'gap'), '--images', path.join(dir, 'images'), '--method', 'saliency', '--out', out);
      expect(r.code).toBe(2);
      expect(r.err).toContain('is not a previous explain output');
      expect(fs.readdirSync(out)).toEqual(['keep.txt']);
    });
  });
});
