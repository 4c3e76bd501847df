// The toy task lives in lib/train/toy.ts (the CLI's --dataset toy uses it too).
export { toyBars } from '../../lib/train/toy';
