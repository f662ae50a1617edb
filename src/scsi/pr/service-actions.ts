// PERSISTENT RESERVE OUT service actions (SPC-4 §5.9.5–§5.9.11, §6.16) as
// transitions of PersistentReservations. Each validates everything before
// changing anything and returns the status plus the side effects the caller
// applies to live I_T nexuses (unit attentions, PREEMPT AND ABORT).

import type { Nexus } from '../api.js';
import { failure, invalidCdbField, invalidParameterField, SenseReason, type SenseFailure } from '../sense.js';
import {
  bumpGeneration,
  isAllRegistrants,
  isHolder,
  isPrType,
  isRegistrantsOnly,
  LU_SCOPE,
  nexusPort,
  registrationCoversEndpoint,
  registrationOf,
  removeRegistrations,
  type PersistentReservations,
  type PrType,
  type Registration,
} from './state.js';
import type { InitiatorPortId } from './transport-id.js';

export enum PrOutAction {
  Register = 0x0,
  Reserve = 0x1,
  Release = 0x2,
  Clear = 0x3,
  Preempt = 0x4,
  PreemptAndAbort = 0x5,
  RegisterAndIgnoreExistingKey = 0x6,
  RegisterAndMove = 0x7,
}

/** Upper bound on registrations per LU (INSUFFICIENT REGISTRATION RESOURCES beyond it). */
export const MAX_REGISTRATIONS = 1024;

/** A decoded PERSISTENT RESERVE OUT command (CDB + parameter list). */
export interface PrOutRequest {
  readonly action: PrOutAction;
  readonly scope: number;
  readonly type: number;
  readonly key: bigint;
  readonly serviceActionKey: bigint;
  readonly allTargetPorts: boolean;
  readonly aptpl: boolean;
  /** SPEC_I_PT TransportIDs (REGISTER), or the destination (REGISTER AND MOVE). */
  readonly transportIds: readonly InitiatorPortId[];
  readonly specIPt: boolean;
  /** REGISTER AND MOVE only. */
  readonly unregister?: boolean;
  readonly relativeTargetPortId?: number;
}

export interface PrNotice {
  readonly reason: SenseReason;
  /** Every live I_T nexus (but the issuer) that one of these registrations covers gets the unit attention. */
  readonly registrations: readonly Registration[];
}

export interface PrOutEffects {
  readonly notices: PrNotice[];
  /** PREEMPT AND ABORT: abort the tasks of the I_T nexuses these registrations covered. */
  readonly abort: Registration[];
  /** The state changed (persist it). */
  changed: boolean;
}

export type PrOutResult = { readonly kind: 'good'; readonly effects: PrOutEffects } | { readonly kind: 'conflict' } | SenseFailure;

export interface PrOutEnv {
  /** A PrStore is configured (PTPL_C). */
  readonly ptplCapable: boolean;
  /** Whether a relative target port identifier names a port of this target (REGISTER AND MOVE). */
  knownTargetPort(relativeTargetPortId: number): boolean;
}

const CONFLICT: PrOutResult = { kind: 'conflict' };

function good(effects?: Partial<PrOutEffects>): PrOutResult {
  return { kind: 'good', effects: { notices: effects?.notices ?? [], abort: effects?.abort ?? [], changed: effects?.changed ?? false } };
}

/** Byte offsets of the basic parameter list fields (SPC-4 Table 177). */
const FIELD_SERVICE_ACTION_KEY = 8;
const FIELD_FLAGS = 20;

function checkScopeType(req: PrOutRequest): SenseFailure | undefined {
  if (req.scope !== LU_SCOPE) return invalidCdbField(2, 7);
  if (!isPrType(req.type)) return invalidCdbField(2, 3);
  return undefined;
}

/** The issuer's registration when its RESERVATION KEY matches (SPC-4 §5.9.7 / Table 50); otherwise conflict. */
function authenticated(pr: PersistentReservations, nexus: Nexus, key: bigint): Registration | undefined {
  const reg = registrationOf(pr, nexus);
  return reg !== undefined && reg.key === key ? reg : undefined;
}

function overlaps(a: Registration, port: InitiatorPortId, targetName: string | undefined, rtpi: number, allTargetPorts: boolean): boolean {
  if (a.initiator.name !== port.name) return false;
  if (a.initiator.isid !== undefined && port.isid !== undefined && a.initiator.isid !== port.isid) return false;
  return a.allTargetPorts || allTargetPorts || (a.targetName === targetName && a.relativeTargetPortId === rtpi);
}

