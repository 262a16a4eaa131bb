// Entry of the SLO engine backend plugin: the client, the route handler and the signer.
export { SloEngineClient, SloEngineError } from './client.js';
export { createSloEngineHandler, summarize } from './router.js';
export { sign, signedHeaders, signingKey } from './sigv4.js';
export { default as sloEnginePlugin } from './plugin.js';
