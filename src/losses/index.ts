export { adaptiveLogParams, adaptiveLogSlope, adaptiveLogValue, type AdaptiveLogOptions } from './adaptive-log.js';
