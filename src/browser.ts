/** The browser bundle: the public API without Node-only modules (file system, sharp, CLI). */
export * from './index.js';
