// The command pipeline (SAM-5 §5, SPC-4 §5.14): LUN lookup, opcode lookup,
// unit attention, reservation, CDB parse, write protection, Data-Out sizing,
// task-set ordering, Data-Out transfer, execution.
//
// Transfer sizes (EDTL = iSCSI Expected Data Transfer Length, SPDTL = what the
// CDB calls for). Data-In: the command produces up to SPDTL bytes, reports
// transferLength = SPDTL and the transport sends min(EDTL, SPDTL), signalling
// the residual (libiscsi test_read10_residuals / LIO target_cmd_size_check).
// Data-Out: we transfer min(EDTL, SPDTL). For block writes with EDTL < SPDTL
// the command is carried out on the whole blocks EDTL covers and completes with
// GOOD and an overflow residual (FCP-4 option a, accepted by libiscsi
// test_write10_residuals/test_write_residuals); when EDTL is not a multiple of
// the block size nothing is written and the command fails with ILLEGAL REQUEST,
// INVALID FIELD IN COMMAND INFORMATION UNIT (FCP-4 option b, also accepted).
// Other Data-Out commands (parameter lists) take option b whenever EDTL < SPDTL.

import { ABORTED, ScsiStatus, type LunMapping, type LunView, type Nexus, type ScsiCommandRequest, type ScsiResult, type TaskOutcome } from './api.js';
import { BackstoreIoError } from '../backstore/types.js';
import type { AnyCommandSpec, CommandContext, CommandTable, UnitGeometry } from './command.js';
import { lookupCommand } from './command-table.js';
import { attachNexus, isWriteProtected, unitState, type LogicalUnitState } from './logical-unit.js';
import { decodeLun } from './lun-address.js';
import type { TargetScope } from './nexus.js';
import { buildSense, failure, invalidCdbField, isSenseFailure, renderFailure, SenseReason, type SenseFailure } from './sense.js';
import { inquiryUnmapped, parseInquiry, INQUIRY, type Identity } from './spc/inquiry.js';
import { parseReportLuns, reportLuns, REPORT_LUNS } from './spc/report-luns.js';
import { parseRequestSense, REQUEST_SENSE, senseParameterData } from './spc/request-sense.js';
import type { AdmittedTask, BlockExtent, TaskEntry } from './task-set.js';
import { prAccess, reservationConflict } from './pr/conflict.js';
import { take } from './unit-attention.js';
import { sanitizeCondition } from './sbc/sanitize.js';
import { aluaRefusal } from './alua-gating.js';

export interface DispatchEnv {
  readonly nexus: Nexus;
  readonly view: LunView;
  readonly scope: TargetScope;
  readonly table: CommandTable;
  /** The last UnitGeometry handed to a parser (dispatch's cache: one object per nexus, not per command). */
  geometry?: UnitGeometry & { readonly unit: LogicalUnitState };
}

const DEFAULT_IDENTITY: Identity = { vendor: 'TSGT', product: 'tsgt', revision: '0001' };

function checkCondition(sense: Buffer, transferLength: number): ScsiResult {
  return { status: ScsiStatus.CheckCondition, sense, transferLength };
}

function failed(f: SenseFailure, descriptor: boolean, transferLength: number): ScsiResult {
  return checkCondition(renderFailure(f, descriptor), transferLength);
}

/** Map an exception from execution to sense: backstore I/O → MEDIUM ERROR, anything else → HARDWARE ERROR. */
export function senseForError(error: unknown): SenseFailure {
  const io =
    error instanceof BackstoreIoError ||
    (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'TSGT_ERR_BACKSTORE_IO');
  if (io) {
    const e = error as BackstoreIoError;
    const reason = e.direction === 'read' ? SenseReason.MediumReadError : SenseReason.MediumWriteError;
    return failure(reason, { information: Number.isSafeInteger(e.lba) && e.lba >= 0 ? e.lba : undefined });
  }
  return failure(SenseReason.HardwareError);
}

