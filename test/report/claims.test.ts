import { claimsTableHtml, validateClaims } from '../../lib/report/claims';

const good = { id: 'a', claim: 'c', paper: 'p', measured: 'm', pass: true, details: 'd' };

describe('claims contract', () => {
  it('accepts well-formed claims', () => {
    expect(validateClaims([good, { ...good, id: 'b', pass: false }], 'x')).toHaveLength(2);
  });

  it('names the claim and field that is wrong', () => {
    expect(() => validateClaims({}, 'study s')).toThrow(/study s: claims must be an array/);
    expect(() => validateClaims([{ ...good, pass: 'yes' }], 'study s')).toThrow(/claim 0 field "pass" must be a boolean, found "yes"/);
    expect(() => validateClaims([good, { ...good, measured: undefined }], 's')).toThrow(/claim 1 field "measured"/);
    expect(() => validateClaims([good, good], 's')).toThrow(/claim id "a" appears twice/);
  });

  it('renders verdicts and escapes text', () => {
    const html = claimsTableHtml([
      { ...good, claim: '<b>x</b>' },
      { ...good, id: 'b', pass: false },
    ]);
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).toContain('<tr class="holds">');
    expect(html).toContain('<tr class="fails">');
  });

  it('reads verdict, kind and interval, and refuses inconsistent ones', () => {
    const iv = { low: 0.1, high: 0.3, level: 0.95, over: 'images' };
    const c = { ...good, pass: false, verdict: 'inconclusive', kind: 'extension', interval: iv };
    expect(validateClaims([c], 's')).toHaveLength(1);
    const html = claimsTableHtml(validateClaims([c], 's'));
    expect(html).toContain('<tr class="inconclusive">');
    expect(html).toContain('inconclusive (extension)');
    expect(html).toContain('95% interval [0.100, 0.300] over images');
    expect(() => validateClaims([{ ...c, verdict: 'maybe' }], 's')).toThrow(/verdict must be one of holds, fails, inconclusive/);
    expect(() => validateClaims([{ ...c, pass: true }], 's')).toThrow(/pass true but verdict inconclusive/);
    expect(() => validateClaims([{ ...c, kind: 'guess' }], 's')).toThrow(/kind must be one of paper, check, extension/);
    expect(() => validateClaims([{ ...c, interval: { ...iv, low: 1 } }], 's')).toThrow(/interval must be/);
  });
});
