import type { Study } from './types';
import { UserError } from '../util/errors';

/**
 * Every study, loaded lazily (a study pulls in models and data). To add one, write lib/studies/<name>/index.ts (or a
 * single <name>.ts) exporting `study: Study` and add a line here.
 */
const STUDIES: Record<string, () => Study> = {
  smoke: () => require('./smoke').study,
  bagnet: () => require('./bagnet').study,
  'country-crops': () => require('./country-crops').study,
  'shift-invariance': () => require('./shift-invariance').study,
  protopnet: () => require('./protopnet').study,
  'visual-summaries': () => require('./visual-summaries').study,
  scores: () => require('./scores').study,
};

export function studyNames(): string[] {
  return Object.keys(STUDIES);
}

/** The study called `name`, or a UserError listing the known ones. */
export function getStudy(name: string): Study {
  const load = STUDIES[name];
  if (!load) throw new UserError(`unknown study "${name}"; known studies: ${studyNames().join(', ')} (see \`tessera list\`)`);
  return load();
}
