/**
 * Transition only: the BagNet study's builders moved to generic modules (panels, line, scatter). This re-export keeps
 * the study compiling while it is ported to lib/studies/bagnet/; delete this file once the study imports
 * ./panels, ./line and ./scatter directly.
 */
export { evidenceRaster, panelRaster, rasterFigure } from './panels';
export type { PanelCell } from './panels';
export { linePanels } from './line';
export { identityScatter } from './scatter';
