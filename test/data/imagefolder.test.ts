import * as fs from 'fs';
import * as path from 'path';
import { loadImageFolder, writeImageFolder } from '../../lib/data/imagefolder';
import { partsBirds } from '../../lib/data/synthetic/birds';
import { loadDataset } from '../../lib/data';
import { UserError } from '../../lib/util/errors';
import { solidPng, tmpDir } from './helpers';

const root = tmpDir('imagefolder');

describe('ImageFolder', () => {
  beforeAll(async () => {
    await solidPng(path.join(root, 'flat', 'cat', 'a.png'), 10, 10, [255, 0, 0]);
    await solidPng(path.join(root, 'flat', 'cat', 'b.PNG'), 20, 10, [250, 0, 0]);
    await solidPng(path.join(root, 'flat', 'dog', 'c.png'), 8, 8, [0, 0, 255]);
    fs.writeFileSync(path.join(root, 'flat', 'dog', 'notes.txt'), 'ignored');
    // A JPEG, to check the second format.
    const sharp = (await import('sharp')).default;
    fs.mkdirSync(path.join(root, 'flat', 'eel'), { recursive: true });
    await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 0, g: 200, b: 0 } } })
      .jpeg()
      .toFile(path.join(root, 'flat', 'eel', 'd.jpg'));
    await solidPng(path.join(root, 'split', 'train', 'x', 'a.png'), 4, 4, [10, 10, 10]);
    await solidPng(path.join(root, 'split', 'test', 'x', 'a.png'), 4, 4, [20, 20, 20]);
    await solidPng(path.join(root, 'split', 'test', 'x', 'b.png'), 4, 4, [30, 30, 30]);
  });

  test('one class per sorted folder, images resized, colours kept', async () => {
    const ds = await loadImageFolder(path.join(root, 'flat'), { split: 'train', imageSize: 6 });
    expect(ds.classNames).toEqual(['cat', 'dog', 'eel']);
    expect(Array.from(ds.labels)).toEqual([0, 0, 1, 2]);
    expect(ds.imageShape).toEqual([6, 6, 3]);
    expect(Array.from(ds.imageBytes(0).subarray(0, 3))).toEqual([255, 0, 0]);
    expect(Array.from(ds.imageBytes(2).subarray(0, 3))).toEqual([0, 0, 255]);
    const g = ds.imageBytes(3);
    expect(g[1]).toBeGreaterThan(180);
    expect(g[0]).toBeLessThan(20);
  });

  test('grey output and train/test sub-folders', async () => {
    const grey = await loadImageFolder(path.join(root, 'flat'), { split: 'train', imageSize: 4, channels: 1 });
    expect(grey.channels).toBe(1);
    const test = await loadDataset('imagefolder', { data: path.join(root, 'split'), split: 'test', imageSize: 4 });
    expect(test.size).toBe(2);
    expect(test.imageBytes(1)[0]).toBe(30);
  });

  test('a per-class cap is applied before decoding, seeded, file order kept', async () => {
    const a = await loadDataset('imagefolder', { data: path.join(root, 'flat'), split: 'train', imageSize: 4, limit: 1, seed: 3 });
    expect(Array.from(a.labels)).toEqual([0, 1, 2]);
    const b = await loadDataset('imagefolder', { data: path.join(root, 'flat'), split: 'train', imageSize: 4, limit: 1, seed: 3 });
    expect(Array.from(b.images)).toEqual(Array.from(a.images));
    const seen = new Set<number>();
    for (let s = 0; s < 12; s++)
      seen.add((await loadImageFolder(path.join(root, 'flat'), { split: 'train', imageSize: 4, perClass: 1, seed: s })).imageBytes(0)[0]);
    expect([...seen].sort()).toEqual([250, 255]);
  });

  test('a folder without train/ and test/ is split by name hashes: disjoint, complete, stable', async () => {
    const dir = path.join(root, 'many');
    for (let i = 0; i < 30; i++)
      await solidPng(path.join(dir, i < 15 ? 'a' : 'b', `img${String(i).padStart(2, '0')}.png`), 4, 4, [i * 8, 0, 0]);
    const train = await loadImageFolder(dir, { split: 'train', imageSize: 2 });
    const test = await loadImageFolder(dir, { split: 'test', imageSize: 2 });
    const reds = (ds: typeof train) => Array.from({ length: ds.size }, (_, i) => ds.imageBytes(i)[0]);
    const all = [...reds(train), ...reds(test)].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 30 }, (_, i) => i * 8));
    expect(test.size).toBeGreaterThan(0);
    expect(test.size).toBeLessThan(15);
    expect(reds(train)).toContain(0); // a class's first image stays in train
    const again = await loadImageFolder(dir, { split: 'test', imageSize: 2, holdout: 0.2 });
    expect(reds(again)).toEqual(reds(test));
  });

  test('an empty class folder is an error naming it', async () => {
    fs.mkdirSync(path.join(root, 'empty', 'a'), { recursive: true });
    await solidPng(path.join(root, 'empty', 'b', 'x.png'), 4, 4, [1, 2, 3]);
    await expect(loadImageFolder(path.join(root, 'empty'), { split: 'train' })).rejects.toThrow(/class folder .*empty\/a holds no images/);
  });

  test('an unreadable image is an error naming the file', async () => {
    const dir = path.join(root, 'broken', 'a');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'bad.png'), 'this is not a png');
    const p = loadImageFolder(path.join(root, 'broken'), { split: 'train' });
    await expect(p).rejects.toThrow(UserError);
    await expect(loadImageFolder(path.join(root, 'broken'), { split: 'train' })).rejects.toThrow(
      /broken\/a\/bad\.png: cannot decode the image/,
    );
  });

  test('missing folder and folder without classes', async () => {
    await expect(loadImageFolder(path.join(root, 'nope'), { split: 'train' })).rejects.toThrow(/is not a directory/);
    fs.mkdirSync(path.join(root, 'noclasses'), { recursive: true });
    await expect(loadImageFolder(path.join(root, 'noclasses'), { split: 'train' })).rejects.toThrow(/holds no class folders/);
    await expect(loadDataset('imagefolder', { split: 'train' })).rejects.toThrow(/needs --data/);
  });

  test('a dataset written as an ImageFolder loads back byte for byte', async () => {
    const dir = path.join(root, 'export');
    const birds = partsBirds({ split: 'test', size: 6, classes: 3 });
    await writeImageFolder(dir, birds);
    const back = await loadImageFolder(dir, { split: 'test', imageSize: 64 });
    expect(back.classNames).toEqual(['blue-head_striped-body', 'red-head_barred-wing', 'red-head_forked-tail']);
    // Sorted class folders put class 2 (blue-head) first: its first image is bird 2.
    expect(Array.from(back.imageBytes(0))).toEqual(Array.from(birds.imageBytes(2)));
    expect(Array.from(back.labels)).toEqual([0, 0, 1, 1, 2, 2]);
  });
});
