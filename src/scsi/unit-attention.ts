// Unit attention conditions (SAM-5 §5.14, SPC-4 §4.5.4 / §5.14): per logical
// unit, one queue per I_T nexus.

import { SenseReason } from './sense.js';

/** Upper bound on queued conditions per nexus; older ones are dropped first. */
const MAX_PENDING = 8;

/** Upper bound on remembered lost initiator ports (oldest forgotten first). */
const MAX_LOST_PORTS = 1024;

export interface UnitAttentionState {
  /** Pending conditions per nexus id, oldest first. */
  readonly pending: Map<string, SenseReason[]>;
  /** Initiator port name of each registered nexus. */
  readonly ports: Map<string, string>;
  /** Initiator ports whose last nexus with this LU ended while the target kept running. */
  readonly lostPorts: Set<string>;
}

export function createUnitAttentionState(): UnitAttentionState {
  return { pending: new Map(), ports: new Map(), lostPorts: new Set() };
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
 * First contact of a nexus with the LU. Unit attentions are per I_T nexus
 * (SAM-5 §5.14) and only exist for nexuses alive when the event happens, so a
 * brand-new nexus starts clean (as LIO does; libiscsi's multi-initiator tests
 * rely on it). The one exception: an initiator port that comes back after its
 * previous nexus was lost gets I_T NEXUS LOSS OCCURRED (SAM-5 §6.3.4).
 * Returns false when the nexus was already known.
 */
export function registerNexus(state: UnitAttentionState, nexusId: string, initiatorPortName: string): boolean {
  if (state.pending.has(nexusId)) return false;
  state.pending.set(nexusId, []);
  state.ports.set(nexusId, initiatorPortName);
  if (state.lostPorts.delete(initiatorPortName)) establishFor(state, nexusId, SenseReason.ItNexusLossOccurred);
  return true;
}

export function isRegistered(state: UnitAttentionState, nexusId: string): boolean {
  return state.pending.has(nexusId);
}

/**
 * I_T nexus loss. The port is remembered so its next nexus learns of the loss;
 * if another nexus of the same port is already registered (session
 * reinstatement raced the close) that one is told instead.
 */
export function forgetNexus(state: UnitAttentionState, nexusId: string): void {
  const port = state.ports.get(nexusId);
  state.pending.delete(nexusId);
  state.ports.delete(nexusId);
  if (port === undefined) return;
  for (const [id, p] of state.ports) {
    if (p === port) {
      establishFor(state, id, SenseReason.ItNexusLossOccurred);
      return;
    }
  }
  state.lostPorts.add(port);
  if (state.lostPorts.size > MAX_LOST_PORTS) {
    const oldest = state.lostPorts.values().next().value;
    if (oldest !== undefined) state.lostPorts.delete(oldest);
  }
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
