import { intFlag, numberFlag, parseArgs, stringFlag } from '../../lib/util/args';
import { UserError } from '../../lib/util/errors';

describe('parseArgs', () => {
  const spec = { command: 'test', values: ['scale', 'seed'], booleans: ['json'] };

  it('reads positionals, --flag value, --flag=value and booleans', () => {
    const a = parseArgs(['smoke', '--scale', 'quick', '--seed=3', '--json', 'bagnet'], spec);
    expect(a.positional).toEqual(['smoke', 'bagnet']);
    expect(a.flags).toEqual({ scale: 'quick', seed: '3', json: true });
    expect(stringFlag(a, 'scale', 'x')).toBe('quick');
    expect(intFlag(a, 'seed', 0)).toBe(3);
  });

  it('rejects unknown flags naming the accepted ones', () => {
    expect(() => parseArgs(['--sacle', 'quick'], spec)).toThrow(/unknown option --sacle; accepted: --scale, --seed, --json/);
  });

  it('rejects a missing value and a value given to a boolean', () => {
    expect(() => parseArgs(['--scale'], spec)).toThrow(UserError);
    expect(() => parseArgs(['--scale', '--json'], spec)).toThrow(/needs a value/);
    expect(() => parseArgs(['--json=1'], spec)).toThrow(/takes no value/);
  });

  it('checks integer and number flags', () => {
    expect(() => intFlag(parseArgs(['--seed', 'x'], spec), 'seed', 0)).toThrow(/expects an integer, found "x"/);
    expect(() => intFlag(parseArgs(['--seed', '-1'], spec), 'seed', 0, { min: 0 })).toThrow(/at least 0/);
    expect(intFlag(parseArgs([], spec), 'seed', 7)).toBe(7);
    expect(numberFlag(parseArgs(['--scale', '0.5'], spec), 'scale', 1)).toBe(0.5);
  });
});
