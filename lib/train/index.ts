export * from './optim';
export * from './schedule';
export * from './metrics';
export * from './checkpoint';
export * from './trainer';
export * from './augment';
export * from './cache';
export * from './toy';
