/** Dependency-free SVG charts (strings, no DOM): line charts, multi-panel figures, ROC curves. Usable in Node and browsers. */
export { figure, lineChart, PALETTE, type FigureOptions, type LineChartOptions, type Series, type VLine } from './line-chart.js';
export { rocChart, type RocChartOptions, type RocCurveSeries } from './roc-chart.js';
export { linearTicks, logTicks, niceStep, type Ticks } from './scale.js';
export { escapeXml } from './svg.js';