/** Resolve to the value, or to ABORTED as soon as the signal fires. */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.resolve(ABORTED);
  }
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function identityFor(view: LunView): Identity {
  const first = view.list()[0];
  return first !== undefined ? unitState(first.unit).options : DEFAULT_IDENTITY;
}

/** LUN with no logical unit (SAM-5 "incorrect logical unit selection"; SPC-4 §6.6.2, §6.33, §6.39). */
function unmappedLun(env: DispatchEnv, cdb: Buffer): ScsiResult {
  const opcode = cdb.length > 0 ? cdb[0] : -1;
  let outcome: ScsiResult | SenseFailure;
  if (opcode === INQUIRY && cdb.length >= 6) {
    const p = parseInquiry(cdb);
    outcome = isSenseFailure(p) ? p : inquiryUnmapped(p, identityFor(env.view));
  } else if (opcode === REPORT_LUNS && cdb.length >= 12) {
    const p = parseReportLuns(cdb);
    outcome = isSenseFailure(p) ? p : reportLuns(p, env.view);
  } else if (opcode === REQUEST_SENSE && cdb.length >= 6) {
    const p = parseRequestSense(cdb);
    outcome = isSenseFailure(p) ? p : senseParameterData(SenseReason.LogicalUnitNotSupported, p);
  } else {
    outcome = failure(SenseReason.LogicalUnitNotSupported);
  }
  return isSenseFailure(outcome) ? failed(outcome, false, 0) : outcome;
}

/**
 * Commands that do not touch the medium: they work with a removable medium
 * ejected (everything else gets NOT READY, MEDIUM NOT PRESENT) and after a
 * failed sanitize (everything else gets MEDIUM ERROR, SANITIZE COMMAND
 * FAILED). REQUEST SENSE, INQUIRY, REPORT LUNS, START STOP UNIT, PREVENT
 * ALLOW, MODE SENSE/SELECT, LOG SENSE/SELECT, MAINTENANCE IN/OUT (REPORT
 * SUPPORTED OPERATION CODES, target port groups, ...), reservations, RECEIVE
 * COPY RESULTS, diagnostics and buffers. TEST UNIT READY is not among them: it
 * reports the medium state. SANITIZE is allowed after a failure (it is how the
 * failure mode ends) but needs a medium.
 */
const MEDIUM_INDEPENDENT: ReadonlySet<number> = new Set([
  0x03, 0x12, 0xa0, 0x1b, 0x1e, 0x15, 0x55, 0x1a, 0x5a, 0x4c, 0x4d, 0xa3, 0xa4, 0x16, 0x17, 0x56, 0x57, 0x5e, 0x5f, 0x84, 0x1c, 0x1d,
  0x3b, 0x3c,
]);

/** SBC-4 §4.11.2: while a sanitize operation runs, only these are processed (INQUIRY, REPORT LUNS, REQUEST SENSE). */
const DURING_SANITIZE: ReadonlySet<number> = new Set([0x12, 0xa0, 0x03]);

/**
 * The medium state's answer to a command, if it refuses it: a sanitize in
 * progress (NOT READY, SANITIZE IN PROGRESS with progress indication), no
 * medium (NOT READY, MEDIUM NOT PRESENT), a failed sanitize (MEDIUM ERROR,
 * SANITIZE COMMAND FAILED).
 */
function mediumRefusal(unit: LogicalUnitState, opcode: number, descriptor: boolean): Buffer | undefined {
  if (unit.sanitizing !== undefined) return DURING_SANITIZE.has(opcode) ? undefined : sanitizeCondition(unit, descriptor);
  if (MEDIUM_INDEPENDENT.has(opcode)) return undefined;
  if (!unit.mediumPresent) return buildSense(SenseReason.MediumNotPresent, { descriptor });
  if (unit.sanitizeFailure !== undefined && opcode !== 0x48) return sanitizeCondition(unit, descriptor);
  return undefined;
}

