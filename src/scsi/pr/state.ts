// Persistent reservation state of one logical unit (SPC-4 §5.9): the
// registrations, the reservation, PRGENERATION and APTPL, plus how an I_T
// nexus maps onto a registration and the (de)serialisation to PrState.

import type { Nexus, PrRegistrationState, PrState, PrStore } from '../api.js';
import { parseInitiatorPortName, type InitiatorPortId } from './transport-id.js';

/** Persistent reservation TYPE codes (SPC-4 Table 169). */
export enum PrType {
  WriteExclusive = 0x1,
  ExclusiveAccess = 0x3,
  WriteExclusiveRegistrantsOnly = 0x5,
  ExclusiveAccessRegistrantsOnly = 0x6,
  WriteExclusiveAllRegistrants = 0x7,
  ExclusiveAccessAllRegistrants = 0x8,
}

/** The only scope SPC-4 still defines. */
export const LU_SCOPE = 0x0;

export function isPrType(type: number): type is PrType {
  return type === 1 || type === 3 || (type >= 5 && type <= 8);
}

export function isAllRegistrants(type: PrType): boolean {
  return type === PrType.WriteExclusiveAllRegistrants || type === PrType.ExclusiveAccessAllRegistrants;
}

export function isRegistrantsOnly(type: PrType): boolean {
  return type === PrType.WriteExclusiveRegistrantsOnly || type === PrType.ExclusiveAccessRegistrantsOnly;
}

/** Write Exclusive family: non-holders may still read. */
export function isWriteExclusive(type: PrType): boolean {
  return type === PrType.WriteExclusive || type === PrType.WriteExclusiveRegistrantsOnly || type === PrType.WriteExclusiveAllRegistrants;
}

/** Where a registration applies: one I_T nexus, or one initiator port through every target port. */
export interface Registration {
  key: bigint;
  readonly initiator: InitiatorPortId;
  /** Undefined with allTargetPorts. */
  readonly targetName: string | undefined;
  readonly relativeTargetPortId: number;
  readonly allTargetPorts: boolean;
}

export interface Reservation {
  readonly type: PrType;
  readonly scope: number;
  /** The registration that holds it; for all-registrants types every registrant is a holder. */
  holder: Registration;
}

export interface PersistentReservations {
  generation: number;
  aptpl: boolean;
  readonly registrations: Registration[];
  reservation: Reservation | undefined;
  /** Serialises PrStore.save calls. */
  saving: Promise<void>;
}

export function createPersistentReservations(): PersistentReservations {
  return { generation: 0, aptpl: false, registrations: [], reservation: undefined, saving: Promise.resolve() };
}

export function bumpGeneration(pr: PersistentReservations): void {
  pr.generation = (pr.generation + 1) >>> 0;
}

/** The I_T nexus' initiator port. */
export function nexusPort(nexus: Nexus): InitiatorPortId {
  const parsed = parseInitiatorPortName(nexus.initiatorPortName);
  return { name: nexus.initiatorName.toLowerCase() || parsed.name, isid: parsed.isid };
}

function portCovers(reg: InitiatorPortId, port: InitiatorPortId): boolean {
  return reg.name === port.name && (reg.isid === undefined || reg.isid === port.isid);
}

/** Does the registration apply to the I_T nexus (initiator port, target port)? */
export function registrationCoversEndpoint(reg: Registration, port: InitiatorPortId, targetName: string, relativeTargetPortId: number): boolean {
  if (!portCovers(reg.initiator, port)) return false;
  return reg.allTargetPorts || (reg.targetName === targetName && reg.relativeTargetPortId === relativeTargetPortId);
}

/** Does the registration apply to this I_T nexus? */
export function registrationCovers(reg: Registration, nexus: Nexus): boolean {
  return registrationCoversEndpoint(reg, nexusPort(nexus), nexus.targetName, nexus.relativeTargetPortId);
}

export function registrationOf(pr: PersistentReservations, nexus: Nexus): Registration | undefined {
  return pr.registrations.find((r) => registrationCovers(r, nexus));
}

/** SPC-4 §5.9.10: the holder, or any registrant of an all-registrants reservation. */
export function isHolder(pr: PersistentReservations, reg: Registration | undefined): boolean {
  const res = pr.reservation;
  if (res === undefined || reg === undefined) return false;
  return isAllRegistrants(res.type) ? pr.registrations.includes(reg) : res.holder === reg;
}

/**
 * Remove registrations. A removed holder takes the reservation with it, except
 * for all-registrants types while any registrant remains (SPC-4 §5.9.11.2).
 * Returns whether the reservation went away.
 */
