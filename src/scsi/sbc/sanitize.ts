// SANITIZE (SBC-4 §5.30, model §4.11): make all user data unrecoverable.
//
// The operation runs in the background on the LU, not in the task: it
// persists through ABORT TASK, LU and target resets and I_T nexus loss
// (§4.11.2), and while it runs the LU answers only INQUIRY, REPORT LUNS and
// REQUEST SENSE; everything else gets NOT READY, SANITIZE IN PROGRESS with a
// progress indication (dispatch.ts). With IMMED=0 the command completes when
// the operation does (or when the task is aborted — the operation goes on).
// SBC-4 processes SANITIZE as if HEAD OF QUEUE; here it is ordered after the
// I/O already in the task set (a whole-medium write extent), so that no
// earlier write lands on the medium after it was sanitized.
//
// Service actions:
// - 01h OVERWRITE: the INITIALIZATION PATTERN, repeated to fill each block,
//   OVERWRITE COUNT times; with INVERT the pattern alternates so that the
//   last pass writes it as given (the first pass is inverted when the count
//   is even).
// - 02h BLOCK ERASE: only on a thin LU (LBPME=1), where it deallocates every
//   LBA (libiscsi requires LBPME and a fully deallocated LU after it, and
//   WABEREQ=01b: reads of erased blocks succeed). A fully provisioned LU does
//   not offer it; OVERWRITE is its sanitize method.
// - 03h CRYPTOGRAPHIC ERASE: only where the device stores user data
//   encrypted (storage attribute `encryption`, backstore/encrypted.ts: the
//   BlockDevice has cryptoErase). The operation replaces the media key
//   (durably) and touches no block: blocks written before read back as other
//   data, deallocated ones as zeros, and reads succeed (WACEREQ=01b). Without
//   encryption there is no key whose change would erase anything: not
//   offered, WACEREQ=00b.
//   (libiscsi 1.19's Sanitize.CryptoErase checks WABEREQ, not WACEREQ, after
//   the erase, so it fails on an encrypted LU without BLOCK ERASE, i.e. a
//   fully provisioned one; the encrypted conformance LU is thin.)
// - 1Fh EXIT FAILURE MODE: leaves the failure mode of an operation started
//   with AUSE=1; after a failure with AUSE=0 only a successful sanitize does
//   (restricted completion, §4.11.3): EXIT FAILURE MODE and AUSE=1 are then
//   INVALID FIELD IN CDB.
// A failed operation (backstore I/O error) leaves the LU refusing medium
// access with MEDIUM ERROR, SANITIZE COMMAND FAILED (31/03).

import { setTimeout as sleep } from 'node:timers/promises';
import { ScsiStatus } from '../api.js';
import { gather } from './block-cdb.js';
import { defineCommand, type AnyCommandSpec, type CommandContext, type CommandOutcome } from '../command.js';
import type { LogicalUnitState, SanitizeOperation } from '../logical-unit.js';
import { buildSense, failure, invalidCdbField, invalidParameterField, SenseReason, type SenseFailure } from '../sense.js';
import { unitProvisioning } from './provisioning.js';

export const SANITIZE = 0x48;
export const SA_OVERWRITE = 0x01;
export const SA_BLOCK_ERASE = 0x02;
export const SA_CRYPTOGRAPHIC_ERASE = 0x03;
export const SA_EXIT_FAILURE_MODE = 0x1f;

/** Bytes written per backstore call (OVERWRITE). */
const WRITE_CHUNK_BYTES = 1024 * 1024;
/** Bytes deallocated per backstore call (BLOCK ERASE). */
const ERASE_CHUNK_BYTES = 32 * 1024 * 1024;

export interface SanitizeParams {
  readonly immed: boolean;
  readonly ause: boolean;
  readonly parameterListLength: number;
  /** Capacity when the CDB was parsed (the operation orders against all I/O on the medium). */
  readonly blockCount: number;
}

/** OVERWRITE parameter list (SBC-4 §5.30.2.2). */
export interface OverwriteParameters {
  readonly invert: boolean;
  readonly passes: number;
  readonly pattern: Buffer;
}

