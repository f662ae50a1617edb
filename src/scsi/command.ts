// The shape of one command of the command table: a pure CDB parser plus an
// executor. The dispatcher (dispatch.ts) runs the checks common to all.

import type { LunMapping, LunView, Nexus, ScsiResult } from './api.js';
import type { LogicalUnitState } from './logical-unit.js';
import type { SenseFailure } from './sense.js';
import type { BlockExtent } from './task-set.js';
import type { TargetScope } from './nexus.js';

/** What a parser may know about the LU (capacity changes at run time). */
export interface UnitGeometry {
  readonly blockSize: number;
  readonly blockCount: number;
  readonly maxTransferBlocks: number;
}

export interface CommandContext {
  readonly unit: LogicalUnitState;
  readonly mapping: LunMapping;
  readonly nexus: Nexus;
  readonly view: LunView;
  readonly scope: TargetScope;
  readonly table: CommandTable;
  readonly signal: AbortSignal;
  /** Data-Out received for this command (possibly fewer bytes than the CDB asked for, see dispatch.ts). */
  readonly dataOut: readonly Buffer[];
  readonly dataOutLength: number;
  /** A recyclable buffer for this command's Data-In (ScsiCommandRequest.allocateDataIn). */
  readonly dataInBuffer?: (length: number) => Buffer | undefined;
  /** Whether the transport would send `length` bytes of Data-In from a file extent (ScsiCommandRequest.acceptsFileExtent). */
  readonly dataInExtent?: (length: number) => boolean;
  readonly expectedDataLength: number;
  /** Effective write protection for this nexus' view of the LU. */
  readonly writeProtected: boolean;
}

export type CommandOutcome = ScsiResult | SenseFailure;

export interface CommandSpec<P = unknown> {
  readonly name: string;
  readonly opcode: number;
  /** Service action (byte 1 bits 4..0) for opcodes that multiplex them. */
  readonly serviceAction?: number;
  readonly cdbLength: number;
  /**
   * CDB USAGE DATA (SPC-4 §6.35.3): for each CDB byte, the bits this device
   * server examines. Byte 0 is the opcode.
   */
  readonly usage: readonly number[];
  /** The command can change the medium (write protection applies). */
  readonly modifiesMedium: boolean;
  /** SPC-2 §5.5.1: allowed from a nexus other than the holder of a RESERVE(6)/(10). */
  readonly allowedUnderReservation: boolean;
  /** Not blocked by a pending unit attention and does not clear it (SAM-5 §5.14). */
  readonly bypassesUnitAttention?: boolean;
  /** Nominal / recommended command timeouts in seconds (REPORT SUPPORTED OPERATION CODES, RCTD). */
  readonly timeouts?: { readonly nominal: number; readonly recommended: number };
  /**
   * Whether this LU implements the command (a capability of the LU, e.g. a
   * SANITIZE method that needs thin provisioning). Absent: always. An
   * unavailable command is not listed by REPORT SUPPORTED OPERATION CODES and
   * is refused like an unknown opcode / service action.
   */
  available?(unit: LogicalUnitState): boolean;
  parse(cdb: Buffer, geometry: UnitGeometry): P | SenseFailure;
  /** Data-Out bytes the CDB calls for. */
  dataOutLength?(params: P, geometry: UnitGeometry): number;
  /**
   * SBC writes: when EDTL is smaller than the CDB's transfer length the command
   * runs on the whole blocks that EDTL covers (see dispatch.ts).
   */
  readonly truncatableDataOut?: boolean;
  /** Blocks touched, for the ordering of overlapping I/O. */
  extent?(params: P): BlockExtent | undefined;
  /**
   * execute() keeps no reference to ctx.dataOut once it settles (the backstore
   * write has completed), so the transport may reuse those buffers.
   */
  readonly releasesDataOut?: boolean;
  execute(params: P, ctx: CommandContext): Promise<CommandOutcome>;
}

export type AnyCommandSpec = CommandSpec<any>;

export interface CommandTable {
  /** Opcode → spec, or service action → spec for multiplexed opcodes. */
  readonly byOpcode: ReadonlyMap<number, AnyCommandSpec | ReadonlyMap<number, AnyCommandSpec>>;
  readonly all: readonly AnyCommandSpec[];
}

/** Identity helper that keeps a spec's parameter type checked while erasing it for the table. */
export function defineCommand<P>(spec: CommandSpec<P>): AnyCommandSpec {
  return spec;
}

/** Bits examined in a CDB: convenience for building `usage` arrays. */
export function usage(...bytes: number[]): readonly number[] {
  return bytes;
}
