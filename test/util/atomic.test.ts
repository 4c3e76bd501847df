import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../../lib/util/atomic';

describe('atomic writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-atomic-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes files and JSON, creating folders, leaving no temporary files', () => {
    writeFileAtomic(path.join(dir, 'a', 'b.txt'), 'hello');
    writeJsonAtomic(path.join(dir, 'c.json'), { x: 1 });
    expect(fs.readFileSync(path.join(dir, 'a', 'b.txt'), 'utf8')).toBe('hello');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'c.json'), 'utf8'))).toEqual({ x: 1 });
    expect(fs.readdirSync(dir).sort()).toEqual(['a', 'c.json']);
  });

  it('replaces a directory only when the build succeeds', async () => {
    const target = path.join(dir, 'model');
    await writeDirAtomic(target, (tmp) => fs.writeFileSync(path.join(tmp, 'w.bin'), 'v1'));
    await expect(
      writeDirAtomic(target, (tmp) => {
        fs.writeFileSync(path.join(tmp, 'w.bin'), 'half');
        throw new Error('killed');
      }),
    ).rejects.toThrow('killed');
    expect(fs.readFileSync(path.join(target, 'w.bin'), 'utf8')).toBe('v1');
    expect(fs.readdirSync(dir)).toEqual(['model']);
    await writeDirAtomic(target, (tmp) => fs.writeFileSync(path.join(tmp, 'w.bin'), 'v2'));
    expect(fs.readFileSync(path.join(target, 'w.bin'), 'utf8')).toBe('v2');
  });
});
