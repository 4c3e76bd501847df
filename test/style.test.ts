import * as fs from 'fs';
import * as path from 'path';

/** Code style the formatter cannot enforce: no line of code over 140 characters (prettier does not split strings). */

const ROOT = path.resolve(__dirname, '..');
const DIRS = ['lib', 'test', 'bin', 'environment', 'packages/tfjs-backend-torch/src', 'packages/tfjs-backend-torch/test'];
DIRS.push('packages/tfjs-backend-torch/scripts');
const MAX = 140;

function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'public' ? [] : sources(p);
    return /\.(ts|js)$/.test(e.name) ? [p] : [];
  });
}

describe('code style', () => {
  it(`no line of code is over ${MAX} characters`, () => {
    const long: string[] = [];
    for (const file of DIRS.flatMap((d) => sources(path.join(ROOT, d)))) {
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.length > MAX) long.push(`${path.relative(ROOT, file)}:${i + 1} (${line.length})`);
        });
    }
    expect(long).toEqual([]);
  });
});
