import * as fs from 'fs';
import * as path from 'path';
import { command } from '../../lib/cli/data';
import { readImage } from '../../lib/plot/images';
import { tmpDir } from './helpers';

const root = tmpDir('cli');

async function run(argv: string[]): Promise<string> {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    expect(await command.run(argv)).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

describe('tessera data', () => {
  test('describe --json: shape, splits, class counts, truth kinds, speed', async () => {
    const info = JSON.parse(await run(['describe', 'parts-birds', '--size', '20', '--json']));
    expect(info.imageShape).toEqual([64, 64, 3]);
    expect(info.splits.train.images).toBe(20);
    expect(info.splits.test.classCounts['red-head barred-wing']).toBe(2);
    expect(info.groundTruth[0]).toMatch(/^part maps \(7: head, beak/);
    expect(info.discriminativeParts['white-eye fan-tail']).toEqual(['eye', 'tail']);
    expect(info.splits.train.imagesPerSecond).toBeGreaterThan(0);
    expect(info.speedKind).toBe('generation');
  });

  test('describe as text', async () => {
    const text = await run(['describe', 'facades', '--size', '6']);
    expect(text).toMatch(/image +128x128x3/);
    expect(text).toMatch(/brickland +1 \/ +1 +decided by: wall, frame, roof/);
    expect(text).toMatch(/ground truth part maps \(7: wall, window/);
  });

  test('sample writes a PNG grid with overlays', async () => {
    const out = path.join(root, 'birds.png');
    const text = await run(['sample', 'parts-birds', '--out', out, '--n', '4']);
    expect(text).toMatch(/wrote .*birds\.png: 4 parts-birds train images \(left: image, right: ground truth 1=head/);
    const img = await readImage(out);
    // 2 rows of (image, overlay) pairs at 2x (128 px) with 2 px padding: 4 cells of 128 + 5 pads wide.
    expect(img.width).toBe(4 * 128 + 5 * 2);
    expect(fs.statSync(out).size).toBeGreaterThan(1000);
  });

  test('bad usage is a clear error', async () => {
    await expect(command.run(['describe'])).rejects.toThrow(/name a dataset/);
    await expect(command.run(['describe', 'imagenet'])).rejects.toThrow(/unknown dataset "imagenet"/);
    await expect(command.run(['sample', 'parts-birds'])).rejects.toThrow(/needs --out/);
    await expect(command.run(['frobnicate', 'parts-birds'])).rejects.toThrow(/expected "describe" or "sample"/);
    await expect(command.run(['describe', 'parts-birds', '--bogus'])).rejects.toThrow(/unknown option --bogus/);
  });
});
