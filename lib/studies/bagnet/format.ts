/** Number formats shared by the claims and the figure legends. */
export const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
export const fix = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
