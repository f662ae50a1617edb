export { KEYS, lookupKey, isExtensionKey, RESPONSE_CONSTANTS } from './keys.js';
export type { KeyDefinition, KeyKind, KeyPhase, KeyScope, KeySender } from './keys.js';
export { parseNumber, parseBoolean, parseList, formatBoolean } from './values.js';
export { DEFAULT_MAX_RECV_DATA_SEGMENT_LENGTH, TARGET_DEFAULTS } from './parameters.js';
export type { SessionParameters, ConnectionParameters, SessionType } from './parameters.js';
export { Negotiator } from './negotiate.js';
export type {
  NegotiationRole,
  NegotiationStage,
  NegotiationError,
  NegotiationErrorCode,
  NegotiatorOptions,
  ReceiveResult,
  TextPair,
} from './negotiate.js';
