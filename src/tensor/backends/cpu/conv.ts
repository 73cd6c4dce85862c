export { conv2dReference as conv2d, conv2dBackwardInputReference as conv2dBackwardInput, conv2dBackwardFilterReference as conv2dBackwardFilter } from './conv-reference.js';
