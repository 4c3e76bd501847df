import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sourcesFingerprint, sourceTokens } from '../../lib/util/source-tokens';

describe('sourceTokens', () => {
  const compact = 'const x = { a: 1, b: `t ${y} u`, r: /a b/g }; // why\nf(a, b);';

  it('ignores whitespace, line breaks, comments and trailing commas', () => {
    const formatted = '/** doc */\nconst x = {\n  a: 1,\n  b: `t ${y} u`,\n  r: /a b/g,\n};\nf(\n  a,\n  b,\n);\n';
    expect(sourceTokens(formatted)).toBe(sourceTokens(compact));
  });

  it('sees changes inside template literals, regular expressions and strings', () => {
    expect(sourceTokens(compact.replace('u`', ' u`'))).not.toBe(sourceTokens(compact));
    expect(sourceTokens(compact.replace('/a b/', '/a  b/'))).not.toBe(sourceTokens(compact));
    expect(sourceTokens("f('a b')")).not.toBe(sourceTokens("f('a  b')"));
  });

  it('sees changes of code: a token, an operator, a comma between arguments', () => {
    expect(sourceTokens('f(a + b)')).not.toBe(sourceTokens('f(a - b)'));
    expect(sourceTokens('f(a, b)')).not.toBe(sourceTokens('f(a)(b)'));
    const texts = sourceTokens('f(a, b)')
      .split('\n')
      .map((line) => line.split(' ')[1]);
    expect(texts).toEqual(['f', '(', 'a', ',', 'b', ')']);
  });
});

describe('sourcesFingerprint', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fingerprint-'));
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is the sha256 of each label and its tokens, in order: formatting aside, code and labels count', () => {
    const a = write('a.ts', 'const x = f(1, 2);\n');
    const b = write('b.ts', 'export const y = "s";\n');
    const expected = crypto
      .createHash('sha256')
      .update('a\n')
      .update(sourceTokens('const x = f(1, 2);\n', 'a.ts'))
      .update('b\n')
      .update(sourceTokens('export const y = "s";\n', 'b.ts'))
      .digest('hex')
      .slice(0, 16);
    const base = sourcesFingerprint([
      ['a', a],
      ['b', b],
    ]);
    expect(base).toBe(expected);
    write('a.ts', '// a comment\nconst x = f(\n  1,\n  2,\n);\n');
    expect(
      sourcesFingerprint([
        ['a', a],
        ['b', b],
      ]),
    ).toBe(base);
    expect(
      sourcesFingerprint([
        ['a2', a],
        ['b', b],
      ]),
    ).not.toBe(base);
    write('a.ts', 'const x = f(1, 3);\n');
    expect(
      sourcesFingerprint([
        ['a', a],
        ['b', b],
      ]),
    ).not.toBe(base);
  });
});
