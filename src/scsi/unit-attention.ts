// Unit attention conditions (SAM-5 §5.14, SPC-4 §4.5.4 / §5.14): per logical
// unit, one queue per I_T nexus.

import { SenseReason } from './sense.js';

/** Upper bound on queued conditions per nexus; older ones are dropped first. */
const MAX_PENDING = 8;

export interface UnitAttentionState {
  /** Pending conditions per nexus id, oldest first. */
  readonly pending: Map<string, SenseReason[]>;
  /** Initiator port names that had a nexus with this LU since it was created. */
  readonly seenPorts: Set<string>;
}

export function createUnitAttentionState(): UnitAttentionState {
  return { pending: new Map(), seenPorts: new Set() };
}

function isResetClass(reason: SenseReason): boolean {
  return (
    reason === SenseReason.PowerOnResetOccurred ||
    reason === SenseReason.PowerOnOccurred ||
    reason === SenseReason.ScsiBusResetOccurred ||
    reason === SenseReason.BusDeviceResetOccurred ||
    reason === SenseReason.ItNexusLossOccurred
  );
}

/**
 * First contact of a nexus with the LU. SAM-5: POWER ON, RESET, OR BUS DEVICE
 * RESET OCCURRED for an initiator port that never saw this LU; a port that
 * comes back after its previous nexus ended gets I_T NEXUS LOSS OCCURRED.
 * Returns false when the nexus was already known.
 */
export function registerNexus(state: UnitAttentionState, nexusId: string, initiatorPortName: string): boolean {
  if (state.pending.has(nexusId)) return false;
  state.pending.set(nexusId, []);
  const reason = state.seenPorts.has(initiatorPortName) ? SenseReason.ItNexusLossOccurred : SenseReason.PowerOnResetOccurred;
  state.seenPorts.add(initiatorPortName);
  establishFor(state, nexusId, reason);
  return true;
}

export function isRegistered(state: UnitAttentionState, nexusId: string): boolean {
  return state.pending.has(nexusId);
}

export function forgetNexus(state: UnitAttentionState, nexusId: string): void {
  state.pending.delete(nexusId);
}

/** Queue a condition for one registered nexus. A reset-class condition supersedes everything queued. */
export function establishFor(state: UnitAttentionState, nexusId: string, reason: SenseReason): void {
  const q = state.pending.get(nexusId);
  if (q === undefined) return;
  if (isResetClass(reason)) {
    q.length = 0;
    q.push(reason);
    return;
  }
  if (q.includes(reason)) return;
  if (q.some(isResetClass)) return; // the reset already tells the initiator to rediscover everything
  q.push(reason);
  if (q.length > MAX_PENDING) q.shift();
}

/** Queue a condition for every registered nexus the filter accepts. */
export function establish(state: UnitAttentionState, reason: SenseReason, include: (nexusId: string) => boolean = () => true): void {
  for (const id of state.pending.keys()) if (include(id)) establishFor(state, id, reason);
}

export function peek(state: UnitAttentionState, nexusId: string): SenseReason | undefined {
  const q = state.pending.get(nexusId);
  return q !== undefined && q.length > 0 ? q[0] : undefined;
}

/** Report-and-clear (UA_INTLCK_CTRL = 00b). */
export function take(state: UnitAttentionState, nexusId: string): SenseReason | undefined {
  const q = state.pending.get(nexusId);
  return q !== undefined && q.length > 0 ? q.shift() : undefined;
}

/** Drop one kind of pending condition (e.g. REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED, SPC-4 §6.33). */
export function clearReason(state: UnitAttentionState, nexusId: string, reason: SenseReason): void {
  const q = state.pending.get(nexusId);
  if (q === undefined) return;
  const i = q.indexOf(reason);
  if (i >= 0) q.splice(i, 1);
}