/** The synchronous checks, in SAM-5/SPC-4 order. Returns a final result or what to run. */
function prepare(env: DispatchEnv, req: ScsiCommandRequest): TaskContext | ScsiResult {
  const edtl = req.expectedDataLength;
  const lun = decodeLun(req.lun);
  const mapping = lun === undefined ? undefined : env.view.get(lun);
  if (mapping === undefined) return unmappedLun(env, req.cdb);
  const unit = unitState(mapping.unit);
  attachNexus(unit, env.nexus);
  const descriptor = unit.mode.dSense;
  const cdb = req.cdb;

  let found = lookupCommand(env.table, cdb);
  if (found.kind === 'found' && found.spec.available !== undefined && !found.spec.available(unit)) {
    found = found.spec.serviceAction === undefined ? { kind: 'unknown-opcode' } : { kind: 'unknown-service-action' };
  }
  if (found.kind !== 'found' || found.spec.bypassesUnitAttention !== true) {
    const ua = take(unit.ua, env.nexus.id);
    if (ua !== undefined) return checkCondition(buildSense(ua, { descriptor }), edtl);
  }
  if (found.kind === 'unknown-opcode') return failed(failure(SenseReason.InvalidOpcode), descriptor, edtl);
  if (found.kind === 'unknown-service-action') return failed(invalidCdbField(1, 4), descriptor, edtl);
  const spec = found.spec;
  if (cdb.length < spec.cdbLength) return failed(invalidCdbField(0, 7), descriptor, edtl);
  // SPC-4 §5.15.2.4: the access state of the target port this command came through (after unit attention, before reservations, as LIO).
  const inaccessible = aluaRefusal(unit, env.nexus, cdb, descriptor);
  if (inaccessible !== undefined) return checkCondition(inaccessible, edtl);

  // SPC-2 §5.5.1 reservations.
  if (unit.reservation !== undefined && unit.reservation !== env.nexus.id && !spec.allowedUnderReservation) {
    return { status: ScsiStatus.ReservationConflict, transferLength: edtl };
  }
  // SPC-4 §5.9.1 persistent reservations (pr/conflict.ts).
  if (reservationConflict(unit.pr, env.nexus, prAccess(spec, cdb))) {
    return { status: ScsiStatus.ReservationConflict, transferLength: edtl };
  }
  const refused = mediumRefusal(unit, spec.opcode, descriptor);
  if (refused !== undefined) return checkCondition(refused, edtl);

  const geometry = geometryOf(env, unit);
  const params = spec.parse(cdb.length === spec.cdbLength ? cdb : cdb.subarray(0, spec.cdbLength), geometry);
  if (isSenseFailure(params)) return failed(params, descriptor, edtl);

  const writeProtected = isWriteProtected(unit, mapping.writeProtect);
  if (spec.modifiesMedium && writeProtected) return failed(failure(SenseReason.WriteProtected), descriptor, edtl);

  const spdtl = spec.dataOutLength?.(params, geometry) ?? 0;
  let receive = 0;
  if (spdtl > 0) {
    // A command sent without the W bit carries no Data-Out at all.
    const available = req.direction === 'write' || req.direction === 'bidi' ? edtl : 0;
    if (available >= spdtl) receive = spdtl;
    else if (spec.truncatableDataOut === true && available % geometry.blockSize === 0) receive = available;
    else return failed(failure(SenseReason.InvalidFieldInCommandIu), descriptor, spdtl);
  }
  return new TaskContext(env, req, unit, mapping, spec, params, writeProtected, receive, spdtl > 0 ? spdtl : undefined, spec.extent?.(params));
}

/**
 * The parsers' view of the LU, remembered per nexus while it does not change
 * (capacity can change at run time, so it is compared on every command).
 */