/** Byte 1 bit 6 (ZNR in SBC-4, for zoned devices) and bytes 2..6 are reserved here. */
export function parseSanitizeCdb(cdb: Buffer, blockCount: number): SanitizeParams | SenseFailure {
  if ((cdb[1] & 0x40) !== 0) return invalidCdbField(1, 6);
  for (let i = 2; i <= 6; i++) if (cdb[i] !== 0) return invalidCdbField(i, 7);
  return { immed: (cdb[1] & 0x80) !== 0, ause: (cdb[1] & 0x20) !== 0, parameterListLength: cdb.readUInt16BE(7), blockCount };
}

/** OVERWRITE needs a header and 1..block-size pattern bytes; the PARAMETER LIST LENGTH is checked in the CDB. */
function parseOverwriteCdb(cdb: Buffer, blockCount: number, blockSize: number): SanitizeParams | SenseFailure {
  const p = parseSanitizeCdb(cdb, blockCount);
  if ('kind' in p) return p;
  if (p.parameterListLength < 5 || p.parameterListLength > blockSize + 4) return invalidCdbField(7, 7);
  return p;
}

/** BLOCK ERASE, CRYPTOGRAPHIC ERASE and EXIT FAILURE MODE take no parameter list. */
function parseNoListCdb(cdb: Buffer, blockCount: number): SanitizeParams | SenseFailure {
  const p = parseSanitizeCdb(cdb, blockCount);
  if ('kind' in p) return p;
  if (p.parameterListLength !== 0) return invalidCdbField(7, 7);
  return p;
}

export function parseOverwriteParameters(list: Buffer, blockSize: number): OverwriteParameters | SenseFailure {
  if (list.length < 5) return failure(SenseReason.ParameterListLengthError);
  const passes = list[0] & 0x1f;
  if ((list[0] & 0x60) !== 0) return invalidParameterField(0, 6); // TEST: only 00b (normal operation)
  if (passes === 0) return invalidParameterField(0, 4); // OVERWRITE COUNT 00h is reserved
  const length = list.readUInt16BE(2);
  if (length === 0 || length > blockSize || length > list.length - 4) return invalidParameterField(2, 7);
  return { invert: (list[0] & 0x80) !== 0, passes, pattern: Buffer.from(list.subarray(4, 4 + length)) };
}

/** BLOCK ERASE is offered where LBAs can really be deallocated (LBPME=1). */
export function blockEraseAvailable(unit: LogicalUnitState): boolean {
  return unitProvisioning(unit).thin && unit.device.unmap !== undefined;
}

/** CRYPTOGRAPHIC ERASE is offered where the device stores user data encrypted under a key it can replace. */
export function cryptoEraseAvailable(unit: LogicalUnitState): boolean {
  return unit.device.cryptoErase !== undefined;
}

/**
 * VPD B1h byte 7 WABEREQ (bits 7..6) / WACEREQ (bits 5..4), SBC-4 §6.6.2:
 * 01b for each erase method where it is offered (reads of erased LBAs
 * complete with GOOD; after a cryptographic erase with data that is not the
 * old data), 00b otherwise. Returns the page, patched.
 */
export function withSanitizeRequirements(page: Buffer, unit: LogicalUnitState): Buffer {
  if (page.length > 7) page[7] = (page[7] & 0x0f) | (blockEraseAvailable(unit) ? 0x40 : 0x00) | (cryptoEraseAvailable(unit) ? 0x10 : 0x00);
  return page;
}

/**
 * Sense data with a progress indication in the SENSE KEY SPECIFIC field
 * (SPC-4 §4.5.2.4.4): fixed format bytes 15..17, descriptor format a sense key
 * specific descriptor (02h).
 */
export function senseWithProgress(reason: SenseReason, progress: number, descriptor: boolean): Buffer {
  const sks = Buffer.from([0x80, 0, 0]);
  sks.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.floor(progress))), 1);
  const base = buildSense(reason, { descriptor });
  if (!descriptor) {
    sks.copy(base, 15);
    return base;
  }
  const d = Buffer.from([0x02, 0x06, 0, 0, 0, 0, 0, 0]);
  sks.copy(d, 4);
  const out = Buffer.concat([base, d]);
  out[7] = out.length - 8;
  return out;
}

/** What the LU answers while a sanitize runs or after one failed; undefined when neither. */
export function sanitizeCondition(unit: LogicalUnitState, descriptor: boolean): Buffer | undefined {
  if (unit.sanitizing !== undefined) return senseWithProgress(SenseReason.SanitizeInProgress, unit.sanitizing.progress, descriptor);
  if (unit.sanitizeFailure !== undefined) return buildSense(SenseReason.SanitizeCommandFailed, { descriptor });
  return undefined;
}

