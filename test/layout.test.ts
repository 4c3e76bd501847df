import * as fs from 'fs';
import * as path from 'path';

/**
 * Notebooks run lib/ through tslab, whose module loader resolves a relative import only to a file (it appends
 * ".js"), never to a folder's index. So every relative import in lib/ and in the notebooks must name a file:
 * `../engine/index`, not `../engine`. This test finds any that does not.
 */
const ROOT = path.resolve(__dirname, '..');

function walk(dir: string, ext: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : walk(full, ext);
    return e.name.endsWith(ext) ? [full] : [];
  });
}

function relativeImports(source: string): string[] {
  const found: string[] = [];
  const re = /(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]*)['"]/g;
  for (let m = re.exec(source); m; m = re.exec(source)) found.push(m[1]);
  return found;
}

describe('relative imports name files, not folders (tslab cannot resolve folder imports)', () => {
  it('holds for lib/ and notebooks/', () => {
    const offenders: string[] = [];
    for (const file of walk(path.join(ROOT, 'lib'), '.ts')) {
      for (const imp of relativeImports(fs.readFileSync(file, 'utf8'))) {
        if (fs.existsSync(path.join(path.dirname(file), imp)) && fs.statSync(path.join(path.dirname(file), imp)).isDirectory()) {
          offenders.push(`${path.relative(ROOT, file)}: '${imp}' is a folder; import '${imp}/index'`);
        }
      }
    }
    for (const file of walk(path.join(ROOT, 'notebooks'), '.ipynb')) {
      const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: Array<{ source: string | string[] }> };
      const source = nb.cells.map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source)).join('\n');
      for (const imp of relativeImports(source)) {
        const target = path.join(ROOT, imp);
        if (fs.existsSync(target) && fs.statSync(target).isDirectory()) offenders.push(`${path.relative(ROOT, file)}: '${imp}' is a folder`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