export function removeRegistrations(pr: PersistentReservations, victims: readonly Registration[]): boolean {
  if (victims.length === 0) return false;
  const gone = new Set(victims);
  const kept = pr.registrations.filter((r) => !gone.has(r));
  pr.registrations.length = 0;
  pr.registrations.push(...kept);
  const res = pr.reservation;
  if (res === undefined) return false;
  if (isAllRegistrants(res.type)) {
    if (kept.length === 0) {
      pr.reservation = undefined;
      return true;
    }
    if (gone.has(res.holder)) res.holder = kept[0];
    return false;
  }
  if (gone.has(res.holder)) {
    pr.reservation = undefined;
    return true;
  }
  return false;
}

export function keyHex(key: bigint): string {
  return key.toString(16).padStart(16, '0');
}

export function toPrState(pr: PersistentReservations): PrState {
  const registrations: PrRegistrationState[] = pr.registrations.map((r) => ({
    key: keyHex(r.key),
    initiatorName: r.initiator.name,
    ...(r.initiator.isid !== undefined ? { isid: r.initiator.isid } : {}),
    ...(r.targetName !== undefined ? { targetName: r.targetName } : {}),
    relativeTargetPortId: r.relativeTargetPortId,
    allTargetPorts: r.allTargetPorts,
  }));
  const res = pr.reservation;
  const holder = res === undefined ? -1 : pr.registrations.indexOf(res.holder);
  return {
    version: 1,
    generation: pr.generation,
    aptpl: pr.aptpl,
    registrations,
    ...(res !== undefined && holder >= 0 ? { reservation: { type: res.type, scope: res.scope, holder } } : {}),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function parseRegistration(v: unknown): Registration | undefined {
  if (!isRecord(v)) return undefined;
  const { key, initiatorName, isid, targetName, relativeTargetPortId, allTargetPorts } = v;
  if (typeof key !== 'string' || !/^[0-9a-fA-F]{1,16}$/.test(key)) return undefined;
  if (typeof initiatorName !== 'string' || initiatorName.length === 0) return undefined;
  if (isid !== undefined && (typeof isid !== 'string' || !/^[0-9a-fA-F]{12}$/.test(isid))) return undefined;
  if (targetName !== undefined && typeof targetName !== 'string') return undefined;
  if (typeof relativeTargetPortId !== 'number' || !Number.isInteger(relativeTargetPortId) || relativeTargetPortId < 0 || relativeTargetPortId > 0xffff) return undefined;
  if (typeof allTargetPorts !== 'boolean') return undefined;
  if (!allTargetPorts && targetName === undefined) return undefined;
  const k = BigInt(`0x${key}`);
  if (k === 0n) return undefined;
  return {
    key: k,
    initiator: { name: initiatorName.toLowerCase(), isid: isid?.toLowerCase() },
    targetName: allTargetPorts ? undefined : targetName,
    relativeTargetPortId: allTargetPorts ? 0 : relativeTargetPortId,
    allTargetPorts,
  };
}

/** Rebuild the state from stored data; undefined when it is not APTPL state or does not validate. */
export function fromPrState(state: unknown): PersistentReservations | undefined {
  if (!isRecord(state) || state.version !== 1 || state.aptpl !== true) return undefined;
  const { generation, registrations, reservation } = state;
  if (typeof generation !== 'number' || !Number.isInteger(generation) || generation < 0 || generation > 0xffffffff) return undefined;
  if (!Array.isArray(registrations)) return undefined;
  const pr = createPersistentReservations();
  pr.generation = generation;
  pr.aptpl = true;
  for (const r of registrations) {
    const reg = parseRegistration(r);
    if (reg === undefined) return undefined;
    pr.registrations.push(reg);
  }
  if (reservation !== undefined) {
    if (!isRecord(reservation)) return undefined;
    const { type, scope, holder } = reservation;
    if (typeof type !== 'number' || !isPrType(type) || scope !== LU_SCOPE) return undefined;
    if (typeof holder !== 'number' || !Number.isInteger(holder) || holder < 0 || holder >= pr.registrations.length) return undefined;
    pr.reservation = { type, scope, holder: pr.registrations[holder] };
  }
  return pr;
}

/** Initial state of a new LU: what the store holds when APTPL was active, else nothing. */
export function loadPersistentReservations(store: PrStore | undefined): PersistentReservations {
  let stored: unknown;
  try {
    stored = store?.load();
  } catch {
    stored = undefined;
  }
  return fromPrState(stored) ?? createPersistentReservations();
}

/**
 * Persist after a change (SPC-4 §5.9.4): the full state while APTPL is
 * active; an empty, non-APTPL state when it has just been switched off (so a
 * restart restores nothing). Saves never overlap.
 */
export function persist(pr: PersistentReservations, store: PrStore | undefined, wasAptpl: boolean): Promise<void> {
  if (store === undefined || (!pr.aptpl && !wasAptpl)) return Promise.resolve();
  const snapshot: PrState = pr.aptpl ? toPrState(pr) : { version: 1, generation: pr.generation, aptpl: false, registrations: [] };
  const run = pr.saving.then(() => store.save(snapshot));
  pr.saving = run.catch(() => undefined);
  return run;
}