function register(pr: PersistentReservations, nexus: Nexus, req: PrOutRequest, env: PrOutEnv): PrOutResult {
  const ignoreKey = req.action === PrOutAction.RegisterAndIgnoreExistingKey;
  if (req.aptpl && !env.ptplCapable) return invalidParameterField(FIELD_FLAGS, 0);
  const reg = registrationOf(pr, nexus);
  if (reg === undefined) {
    if (!ignoreKey && req.key !== 0n) return CONFLICT;
    if (req.serviceActionKey === 0n) return good(); // SPC-4 Table 50: nothing to do
    const self = nexusPort(nexus);
    const targetName = req.allTargetPorts ? undefined : nexus.targetName;
    const rtpi = req.allTargetPorts ? 0 : nexus.relativeTargetPortId;
    const ports: InitiatorPortId[] = [self];
    for (const port of req.transportIds) {
      if (ports.some((p) => p.name === port.name && p.isid === port.isid)) continue;
      // SPC-4 §5.9.7: a TransportID naming an already registered I_T nexus fails the whole command.
      if (pr.registrations.some((r) => overlaps(r, port, targetName, rtpi, req.allTargetPorts))) return CONFLICT;
      ports.push(port);
    }
    if (pr.registrations.length + ports.length > MAX_REGISTRATIONS) return failure(SenseReason.InsufficientReservationResources);
    for (const initiator of ports) {
      pr.registrations.push({ key: req.serviceActionKey, initiator, targetName, relativeTargetPortId: rtpi, allTargetPorts: req.allTargetPorts });
    }
    bumpGeneration(pr);
    pr.aptpl = req.aptpl;
    return good({ changed: true });
  }
  if (!ignoreKey && req.key !== reg.key) return CONFLICT;
  if (req.specIPt) return invalidParameterField(FIELD_FLAGS, 3);
  if (req.serviceActionKey !== 0n) {
    reg.key = req.serviceActionKey;
    bumpGeneration(pr);
    pr.aptpl = req.aptpl;
    return good({ changed: true });
  }
  // Unregistering (SPC-4 §5.9.11.3): a released registrants-only reservation is announced to the remaining registrants.
  const res = pr.reservation;
  const releasedRo = res !== undefined && res.holder === reg && isRegistrantsOnly(res.type);
  removeRegistrations(pr, [reg]);
  bumpGeneration(pr);
  pr.aptpl = req.aptpl;
  const notices = releasedRo ? [{ reason: SenseReason.ReservationsReleased, registrations: [...pr.registrations] }] : [];
  return good({ changed: true, notices });
}

function reserve(pr: PersistentReservations, nexus: Nexus, req: PrOutRequest): PrOutResult {
  const bad = checkScopeType(req);
  if (bad !== undefined) return bad;
  const reg = authenticated(pr, nexus, req.key);
  if (reg === undefined) return CONFLICT;
  const res = pr.reservation;
  if (res !== undefined) {
    // SPC-4 §5.9.9: only the holder may repeat it, and only unchanged.
    if (!isHolder(pr, reg) || res.type !== req.type || res.scope !== req.scope) return CONFLICT;
    return good();
  }
  pr.reservation = { type: req.type as PrType, scope: req.scope, holder: reg };
  return good({ changed: true });
}

function release(pr: PersistentReservations, nexus: Nexus, req: PrOutRequest): PrOutResult {
  const reg = authenticated(pr, nexus, req.key);
  if (reg === undefined) return CONFLICT;
  const res = pr.reservation;
  // SPC-4 §5.9.11.2: no reservation, or not the holder: nothing happens.
  if (res === undefined || !isHolder(pr, reg)) return good();
  if (res.scope !== req.scope || res.type !== req.type) return failure(SenseReason.InvalidReleaseOfPersistentReservation);
  pr.reservation = undefined;
  const announce = isRegistrantsOnly(res.type) || isAllRegistrants(res.type);
  const notices = announce ? [{ reason: SenseReason.ReservationsReleased, registrations: [...pr.registrations] }] : [];
  return good({ changed: true, notices });
}

function clear(pr: PersistentReservations, nexus: Nexus, req: PrOutRequest): PrOutResult {
  if (authenticated(pr, nexus, req.key) === undefined) return CONFLICT;
  // SPC-4 §5.9.11.6: RESERVATIONS PREEMPTED for every other registered I_T nexus.
  const everyone = [...pr.registrations];
  pr.registrations.length = 0;
  pr.reservation = undefined;
  bumpGeneration(pr);
  return good({ changed: true, notices: [{ reason: SenseReason.ReservationsPreempted, registrations: everyone }] });
}

