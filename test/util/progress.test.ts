import { Progress, formatSeconds } from '../../lib/util/progress';

describe('Progress', () => {
  it('shows done/total, a proportional bar and the status', () => {
    process.env.TESSERA_PROGRESS = '0';
    const p = new Progress('train', 4);
    p.tick(1, 'loss 0.5');
    expect(p.line()).toMatch(/^train \[######------------------\] 1\/4 .*loss 0\.5$/);
    p.tick(10);
    expect(p.line()).toContain('4/4');
    delete process.env.TESSERA_PROGRESS;
  });

  it('formats seconds and minutes', () => {
    expect(formatSeconds(3.21)).toBe('3.2s');
    expect(formatSeconds(125)).toBe('2m05s');
  });
});
