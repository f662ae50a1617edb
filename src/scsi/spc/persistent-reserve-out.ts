// PERSISTENT RESERVE OUT (5Fh), SPC-4 §6.16: CDB and parameter list
// decoding, then the service action (pr/service-actions.ts), then its effects
// on the live I_T nexuses and the APTPL store.

import { ScsiStatus, type Nexus } from '../api.js';
import { good } from '../cdb.js';
import { defineCommand, type AnyCommandSpec, type CommandContext, type CommandOutcome } from '../command.js';
import type { LogicalUnitState } from '../logical-unit.js';
import { persistentReserveOut, PrOutAction, type PrNotice, type PrOutRequest } from '../pr/service-actions.js';
import { persist, registrationCovers, type Registration } from '../pr/state.js';
import { decodeTransportId, type InitiatorPortId } from '../pr/transport-id.js';
import { failure, invalidParameterField, isSenseFailure, SenseReason, type SenseFailure } from '../sense.js';
import { TaskSet } from '../task-set.js';
import { establishFor } from '../unit-attention.js';

export const PERSISTENT_RESERVE_OUT = 0x5f;

/** Basic parameter list length (SPC-4 §6.16.3). */
const BASIC_LENGTH = 24;
/** Largest parameter list we accept (room for ~1000 iSCSI TransportIDs). */
const MAX_PARAMETER_LIST = 256 * 1024;

interface PrOutCdb {
  readonly action: PrOutAction;
  readonly scope: number;
  readonly type: number;
  readonly parameterListLength: number;
}

function parseCdb(action: PrOutAction, cdb: Buffer): PrOutCdb | SenseFailure {
  const parameterListLength = cdb.readUInt32BE(5);
  if (parameterListLength < BASIC_LENGTH || parameterListLength > MAX_PARAMETER_LIST) return failure(SenseReason.ParameterListLengthError);
  return { action, scope: cdb[2] >> 4, type: cdb[2] & 0x0f, parameterListLength };
}

function decodeIds(b: Buffer, start: number, end: number, single: boolean): InitiatorPortId[] | SenseFailure {
  const ids: InitiatorPortId[] = [];
  for (let at = start; at < end; ) {
    const d = decodeTransportId(b, at, end);
    if ('error' in d) return invalidParameterField(at);
    ids.push(d.port);
    at += d.length;
    if (single) break;
  }
  return ids;
}

/** Decode the parameter list (SPC-4 Tables 177 and 181) against the CDB. */
export function parseParameterList(p: PrOutCdb, data: Buffer): PrOutRequest | SenseFailure {
  if (data.length < BASIC_LENGTH) return failure(SenseReason.ParameterListLengthError);
  const key = data.readBigUInt64BE(0);
  const serviceActionKey = data.readBigUInt64BE(8);
  const base = { action: p.action, scope: p.scope, type: p.type, key, serviceActionKey };
  if (p.action === PrOutAction.RegisterAndMove) {
    const idLength = data.readUInt32BE(20);
    if (BASIC_LENGTH + idLength > data.length) return failure(SenseReason.ParameterListLengthError);
    const ids = decodeIds(data, BASIC_LENGTH, BASIC_LENGTH + idLength, true);
    if (isSenseFailure(ids)) return ids;
    if (ids.length === 0) return invalidParameterField(20);
    return {
      ...base,
      allTargetPorts: false,
      specIPt: false,
      aptpl: (data[17] & 0x01) !== 0,
      unregister: (data[17] & 0x02) !== 0,
      relativeTargetPortId: data.readUInt16BE(18),
      transportIds: ids,
    };
  }
  const flags = data[20];
  const specIPt = (flags & 0x08) !== 0;
  const registering = p.action === PrOutAction.Register || p.action === PrOutAction.RegisterAndIgnoreExistingKey;
  if (specIPt && p.action !== PrOutAction.Register) return invalidParameterField(20, 3);
  let transportIds: InitiatorPortId[] = [];
  if (specIPt) {
    // SPC-4 §6.16.3: TRANSPORTID PARAMETER DATA LENGTH, then the TransportIDs.
    if (data.length < BASIC_LENGTH + 4) return failure(SenseReason.ParameterListLengthError);
    const idLength = data.readUInt32BE(BASIC_LENGTH);
    if (BASIC_LENGTH + 4 + idLength !== data.length) return failure(SenseReason.ParameterListLengthError);
    const ids = decodeIds(data, BASIC_LENGTH + 4, data.length, false);
    if (isSenseFailure(ids)) return ids;
    transportIds = ids;
  } else if (data.length !== BASIC_LENGTH) {
    return failure(SenseReason.ParameterListLengthError);
  }
  // ALL_TG_PT and APTPL only mean something to the registering service actions.
  return { ...base, specIPt, allTargetPorts: registering && (flags & 0x04) !== 0, aptpl: registering && (flags & 0x01) !== 0, transportIds };
}

