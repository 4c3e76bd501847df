import * as fs from 'fs';
import * as path from 'path';
import { loadCub, writeCubLayout } from '../../lib/data/cub';
import { partsBirds } from '../../lib/data/synthetic/birds';
import { UserError } from '../../lib/util/errors';
import { solidPng, tmpDir } from './helpers';

const base = tmpDir('cub');

interface Layout {
  images: string;
  labels: string;
  split: string;
  boxes: string;
  classes: string;
  parts?: string;
  locs?: string;
}

const GOOD: Layout = {
  images: '1 001.Red/a.png\n2 001.Red/b.png\n3 002.Blue/c.png\n4 002.Blue/d.png\n',
  labels: '1 1\n2 1\n3 2\n4 2\n',
  split: '1 1\n2 0\n3 1\n4 0\n',
  // 40x20 images; box of image 1 is the right half.
  boxes: '1 20.0 0.0 20.0 20.0\n2 0 0 40 20\n3 10 5 20 10\n4 0 0 40 20\n',
  classes: '1 001.Red\n2 002.Blue\n',
  parts: '1 beak\n2 tail\n',
  locs: '1 1 30.0 10.0 1\n1 2 2.0 2.0 1\n3 1 20 10 1\n3 2 0 0 0\n',
};

async function makeCub(name: string, layout: Layout): Promise<string> {
  const dir = path.join(base, name, 'CUB_200_2011');
  fs.mkdirSync(path.join(dir, 'parts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'images.txt'), layout.images);
  fs.writeFileSync(path.join(dir, 'image_class_labels.txt'), layout.labels);
  fs.writeFileSync(path.join(dir, 'train_test_split.txt'), layout.split);
  fs.writeFileSync(path.join(dir, 'bounding_boxes.txt'), layout.boxes);
  fs.writeFileSync(path.join(dir, 'classes.txt'), layout.classes);
  if (layout.parts) fs.writeFileSync(path.join(dir, 'parts', 'parts.txt'), layout.parts);
  if (layout.locs) fs.writeFileSync(path.join(dir, 'parts', 'part_locs.txt'), layout.locs);
  for (const [f, c] of [
    ['001.Red/a.png', [255, 0, 0]],
    ['001.Red/b.png', [200, 0, 0]],
    ['002.Blue/c.png', [0, 0, 255]],
    ['002.Blue/d.png', [0, 0, 200]],
  ] as const) {
    await solidPng(path.join(dir, 'images', f), 40, 20, [...c] as [number, number, number]);
  }
  return path.join(base, name);
}

describe('CUB-200-2011 layout', () => {
  test('splits, labels, boxes and keypoints mapped to the output size', async () => {
    const dir = await makeCub('good', GOOD);
    const train = await loadCub(dir, { split: 'train', imageSize: 10 });
    expect(train.classNames).toEqual(['001.Red', '002.Blue']);
    expect(train.size).toBe(2);
    expect(Array.from(train.labels)).toEqual([0, 1]);
    expect(Array.from(train.imageBytes(0).subarray(0, 3))).toEqual([255, 0, 0]);
    // 'fill': x scaled by 10/40, y by 10/20.
    expect(Array.from(train.truth.boxes!.subarray(0, 4))).toEqual([5, 0, 10, 10]);
    expect(Array.from(train.truth.boxes!.subarray(4, 8))).toEqual([3, 3, 8, 8]);
    expect(train.truth.keypointNames).toEqual(['beak', 'tail']);
    expect(Array.from(train.truth.keypoints!.subarray(0, 6))).toEqual([7.5, 5, 1, 0.5, 1, 1]);
    // Image 3's tail is not visible.
    expect(train.truth.keypoints![11]).toBe(0);
    // Keypoint discs in the part map: label 1 (beak) around (7.5, 5).
    expect(train.truth.partMaps![0 * 100 + 5 * 10 + 7]).toBe(1);
    const test = await loadCub(dir, { split: 'test', imageSize: 10 });
    expect(test.size).toBe(2);
    expect(test.imageBytes(1)[2]).toBe(200);
  });

  test('per-class cap before decoding', async () => {
    const ds = await loadCub(path.join(base, 'good'), { split: 'test', imageSize: 4, perClass: 1 });
    expect(Array.from(ds.labels)).toEqual([0, 1]);
    const one = await loadCub(path.join(base, 'good'), { split: 'test', imageSize: 4, perClass: 0 }).catch((e: Error) => e.message);
    expect(String(one)).toMatch(/no test images/);
  });

  test('crop to the bounding box', async () => {
    const dir = path.join(base, 'good');
    // Image 1: left half red, right half green; its box is the right half.
    const sharp = (await import('sharp')).default;
    const px = Buffer.alloc(40 * 20 * 3);
    for (let i = 0; i < 40 * 20; i++) px[i * 3 + (i % 40 < 20 ? 0 : 1)] = 255;
    await sharp(px, { raw: { width: 40, height: 20, channels: 3 } })
      .png()
      .toFile(path.join(dir, 'CUB_200_2011', 'images', '001.Red', 'a.png'));
    const cropped = await loadCub(dir, { split: 'train', imageSize: 8, cropToBox: true });
    const img = cropped.imageBytes(0);
    for (let p = 0; p < 64; p++) expect([img[p * 3], img[p * 3 + 1]]).toEqual([0, 255]);
    const ds = await loadCub(dir, { split: 'train', imageSize: 8, cropToBox: true });
    expect(Array.from(ds.truth.boxes!.subarray(0, 4))).toEqual([0, 0, 8, 8]);
    // Beak at (30, 10) in the 20x20 box from x=20 -> (10/20*8, 10/20*8).
    expect(Array.from(ds.truth.keypoints!.subarray(0, 3))).toEqual([4, 4, 1]);
  });

  test('files that disagree are errors naming the file and line', async () => {
    const missing = await makeCub('missing', { ...GOOD, labels: '1 1\n2 1\n3 2\n' });
    await expect(loadCub(missing, { split: 'train' })).rejects.toThrow(
      /image_class_labels\.txt: has 3 images but images\.txt has 4 \(e\.g\. id 4 is missing\)/,
    );
    const extra = await makeCub('extra', { ...GOOD, split: GOOD.split + '5 1\n' });
    await expect(loadCub(extra, { split: 'train' })).rejects.toThrow(/train_test_split\.txt:5: image id 5 is not in images\.txt/);
    const badClass = await makeCub('badclass', { ...GOOD, labels: '1 1\n2 1\n3 7\n4 2\n' });
    await expect(loadCub(badClass, { split: 'train' })).rejects.toThrow(/image_class_labels\.txt:3: class 7 outside 1\.\.2/);
    const badBox = await makeCub('badbox', { ...GOOD, boxes: '1 20 0 20 20\n2 0 0 40 20\n3 30 5 30 10\n4 0 0 40 20\n' });
    await expect(loadCub(badBox, { split: 'train' })).rejects.toThrow(
      /bounding_boxes\.txt:3: box \[30, 5, 30, 10\] of image 3 does not fit its 40x20 image/,
    );
    const shortLine = await makeCub('short', { ...GOOD, boxes: '1 20 0 20\n' });
    await expect(loadCub(shortLine, { split: 'train' })).rejects.toThrow(/bounding_boxes\.txt:1: expected 5 fields, found 4/);
    const badPart = await makeCub('badpart', { ...GOOD, locs: '1 3 1 1 1\n' });
    await expect(loadCub(badPart, { split: 'train' })).rejects.toThrow(/part_locs\.txt:1: part id 3 outside 1\.\.2/);
    const noFile = await makeCub('nofile', { ...GOOD, images: GOOD.images.replace('c.png', 'zz.png') });
    await expect(loadCub(noFile, { split: 'train' })).rejects.toThrow(/image 3 is 002\.Blue\/zz\.png, but .* does not exist/);
    await expect(loadCub(path.join(base, 'none'), { split: 'train' })).rejects.toThrow(UserError);
  });

  test('parts are optional', async () => {
    const dir = await makeCub('noparts', { ...GOOD, parts: undefined, locs: undefined });
    const ds = await loadCub(dir, { split: 'test', imageSize: 4 });
    expect(ds.truth.partMaps).toBeUndefined();
    expect(ds.truth.boxes!.length).toBe(8);
  });

  test('generated birds written in the CUB layout load back with their boxes and part centroids', async () => {
    const dir = path.join(base, 'birds', 'CUB_200_2011');
    const train = partsBirds({ split: 'train', size: 6, classes: 3 });
    const test = partsBirds({ split: 'test', size: 3, classes: 3 });
    await writeCubLayout(dir, { train, test });
    const back = await loadCub(dir, { split: 'train', imageSize: 64 });
    expect(back.size).toBe(6);
    expect(back.classNames[0]).toBe('001.red-head_barred-wing');
    expect(Array.from(back.labels)).toEqual(Array.from(train.labels));
    expect(Array.from(back.images)).toEqual(Array.from(train.images));
    expect(Array.from(back.truth.boxes!)).toEqual(Array.from(train.truth.boxes!));
    expect(back.truth.keypointNames).toEqual(train.truth.partNames);
    // Each visible keypoint (a part centroid) sits in a disc labelled with its part (or a later part's disc drawn
    // over it: discs are drawn in part order), and the keypoint lies near the part's pixels.
    const k = back.truth.keypointNames!.length;
    for (let p = 0; p < k; p++) {
      const [x, y, vis] = back.truth.keypoints!.subarray(p * 3, p * 3 + 3);
      if (!vis) continue;
      expect(back.truth.partMaps![Math.floor(y) * 64 + Math.floor(x)]).toBeGreaterThanOrEqual(p + 1);
      let near = Infinity;
      for (let q = 0; q < 64 * 64; q++)
        if (train.truth.partMaps![q] === p + 1) near = Math.min(near, Math.hypot((q % 64) + 0.5 - x, Math.floor(q / 64) + 0.5 - y));
      expect(near).toBeLessThan(6);
    }
    expect((await loadCub(dir, { split: 'test', imageSize: 64 })).size).toBe(3);
  });
});
