export * from './ids.js';
export * from './clock.js';
export * from './topics.js';
export * from './reading.js';
export * from './station-messages.js';
export * from './env.js';
export * from './api.js';
export * from './ingest.js';
