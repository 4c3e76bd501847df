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
    const html = claimsTableHtml([{ ...good, claim: '<b>x</b>' }, { ...good, id: 'b', pass: false }]);
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).toContain('<tr class="pass">');
    expect(html).toContain('does not hold');
  });
});
