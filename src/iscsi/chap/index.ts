export { chapResponse, chapDigestLength, isChapAlgorithm, SUPPORTED_CHAP_ALGORITHMS } from './algorithms.js';
export type { ChapAlgorithm } from './algorithms.js';
export { decodeBinaryValue, encodeHexValue } from './binary.js';
export { ChapAuthenticator, MAX_CHAP_BINARY_BYTES } from './authenticator.js';
export type { ChapStep, ChapState, ChapAuthenticatorOptions } from './authenticator.js';
export type { ChapCredentials } from './credentials.js';