function geometryOf(env: DispatchEnv, unit: LogicalUnitState): UnitGeometry {
  const device = unit.device;
  const last = env.geometry;
  if (
    last !== undefined &&
    last.unit === unit &&
    last.blockSize === device.blockSize &&
    last.blockCount === device.blockCount &&
    last.maxTransferBlocks === unit.maxTransferBlocks
  ) {
    return last;
  }
  const geometry = { unit, blockSize: device.blockSize, blockCount: device.blockCount, maxTransferBlocks: unit.maxTransferBlocks };
  env.geometry = geometry;
  return geometry;
}

function sumLength(buffers: readonly Buffer[]): number {
  let n = 0;
  for (const b of buffers) n += b.length;
  return n;
}

const NO_DATA_OUT: readonly Buffer[] = Object.freeze([]);

/**
 * One command between prepare() and its outcome: what to run, and the
 * CommandContext it runs with. A class so that every command gets the same
 * object shape (an object literal with a getter measured as the largest
 * per-command allocation), with the signal made only if a command asks for it.
 */
class TaskContext implements CommandContext {
  readonly nexus: Nexus;
  readonly view: LunView;
  readonly scope: TargetScope;
  readonly table: CommandTable;
  readonly expectedDataLength: number;
  /** Set once the Data-Out is in (readonly for the command). */
  dataOut: readonly Buffer[] = NO_DATA_OUT;
  dataOutLength = 0;
  #entry: AdmittedTask | undefined = undefined;
  readonly #req: ScsiCommandRequest;

  constructor(
    env: DispatchEnv,
    req: ScsiCommandRequest,
    readonly unit: LogicalUnitState,
    readonly mapping: LunMapping,
    readonly spec: AnyCommandSpec,
    readonly params: unknown,
    readonly writeProtected: boolean,
    /** Bytes of Data-Out to obtain. */
    readonly receive: number,
    /** transferLength to report (SPDTL for Data-Out commands; undefined: the command decides). */
    readonly spdtl: number | undefined,
    readonly extent: BlockExtent | undefined,
  ) {
    this.nexus = env.nexus;
    this.view = env.view;
    this.scope = env.scope;
    this.table = env.table;
    this.expectedDataLength = req.expectedDataLength;
    this.#req = req;
  }

  get signal(): AbortSignal {
    return this.entry.controller.signal;
  }

  /** The task-set entry; present from runPrepared on, before any command code runs. */
  get entry(): AdmittedTask {
    return this.#entry as AdmittedTask;
  }

  enter(): AdmittedTask {
    this.#entry = this.unit.tasks.admit(this.nexus.id, this.#req.tag, this.#req.attribute, this.extent);
    return this.#entry;
  }

  dataInBuffer(length: number): Buffer | undefined {
    return this.#req.allocateDataIn?.(length);
  }

  dataInExtent(length: number): boolean {
    return this.#req.acceptsFileExtent?.(length) === true;
  }

  setDataOut(dataOut: readonly Buffer[]): void {
    this.dataOut = dataOut;
    this.dataOutLength = dataOut.length === 0 ? 0 : Math.min(sumLength(dataOut), this.receive);
  }

  /** Leave the task set with `outcome`. */
  leave(outcome: TaskOutcome): TaskOutcome {
    this.unit.tasks.leave(this.entry);
    return outcome;
  }

  /** The command's outcome as the transport gets it; the task leaves the task set. */
  complete(outcome: ScsiResult | SenseFailure): TaskOutcome {
    try {
      if (this.spec.releasesDataOut === true && this.dataOut.length > 0) this.#req.releaseData?.(this.dataOut);
      if (this.entry.aborted) return ABORTED;
      if (isSenseFailure(outcome)) return failed(outcome, this.unit.mode.dSense, this.spdtl ?? this.expectedDataLength);
      if (outcome.transferLength === undefined) outcome.transferLength = this.spdtl ?? outcome.data?.length ?? 0;
      return outcome;
    } catch {
      return ABORTED;
    } finally {
      this.unit.tasks.leave(this.entry);
    }
  }
}

