export { LoginMachine } from './machine.js';
export { LOGIN_STATUS } from './status.js';
export type { LoginStatus } from './status.js';
export type {
  ChapCredentials,
  LoginEnvironment,
  LoginMachineOptions,
  LoginOutcome,
  LoginStep,
  LoginTarget,
} from './types.js';
export type { SessionParameters, ConnectionParameters } from '../negotiation/parameters.js';
