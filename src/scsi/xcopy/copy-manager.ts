// Held copy results of the copy manager: per LU, per I_T nexus and per LIST
// IDENTIFIER, what RECEIVE COPY RESULTS reports as COPY STATUS and FAILED
// SEGMENT DETAILS (SPC-3 §6.17, the LID1 service actions of SPC-4).
//
// Discarding: a finished copy's status goes once it has been returned in full;
// failed segment details once returned in full or asked for with ALLOCATION
// LENGTH 0; both when the list identifier is reused by a new EXTENDED COPY and
// with the I_T nexus (the state lives in the nexus' command table, see
// commands.ts), and on a hard reset of the LU (LU reset, target warm/cold
// reset; SAM-5 §6.3.3: a hard reset returns the LU's volatile state, which
// held copy results are, to its initial value — only persistent reservations
// survive). The LU's reset counter tells a reset happened since the records
// were made.

import type { LogicalUnit } from '../api.js';
import { unitState } from '../logical-unit.js';
import type { CopyListHeader } from './parameter-list.js';

export type CopyState = 'running' | 'completed' | 'failed';

export interface CopyRecord {
  readonly listId: number;
  /** false for LIST ID USAGE 10b/11b: nothing is kept once the copy ends. */
  readonly hold: boolean;
  state: CopyState;
  segmentsProcessed: number;
  /** Bytes written to copy destinations so far. */
  bytesTransferred: number;
  /** COPY STATUS of a finished copy not yet returned. */
  statusHeld: boolean;
  /** Status and sense of a failed EXTENDED COPY (FAILED SEGMENT DETAILS). */
  failure: { readonly status: number; readonly sense: Buffer } | undefined;
}

interface UnitRecords {
  /** The LU's reset count when these records were made. */
  resets: number;
  readonly byNexus: Map<string, Map<number, CopyRecord>>;
}

/** Records by LU, then nexus id, then list identifier. */
export interface CopyManager {
  readonly units: WeakMap<LogicalUnit, UnitRecords>;
}

export function createCopyManager(): CopyManager {
  return { units: new WeakMap() };
}

function listsOf(m: CopyManager, unit: LogicalUnit, nexusId: string, create: boolean): Map<number, CopyRecord> | undefined {
  const resets = unitState(unit).resets;
  let records = m.units.get(unit);
  if (records === undefined) {
    if (!create) return undefined;
    records = { resets, byNexus: new Map() };
    m.units.set(unit, records);
  } else if (records.resets !== resets) {
    records.byNexus.clear();
    records.resets = resets;
  }
  const byNexus = records.byNexus;
  let lists = byNexus.get(nexusId);
  if (lists === undefined && create) {
    lists = new Map();
    byNexus.set(nexusId, lists);
  }
  return lists;
}

function newRecord(listId: number, hold: boolean): CopyRecord {
  return { listId, hold, state: 'running', segmentsProcessed: 0, bytesTransferred: 0, statusHeld: false, failure: undefined };
}

/**
 * Register a copy about to start. 'in-progress' when the nexus already runs a
 * copy with this list identifier (SPC-4 §6.4.3: identifiers are unique among
 * a nexus' active LID1 copies). With LIST ID USAGE 11b the record is not kept.
 */
export function beginCopy(m: CopyManager, unit: LogicalUnit, nexusId: string, header: CopyListHeader): CopyRecord | 'in-progress' {
  if (header.listIdUsage === 'none') return newRecord(header.listId, false);
  const lists = listsOf(m, unit, nexusId, true)!;
  if (lists.get(header.listId)?.state === 'running') return 'in-progress';
  const record = newRecord(header.listId, header.listIdUsage === 'hold');
  lists.set(header.listId, record);
  return record;
}

function forget(m: CopyManager, unit: LogicalUnit, nexusId: string, record: CopyRecord): void {
  const lists = listsOf(m, unit, nexusId, false);
  if (lists?.get(record.listId) === record) lists.delete(record.listId);
}

/** The copy ended: with GOOD, with CHECK CONDITION (`failure`), or aborted by a task management function. */
export function finishCopy(
  m: CopyManager,
  unit: LogicalUnit,
  nexusId: string,
  record: CopyRecord,
  end: { readonly failure?: { readonly status: number; readonly sense: Buffer } } | 'aborted',
): void {
  if (end === 'aborted' || !record.hold) {
    record.state = end !== 'aborted' && end.failure !== undefined ? 'failed' : 'completed';
    forget(m, unit, nexusId, record);
    return;
  }
  record.state = end.failure === undefined ? 'completed' : 'failed';
  record.failure = end.failure;
  record.statusHeld = true;
}

export function findCopy(m: CopyManager, unit: LogicalUnit, nexusId: string, listId: number): CopyRecord | undefined {
  return listsOf(m, unit, nexusId, false)?.get(listId);
}

/** COPY STATUS of a finished copy was returned in full: discard it (and the record once nothing is held). */
export function statusReported(m: CopyManager, unit: LogicalUnit, nexusId: string, record: CopyRecord): void {
  if (record.state === 'running') return;
  record.statusHeld = false;
  if (record.failure === undefined) forget(m, unit, nexusId, record);
}

/** FAILED SEGMENT DETAILS were returned in full (or ALLOCATION LENGTH 0 asked to drop them). */
export function failureReported(m: CopyManager, unit: LogicalUnit, nexusId: string, record: CopyRecord): void {
  if (record.failure === undefined) return;
  record.failure = undefined;
  if (!record.statusHeld) forget(m, unit, nexusId, record);
}
