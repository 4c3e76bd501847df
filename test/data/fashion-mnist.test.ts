import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { encodeIdx, parseIdx, readIdx } from '../../lib/data/idx';
import { FASHION_FILES, loadFashionMnist, findFashionDir } from '../../lib/data/fashion-mnist';
import { UserError } from '../../lib/util/errors';
import { tmpDir } from './helpers';

const root = tmpDir('idx');

/** Writes a small Fashion-MNIST-shaped split: n images of h x w, pixel = (i + y + x) mod 256, label i mod 10. */
function writeSplit(dir: string, split: 'train' | 'test', n: number, opts: { labels?: number; gz?: boolean } = {}): void {
  fs.mkdirSync(dir, { recursive: true });
  const h = 3;
  const w = 2;
  const px = new Uint8Array(n * h * w).map((_, j) => (Math.floor(j / (h * w)) + Math.floor((j % (h * w)) / w) + (j % w)) % 256);
  const nl = opts.labels ?? n;
  const labels = new Uint8Array(nl).map((_, i) => i % 10);
  const f = FASHION_FILES[split];
  const write = (name: string, bytes: Uint8Array) =>
    opts.gz === false
      ? fs.writeFileSync(path.join(dir, name.replace(/\.gz$/, '')), bytes)
      : fs.writeFileSync(path.join(dir, name), zlib.gzipSync(bytes));
  write(f.images, encodeIdx([n, h, w], px));
  write(f.labels, encodeIdx([nl], labels));
}