/** Live I_T nexuses of the LU (other than `issuer`) that one of the registrations covers. */
function coveredNexuses(unit: LogicalUnitState, issuer: Nexus, regs: readonly Registration[]): string[] {
  const ids: string[] = [];
  if (regs.length === 0) return ids;
  for (const [id, n] of unit.nexuses) {
    if (id !== issuer.id && regs.some((r) => registrationCovers(r, n))) ids.push(id);
  }
  return ids;
}

function announce(unit: LogicalUnitState, issuer: Nexus, notices: readonly PrNotice[]): void {
  for (const notice of notices) {
    for (const id of coveredNexuses(unit, issuer, notice.registrations)) establishFor(unit.ua, id, notice.reason);
  }
}

function knownTargetPort(ctx: CommandContext): (rtpi: number) => boolean {
  return (rtpi) => (ctx.scope.targetPortGroups?.(ctx.unit) ?? []).some((g) => g.relativePortIds.includes(rtpi));
}

async function executePrOut(p: PrOutCdb, ctx: CommandContext): Promise<CommandOutcome> {
  const data = Buffer.concat(ctx.dataOut as Buffer[]).subarray(0, ctx.dataOutLength);
  const req = parseParameterList(p, data);
  if (isSenseFailure(req)) return req;
  const unit = ctx.unit;
  const pr = unit.pr;
  const wasAptpl = pr.aptpl;
  const store = unit.options.prStore;
  const result = persistentReserveOut(pr, ctx.nexus, req, { ptplCapable: store !== undefined, knownTargetPort: knownTargetPort(ctx) });
  if (isSenseFailure(result)) return result;
  if (result.kind === 'conflict') return { status: ScsiStatus.ReservationConflict, transferLength: ctx.dataOutLength };
  const { effects } = result;
  announce(unit, ctx.nexus, effects.notices);
  if (effects.abort.length > 0) {
    // PREEMPT AND ABORT (SPC-4 §5.9.11.5): the preempted I_T nexuses lose their tasks.
    const victims = new Set(coveredNexuses(unit, ctx.nexus, effects.abort));
    await TaskSet.abortAll(unit.tasks.select((e) => victims.has(e.nexusId)));
  }
  if (effects.changed) {
    try {
      await persist(pr, store, wasAptpl);
    } catch {
      return failure(SenseReason.HardwareError);
    }
  }
  return good();
}

const NAMES: Readonly<Record<PrOutAction, string>> = {
  [PrOutAction.Register]: 'REGISTER',
  [PrOutAction.Reserve]: 'RESERVE',
  [PrOutAction.Release]: 'RELEASE',
  [PrOutAction.Clear]: 'CLEAR',
  [PrOutAction.Preempt]: 'PREEMPT',
  [PrOutAction.PreemptAndAbort]: 'PREEMPT AND ABORT',
  [PrOutAction.RegisterAndIgnoreExistingKey]: 'REGISTER AND IGNORE EXISTING KEY',
  [PrOutAction.RegisterAndMove]: 'REGISTER AND MOVE',
};

function prOut(action: PrOutAction): AnyCommandSpec {
  return defineCommand<PrOutCdb>({
    name: `PERSISTENT RESERVE OUT (${NAMES[action]})`,
    opcode: PERSISTENT_RESERVE_OUT,
    serviceAction: action,
    cdbLength: 10,
    usage: [PERSISTENT_RESERVE_OUT, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00],
    modifiesMedium: false,
    allowedUnderReservation: false,
    parse: (cdb) => parseCdb(action, cdb),
    dataOutLength: (p) => p.parameterListLength,
    execute: executePrOut,
  });
}

export const persistentReserveOutCommands: readonly AnyCommandSpec[] = [
  PrOutAction.Register,
  PrOutAction.Reserve,
  PrOutAction.Release,
  PrOutAction.Clear,
  PrOutAction.Preempt,
  PrOutAction.PreemptAndAbort,
  PrOutAction.RegisterAndIgnoreExistingKey,
  PrOutAction.RegisterAndMove,
].map(prOut);
