// tsgt as a library: start a target from a config object in any Node program.
export { startTarget, TargetStartError } from './runtime/target-server.js';
export type { TargetServer, StartOptions, SessionInfo } from './runtime/target-server.js';
export type { SaveConfig } from './config/model.js';
export type { Logger } from './runtime/logger.js';