type Method =
  | { readonly kind: 'overwrite'; readonly parameters: OverwriteParameters }
  | { readonly kind: 'block-erase' }
  | { readonly kind: 'crypto-erase' };

/** One block-size run of the pattern, repeated from the first byte of the block. */
function patternBlock(pattern: Buffer, blockSize: number, inverted: boolean): Buffer {
  const b = Buffer.alloc(blockSize);
  for (let i = 0; i < blockSize; i += pattern.length) pattern.copy(b, i, 0, Math.min(pattern.length, blockSize - i));
  if (inverted) for (let i = 0; i < blockSize; i++) b[i] ^= 0xff;
  return b;
}

/** Sleeps as needed so that `doneBytes` since `started` does not exceed the configured rate. */
async function throttle(unit: LogicalUnitState, started: number, doneBytes: number): Promise<void> {
  const rate = unit.options.sanitizeBytesPerSecond;
  if (rate === undefined || !(rate > 0)) return;
  const due = started + (doneBytes / rate) * 1000;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
}

async function perform(unit: LogicalUnitState, method: Method, op: { progress: number }): Promise<void> {
  const device = unit.device;
  if (method.kind === 'crypto-erase') {
    if (device.cryptoErase === undefined) throw new Error('the device has no media key to change');
    await device.cryptoErase();
    op.progress = 0xffff;
    await device.flush();
    return;
  }
  const bs = device.blockSize;
  const blocks = device.blockCount;
  const chunkBlocks = Math.max(1, Math.floor((method.kind === 'overwrite' ? WRITE_CHUNK_BYTES : ERASE_CHUNK_BYTES) / bs));
  const passes = method.kind === 'overwrite' ? method.parameters.passes : 1;
  const total = Math.max(1, blocks * bs * passes);
  const started = Date.now();
  let done = 0;
  for (let pass = 0; pass < passes; pass++) {
    let chunk: Buffer | undefined;
    if (method.kind === 'overwrite') {
      const { invert, pattern } = method.parameters;
      const block = patternBlock(pattern, bs, invert && (passes - 1 - pass) % 2 === 1);
      chunk = Buffer.alloc(Math.min(chunkBlocks, Math.max(1, blocks)) * bs);
      for (let i = 0; i < chunk.length; i += bs) block.copy(chunk, i);
    }
    for (let lba = 0; lba < blocks; lba += chunkBlocks) {
      const n = Math.min(chunkBlocks, blocks - lba);
      if (chunk !== undefined) await device.write(lba, [chunk.subarray(0, n * bs)]);
      else await eraseBlocks(unit, lba, n);
      done += n * bs;
      op.progress = Math.min(0xffff, Math.floor((done / total) * 0x10000));
      await throttle(unit, started, done);
    }
  }
  await device.flush();
}

/** Deallocate; where deallocated blocks might still hold the old data, zero them as well. */
async function eraseBlocks(unit: LogicalUnitState, lba: number, blocks: number): Promise<void> {
  const device = unit.device;
  if (device.unmap !== undefined) {
    await device.unmap([{ lba, blocks }]);
    if (device.unmapZeroes === true) return;
  }
  if (device.writeZeroes !== undefined) await device.writeZeroes(lba, blocks);
  else await device.write(lba, [Buffer.alloc(blocks * device.blockSize)]);
}

/** Start a sanitize operation on the LU; it runs to completion whatever happens to the command. */
export function startSanitize(unit: LogicalUnitState, serviceAction: number, method: Method, ause: boolean): SanitizeOperation {
  let resolve!: (ok: boolean) => void;
  const done = new Promise<boolean>((r) => (resolve = r));
  const op: SanitizeOperation = { serviceAction, ause, progress: 0, done };
  unit.sanitizing = op;
  perform(unit, method, op).then(
    () => {
      unit.sanitizeFailure = undefined;
      unit.sanitizing = undefined;
      resolve(true);
    },
    () => {
      unit.sanitizeFailure = { ause };
      unit.sanitizing = undefined;
      resolve(false);
    },
  );
  return op;
}

/** Resolves with the operation's result, or undefined as soon as the task is aborted. */
function untilDoneOrAborted(op: SanitizeOperation, signal: AbortSignal): Promise<boolean | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void op.done.then((ok) => {
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    });
  });
}