/** Obtain the Data-Out through receiveData, racing the task's abort signal. */
function receiveAbortable(req: ScsiCommandRequest, length: number, entry: TaskEntry): Promise<Buffer[] | typeof ABORTED> {
  const signal = entry.controller.signal;
  return raceAbort(req.receiveData(length, signal), signal);
}

/** SAM-5 §8.6 ordering: wait for the older tasks this one must follow. */
function waitForOlder(waitFor: readonly Promise<void>[], entry: TaskEntry): Promise<unknown> {
  return raceAbort<unknown>(waitFor.length === 1 ? waitFor[0] : Promise.all(waitFor), entry.controller.signal);
}

/**
 * Enter the task set, obtain the Data-Out, wait for older tasks, execute.
 * Plain promise code rather than one async function: a read, or a write whose
 * data the transport already holds, with no older task to wait for (the usual
 * case), runs synchronously up to the backstore call and costs one `then`.
 */
function runPrepared(req: ScsiCommandRequest, ctx: TaskContext): Promise<TaskOutcome> {
  const entry = ctx.enter();
  let held: readonly Buffer[] | undefined = NO_DATA_OUT;
  try {
    if (ctx.receive > 0) held = req.receiveDataHeld?.(ctx.receive);
  } catch {
    held = undefined;
  }
  if (held !== undefined && entry.waitFor === undefined) return executeEntered(ctx, held);
  return obtainThenExecute(req, ctx, held);
}

async function obtainThenExecute(req: ScsiCommandRequest, ctx: TaskContext, held: readonly Buffer[] | undefined): Promise<TaskOutcome> {
  const entry = ctx.entry;
  let dataOut: readonly Buffer[];
  try {
    if (held !== undefined) {
      dataOut = held;
    } else {
      // Data already held (immediate data) cannot be interrupted: no signal needed.
      const got = await (req.receiveDataReady?.(ctx.receive) ?? receiveAbortable(req, ctx.receive, entry));
      if (got === ABORTED) return ctx.leave(ABORTED);
      dataOut = got;
    }
    if (entry.waitFor !== undefined && (await waitForOlder(entry.waitFor, entry)) === ABORTED) return ctx.leave(ABORTED);
  } catch {
    // receiveData rejected: the transport can no longer complete this task.
    return ctx.leave(ABORTED);
  }
  return await executeEntered(ctx, dataOut);
}

function executeEntered(ctx: TaskContext, dataOut: readonly Buffer[]): Promise<TaskOutcome> {
  try {
    if (ctx.entry.aborted) return Promise.resolve(ctx.leave(ABORTED));
    const unit = ctx.unit;
    // A sanitize may have started while this command waited for older tasks.
    if (unit.sanitizing !== undefined) {
      const refused = mediumRefusal(unit, ctx.spec.opcode, unit.mode.dSense);
      if (refused !== undefined) return Promise.resolve(ctx.leave(checkCondition(refused, ctx.spdtl ?? ctx.expectedDataLength)));
    }
    ctx.setDataOut(dataOut);
  } catch {
    return Promise.resolve(ctx.leave(ABORTED));
  }
  let running: Promise<ScsiResult | SenseFailure>;
  try {
    running = ctx.spec.execute(ctx.params, ctx);
  } catch (error) {
    running = Promise.resolve(senseForError(error));
  }
  return running.then(
    (outcome) => ctx.complete(outcome),
    (error: unknown) => ctx.complete(senseForError(error)),
  );
}

/** Run one command through the pipeline. Never rejects. */
export function dispatchCommand(env: DispatchEnv, req: ScsiCommandRequest): Promise<TaskOutcome> {
  let prepared: TaskContext | ScsiResult;
  try {
    prepared = prepare(env, req);
  } catch {
    return Promise.resolve(checkCondition(buildSense(SenseReason.HardwareError, { descriptor: false }), req.expectedDataLength));
  }
  if (!(prepared instanceof TaskContext)) return Promise.resolve(prepared);
  return runPrepared(req, prepared);
}