describe('IDX', () => {
  test('encode then parse round-trips dims and data', () => {
    const data = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const parsed = parseIdx(encodeIdx([2, 3], data), 'x');
    expect(parsed.dims).toEqual([2, 3]);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('bad magic names the file and the bytes found', () => {
    const bytes = encodeIdx([2], new Uint8Array([1, 2]));
    bytes[0] = 0x3c; // "<" as in an HTML error page
    expect(() => parseIdx(bytes, 'foo.idx')).toThrow(/foo\.idx: bad IDX magic 3c 00 08 01/);
  });

  test('unsupported element type and size mismatch are errors', () => {
    const bytes = encodeIdx([2], new Uint8Array([1, 2]));
    bytes[2] = 0x0d;
    expect(() => parseIdx(bytes, 'f')).toThrow(/element type 0x0d/);
    const short = encodeIdx([3, 2], new Uint8Array(6)).subarray(0, 4 + 8 + 5);
    expect(() => parseIdx(short, 'g')).toThrow(/g: IDX header says 3x2 = 6 bytes of data, found 5; the file is truncated/);
    const long = new Uint8Array([...encodeIdx([2], new Uint8Array(2)), 9]);
    expect(() => parseIdx(long, 'h')).toThrow(/longer than its header says/);
  });

  test('truncated gzip is a UserError naming the file', () => {
    const file = path.join(root, 'trunc.gz');
    const gz = zlib.gzipSync(encodeIdx([100], new Uint8Array(100).fill(7)));
    fs.writeFileSync(file, gz.subarray(0, gz.length - 12));
    expect(() => readIdx(file)).toThrow(UserError);
    expect(() => readIdx(file)).toThrow(/trunc\.gz: not a valid gzip stream/);
  });

  test('reads plain (not gzipped) files too', () => {
    const file = path.join(root, 'plain.idx');
    fs.writeFileSync(file, encodeIdx([2, 2], new Uint8Array([9, 8, 7, 6])));
    expect(Array.from(readIdx(file).data)).toEqual([9, 8, 7, 6]);
  });
});

describe('Fashion-MNIST loader', () => {
  test('loads a split from --data, images NHWC with one channel', async () => {
    const dir = path.join(root, 'good');
    writeSplit(dir, 'train', 12);
    writeSplit(dir, 'test', 5, { gz: false });
    const train = await loadFashionMnist({ split: 'train', data: dir, download: false });
    expect(train.size).toBe(12);
    expect(train.imageShape).toEqual([3, 2, 1]);
    expect(train.classNames[9]).toBe('Ankle boot');
    expect(Array.from(train.imageBytes(4))).toEqual([4, 5, 5, 6, 6, 7]);
    expect(Array.from(train.labels.subarray(9, 12))).toEqual([9, 0, 1]);
    const test = await loadFashionMnist({ split: 'test', data: dir, download: false });
    expect(test.size).toBe(5);
    expect(findFashionDir('test', dir)).toBe(path.resolve(dir));
  });

  test('label count mismatch names both files', async () => {
    const dir = path.join(root, 'mismatch');
    writeSplit(dir, 'train', 6, { labels: 5 });
    await expect(loadFashionMnist({ split: 'train', data: dir, download: false })).rejects.toThrow(
      /train-labels-idx1-ubyte\.gz holds 5 labels but .*train-images-idx3-ubyte\.gz holds 6 images/,
    );
  });

  test('labels outside 0..9 are rejected', async () => {
    const dir = path.join(root, 'badlabel');
    writeSplit(dir, 'train', 3);
    fs.writeFileSync(path.join(dir, FASHION_FILES.train.labels), zlib.gzipSync(encodeIdx([3], new Uint8Array([0, 12, 1]))));
    await expect(loadFashionMnist({ split: 'train', data: dir, download: false })).rejects.toThrow(/label 12 at index 1 is outside 0\.\.9/);
  });

  test('missing files: a clear error naming apt-get install dataset-fashion-mnist', async () => {
    const dir = path.join(root, 'empty');
    fs.mkdirSync(dir, { recursive: true });
    const p = loadFashionMnist({ split: 'train', data: dir, download: false });
    await expect(p).rejects.toThrow(UserError);
    await expect(loadFashionMnist({ split: 'train', data: dir, download: false })).rejects.toThrow(/apt-get install dataset-fashion-mnist/);
  });
});

describe('Fashion-MNIST download', () => {
  // A local HTTP server stands in for the official location.
  const http = require('http') as typeof import('http');
  const crypto = require('crypto') as typeof import('crypto');
  let server: import('http').Server;
  let url = '';
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    const src = path.join(root, 'served');
    writeSplit(src, 'test', 4);
    for (const name of Object.values(FASHION_FILES.test)) files[name] = fs.readFileSync(path.join(src, name));
    server = http.createServer((req, res) => {
      const body = files[(req.url ?? '').slice(1)];
      res.statusCode = body ? 200 : 404;
      res.end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as import('net').AddressInfo).port}/`;
  });
  afterAll(() => server.close());

  const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');

  test('downloads, verifies the MD5s and then reads from the download folder', async () => {
    const sums = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, md5(v)]));
    const downloadDir = path.join(root, 'dl-ok');
    const ds = await loadFashionMnist({ split: 'test', download: true, downloadDir, url, md5: sums });
    expect(ds.size).toBe(4);
    expect(fs.readdirSync(downloadDir).sort()).toEqual(Object.values(FASHION_FILES.test).sort());
    // Found there next time without the server.
    const again = await loadFashionMnist({ split: 'test', download: false, downloadDir });
    expect(again.size).toBe(4);
  });

  test('a checksum mismatch leaves nothing behind and says what to do', async () => {
    const sums = Object.fromEntries(Object.keys(files).map((k) => [k, '0'.repeat(32)]));
    const downloadDir = path.join(root, 'dl-bad');
    const p = loadFashionMnist({ split: 'test', download: true, downloadDir, url, md5: sums });
    await expect(p).rejects.toThrow(/MD5 [0-9a-f]{32} differs from the published 0{32}.*apt-get install dataset-fashion-mnist/);
    expect(fs.existsSync(downloadDir) ? fs.readdirSync(downloadDir) : []).toEqual([]);
    await expect(loadFashionMnist({ split: 'train', download: true, downloadDir, url, md5: sums })).rejects.toThrow(/HTTP 404/);
  });
});