async function run(p: SanitizeParams, ctx: CommandContext, serviceAction: number, method: Method): Promise<CommandOutcome> {
  const unit = ctx.unit;
  if (unit.sanitizing !== undefined) return failure(SenseReason.SanitizeInProgress);
  // Restricted completion: after a failure with AUSE=0 the next sanitize may not ask for AUSE=1.
  if (p.ause && unit.sanitizeFailure !== undefined && !unit.sanitizeFailure.ause) return invalidCdbField(1, 5);
  const op = startSanitize(unit, serviceAction, method, p.ause);
  if (p.immed) return { status: ScsiStatus.Good };
  const ok = await untilDoneOrAborted(op, ctx.signal);
  if (ok === false) return failure(SenseReason.SanitizeCommandFailed);
  return { status: ScsiStatus.Good };
}

const USAGE = [SANITIZE, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00];

/** The operation rewrites every block: order it after all I/O already in the task set. */
const wholeMedium = (p: SanitizeParams) => ({ lba: 0, blocks: Math.max(1, p.blockCount), write: true });

export const sanitizeOverwriteCommand: AnyCommandSpec = defineCommand<SanitizeParams>({
  name: 'SANITIZE (OVERWRITE)',
  opcode: SANITIZE,
  serviceAction: SA_OVERWRITE,
  cdbLength: 10,
  usage: USAGE,
  modifiesMedium: true,
  allowedUnderReservation: false,
  parse: (cdb, g) => parseOverwriteCdb(cdb, g.blockCount, g.blockSize),
  dataOutLength: (p) => p.parameterListLength,
  extent: wholeMedium,
  async execute(p, ctx) {
    const list = gather(ctx.dataOut, Math.min(p.parameterListLength, ctx.dataOutLength));
    const parameters = parseOverwriteParameters(list, ctx.unit.device.blockSize);
    if ('kind' in parameters) return parameters;
    return run(p, ctx, SA_OVERWRITE, { kind: 'overwrite', parameters });
  },
});

export const sanitizeBlockEraseCommand: AnyCommandSpec = defineCommand<SanitizeParams>({
  name: 'SANITIZE (BLOCK ERASE)',
  opcode: SANITIZE,
  serviceAction: SA_BLOCK_ERASE,
  cdbLength: 10,
  usage: USAGE,
  modifiesMedium: true,
  allowedUnderReservation: false,
  available: blockEraseAvailable,
  parse: (cdb, g) => parseNoListCdb(cdb, g.blockCount),
  extent: wholeMedium,
  execute: (p, ctx) => run(p, ctx, SA_BLOCK_ERASE, { kind: 'block-erase' }),
});

export const sanitizeCryptographicEraseCommand: AnyCommandSpec = defineCommand<SanitizeParams>({
  name: 'SANITIZE (CRYPTOGRAPHIC ERASE)',
  opcode: SANITIZE,
  serviceAction: SA_CRYPTOGRAPHIC_ERASE,
  cdbLength: 10,
  usage: USAGE,
  modifiesMedium: true,
  allowedUnderReservation: false,
  available: cryptoEraseAvailable,
  parse: (cdb, g) => parseNoListCdb(cdb, g.blockCount),
  extent: wholeMedium,
  execute: (p, ctx) => run(p, ctx, SA_CRYPTOGRAPHIC_ERASE, { kind: 'crypto-erase' }),
});

export const sanitizeExitFailureModeCommand: AnyCommandSpec = defineCommand<SanitizeParams>({
  name: 'SANITIZE (EXIT FAILURE MODE)',
  opcode: SANITIZE,
  serviceAction: SA_EXIT_FAILURE_MODE,
  cdbLength: 10,
  usage: USAGE,
  modifiesMedium: false,
  allowedUnderReservation: false,
  parse: (cdb, g) => parseNoListCdb(cdb, g.blockCount),
  async execute(_p, ctx) {
    const failed = ctx.unit.sanitizeFailure;
    if (failed !== undefined && !failed.ause) return invalidCdbField(1, 4);
    ctx.unit.sanitizeFailure = undefined;
    return { status: ScsiStatus.Good };
  },
});

export const sanitizeCommands: readonly AnyCommandSpec[] = [
  sanitizeOverwriteCommand,
  sanitizeBlockEraseCommand,
  sanitizeCryptographicEraseCommand,
  sanitizeExitFailureModeCommand,
];