function preempt(pr: PersistentReservations, nexus: Nexus, req: PrOutRequest): PrOutResult {
  const bad = checkScopeType(req);
  if (bad !== undefined) return bad;
  const reg = authenticated(pr, nexus, req.key);
  if (reg === undefined) return CONFLICT;
  const abort = req.action === PrOutAction.PreemptAndAbort;
  const sark = req.serviceActionKey;
  const res = pr.reservation;
  const type = req.type as PrType;
  // The issuer's own registration is never removed (SPC-4 §5.9.11.4).
  const byKey = pr.registrations.filter((r) => r.key === sark && r !== reg);
  const finish = (victims: Registration[], notices: PrNotice[] = []): PrOutResult => {
    removeRegistrations(pr, victims);
    bumpGeneration(pr);
    return good({ changed: true, notices: [{ reason: SenseReason.RegistrationsPreempted, registrations: victims }, ...notices], abort: abort ? victims : [] });
  };
  const removeByKey = (): PrOutResult => {
    if (sark === 0n) return invalidParameterField(FIELD_SERVICE_ACTION_KEY);
    if (!pr.registrations.some((r) => r.key === sark)) return CONFLICT;
    return finish(byKey);
  };
  if (res === undefined) return removeByKey(); // §5.9.11.4.2: only registrations
  if (isAllRegistrants(res.type)) {
    if (sark !== 0n) return removeByKey(); // §5.9.11.4.4: the reservation stays
    // SARK 0 under all-registrants: every other registration goes, the issuer reserves anew.
    const victims = pr.registrations.filter((r) => r !== reg);
    const result = finish(victims);
    pr.reservation = { type, scope: req.scope, holder: reg };
    return result;
  }
  if (sark !== res.holder.key) return removeByKey(); // §5.9.11.4.3 b: the reservation stays
  // Preempting the holder: its key's registrations go, the issuer holds a reservation of the requested type.
  const changedKind = res.type !== type || res.scope !== req.scope;
  const result = finish(byKey);
  pr.reservation = { type, scope: req.scope, holder: reg };
  if (changedKind && result.kind === 'good') {
    result.effects.notices.push({ reason: SenseReason.ReservationsReleased, registrations: [...pr.registrations] });
  }
  return result;
}

function registerAndMove(pr: PersistentReservations, nexus: Nexus, req: PrOutRequest, env: PrOutEnv): PrOutResult {
  if (req.aptpl && !env.ptplCapable) return invalidParameterField(17, 0);
  const reg = authenticated(pr, nexus, req.key);
  if (reg === undefined) return CONFLICT;
  const res = pr.reservation;
  // SPC-4 §5.9.8: only the holder of a reservation that has one holder can move it.
  if (res === undefined || !isHolder(pr, reg) || isAllRegistrants(res.type)) return CONFLICT;
  if (req.serviceActionKey === 0n) return invalidParameterField(FIELD_SERVICE_ACTION_KEY);
  const dest = req.transportIds[0];
  if (dest === undefined) return invalidParameterField(24);
  const rtpi = req.relativeTargetPortId ?? nexus.relativeTargetPortId;
  if (rtpi !== nexus.relativeTargetPortId && !env.knownTargetPort(rtpi)) return invalidParameterField(18, 7);
  const self = nexusPort(nexus);
  if (rtpi === nexus.relativeTargetPortId && dest.name === self.name && (dest.isid === undefined || dest.isid === self.isid)) {
    return invalidParameterField(24); // the destination is the source I_T nexus
  }
  let target = pr.registrations.find((r) => registrationCoversEndpoint(r, dest, nexus.targetName, rtpi) && r.initiator.isid === dest.isid);
  if (target === undefined) {
    if (pr.registrations.length >= MAX_REGISTRATIONS) return failure(SenseReason.InsufficientReservationResources);
    target = { key: req.serviceActionKey, initiator: dest, targetName: nexus.targetName, relativeTargetPortId: rtpi, allTargetPorts: false };
    pr.registrations.push(target);
  } else {
    target.key = req.serviceActionKey;
  }
  pr.reservation = { type: res.type, scope: res.scope, holder: target };
  if (req.unregister === true) removeRegistrations(pr, [reg]);
  bumpGeneration(pr);
  pr.aptpl = req.aptpl;
  return good({ changed: true });
}

/** Run one PERSISTENT RESERVE OUT service action for `nexus`. */
export function persistentReserveOut(pr: PersistentReservations, nexus: Nexus, req: PrOutRequest, env: PrOutEnv): PrOutResult {
  switch (req.action) {
    case PrOutAction.Register:
    case PrOutAction.RegisterAndIgnoreExistingKey:
      return register(pr, nexus, req, env);
    case PrOutAction.Reserve:
      return reserve(pr, nexus, req);
    case PrOutAction.Release:
      return release(pr, nexus, req);
    case PrOutAction.Clear:
      return clear(pr, nexus, req);
    case PrOutAction.Preempt:
    case PrOutAction.PreemptAndAbort:
      return preempt(pr, nexus, req);
    case PrOutAction.RegisterAndMove:
      return registerAndMove(pr, nexus, req, env);
  }
}
