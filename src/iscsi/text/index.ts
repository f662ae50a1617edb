export { TextExchange } from './exchange.js';
export type { TextExchangeOptions, TextStep } from './exchange.js';
export { formatTargetAddress, sendTargetsRecords } from './send-targets.js';
export type { SendTargetsEntry } from './send-targets.js';
