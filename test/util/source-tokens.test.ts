import { sourceTokens } from '../../lib/util/source-tokens';

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
