// The seam between a SCSI transport (iSCSI today) and the transport-neutral
// SCSI core (SAM-5/SPC-4/SBC-3). Nothing in src/scsi imports src/iscsi or
// src/pdu; the transport maps these values to its own wire codes.

import type { BlockDevice, FileExtent } from '../backstore/types.js';

export type { FileExtent };

/** SAM-5 status codes. */
export enum ScsiStatus {
  Good = 0x00,
  CheckCondition = 0x02,
  ConditionMet = 0x04,
  Busy = 0x08,
  ReservationConflict = 0x18,
  TaskSetFull = 0x28,
  AcaActive = 0x30,
  TaskAborted = 0x40,
}

export type TaskAttribute = 'untagged' | 'simple' | 'ordered' | 'head-of-queue' | 'aca';

/** One I_T nexus (an iSCSI session). */
export interface Nexus {
  /** Unique while the nexus exists. */
  readonly id: string;
  readonly initiatorName: string;
  /** SCSI initiator port name, e.g. "iqn.1994-05.com.redhat:x,i,0x23d000000001". */
  readonly initiatorPortName: string;
  readonly targetName: string;
  /** SCSI target port name, e.g. "iqn.2003-01.org.example:t1,t,0x0001". */
  readonly targetPortName: string;
  /** Relative target port identifier (VPD 0x83); the TPG tag for iSCSI. */
  readonly relativeTargetPortId: number;
  /** Target port group (ALUA) the port belongs to; one per TPG by default. */
  readonly targetPortGroupId: number;
}

export interface ScsiCommandRequest {
  /** The 8-byte LUN field (SAM-5 §4.7). */
  readonly lun: Buffer;
  readonly cdb: Buffer;
  /** Task tag, unique per nexus while the task exists (iSCSI ITT). */
  readonly tag: number;
  readonly attribute: TaskAttribute;
  /** Expected Data Transfer Length from the transport. */
  readonly expectedDataLength: number;
  readonly direction: 'none' | 'read' | 'write' | 'bidi';
  /**
   * Obtain `length` bytes of Data-Out from offset 0 (the transport solicits what
   * it does not already hold, e.g. via R2T). Never asks for more than
   * `expectedDataLength`. Rejects if the transport can no longer deliver.
   */
  receiveData(length: number, signal: AbortSignal): Promise<Buffer[]>;
  /**
   * Optional fast path: when the transport already holds all `length` bytes
   * (e.g. iSCSI immediate data), the same result as receiveData without an
   * AbortSignal (nothing is left to interrupt); undefined otherwise, and the
   * caller uses receiveData.
   */
  receiveDataReady?(length: number): Promise<Buffer[]> | undefined;
  /**
   * Optional synchronous form of receiveDataReady: the buffers when the
   * transport already holds all `length` bytes, undefined otherwise (then
   * receiveDataReady / receiveData are used). Lets a write carried entirely
   * in immediate data execute without a promise hop.
   */
  receiveDataHeld?(length: number): readonly Buffer[] | undefined;
  /**
   * Optional: the command is done with these buffers (as receiveData gave
   * them) and holds no reference to them; the transport may reuse their
   * memory. Called only for commands that declare it (CommandSpec
   * releasesDataOut), after they finished executing.
   */
  releaseData?(buffers: readonly Buffer[]): void;
  /**
   * Optional: a buffer of `length` bytes for Data-In that the transport
   * recycles once it has sent it (the command must return it as its data and
   * keep no reference); undefined when the transport has none to offer.
   */
  allocateDataIn?(length: number): Buffer | undefined;
  /**
   * Optional: the transport can send `length` bytes of Data-In straight from
   * a file (ScsiResult.extent) and would rather than receive a buffer.
   */
  acceptsFileExtent?(length: number): boolean;
}

export interface ScsiResult {
  status: ScsiStatus;
  /** Data-In produced by the command; the transport sends at most expectedDataLength of it. */
  data?: Buffer;
  /**
   * Data-In to send from a file instead of `data` (only when the request
   * acceptsFileExtent): sent before the current event-loop task ends.
   */
  extent?: FileExtent;
  /** Sense data (fixed or descriptor format) for CHECK CONDITION. */
  sense?: Buffer;
  /**
   * Bytes the command itself called for (CDB transfer/allocation length
   * clipped to what was produced for Data-In; the CDB's length for Data-Out).
   * The transport derives residual underflow/overflow from this vs expectedDataLength.
   * Defaults to data?.length ?? 0.
   */
  transferLength?: number;
}

/** Resolved instead of a result when the task was aborted (no status is sent, TAS=0). */
export const ABORTED: unique symbol = Symbol('scsi-task-aborted');
export type TaskOutcome = ScsiResult | typeof ABORTED;

export interface ScsiTaskHandle {
  readonly outcome: Promise<TaskOutcome>;
}

export type TaskManagementFunction =
  | 'abort-task'
  | 'abort-task-set'
  | 'clear-aca'
  | 'clear-task-set'
  | 'logical-unit-reset'
  | 'target-warm-reset'
  | 'target-cold-reset';

export type TaskManagementResult =
  | 'function-complete'
  | 'task-does-not-exist'
  | 'lun-does-not-exist'
  | 'function-not-supported'
  | 'function-rejected';

export interface TaskManagementRequest {
  readonly function: TaskManagementFunction;
  readonly lun: Buffer;
  /** For abort-task. */
  readonly referencedTag?: number;
}

/** Identity and presentation of a logical unit (from the storage object config). */
export interface LogicalUnitOptions {
  readonly device: BlockDevice;
  /** Storage object name (shown nowhere on the wire, used in logs). */
  readonly name: string;
  /** rtslib `wwn`: a UUID-like string; the unit serial (VPD 0x80) and NAA derive from it. */
  readonly wwn: string;
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
  /** Write-protected storage object (rtslib readonly). */
  readonly readOnly?: boolean;
  /**
   * Where persistent reservations live across restarts (SPC-4 §5.9.4 APTPL).
   * Without it PTPL_C is 0 and APTPL=1 is refused.
   */
  readonly prStore?: PrStore;
  /**
   * Logical block provisioning (SBC-3 §4.7) from the storage object's rtslib
   * attributes. The LU is thin (LBPME=1) only when this enables UNMAP or
   * WRITE SAME with UNMAP and the device can deallocate (BlockDevice.unmap).
   */
  readonly provisioning?: ProvisioningOptions;
  /**
   * Removable medium (INQUIRY RMB=1): START STOP UNIT ejects and loads it,
   * PREVENT ALLOW MEDIUM REMOVAL holds it in place, and medium-access commands
   * get NOT READY, MEDIUM NOT PRESENT while it is ejected. Absent: fixed medium.
   */
  readonly removable?: boolean;
  /**
   * Upper bound on the rate of a sanitize operation (SANITIZE OVERWRITE /
   * BLOCK ERASE), in bytes per second of the medium, so that a background wipe
   * does not starve the storage it shares with other LUs. Absent or 0: as fast
   * as the backstore goes.
   */
  readonly sanitizeBytesPerSecond?: number;
  /**
   * Configured target port groups (ALUA, SPC-4 §5.15). Absent: every target
   * port is its own active/optimized group with implicit ALUA only, as the
   * transport's TargetScope.targetPortGroups reports them.
   */
  readonly alua?: AluaOptions;
  /**
   * Bytes per physical block: a power-of-two multiple of device.blockSize, at
   * most 2^15 logical blocks (READ CAPACITY (16) LOGICAL BLOCKS PER PHYSICAL
   * BLOCK EXPONENT is 4 bits). Absent: device.blockSize (one logical block
   * per physical block).
   */
  readonly physicalBlockSize?: number;
}

/** rtslib emulate_tpu / emulate_tpws / max_unmap_* / unmap_granularity* / unmap_zeroes_data, resolved. */
export interface ProvisioningOptions {
  /** emulate_tpu: UNMAP is offered (VPD B2h LBPU). */
  readonly unmap: boolean;
  /** emulate_tpws: WRITE SAME (10)/(16) with UNMAP=1 deallocates (LBPWS, LBPWS10). */
  readonly writeSameUnmap: boolean;
  /** VPD B0h MAXIMUM UNMAP LBA COUNT; absent: tsgt's default. */
  readonly maxUnmapLbaCount?: number;
  /** VPD B0h MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT; absent: tsgt's default. */
  readonly maxUnmapBlockDescriptorCount?: number;
  /** VPD B0h OPTIMAL UNMAP GRANULARITY (blocks); absent: the device's own. */
  readonly unmapGranularity?: number;
  /** VPD B0h UNMAP GRANULARITY ALIGNMENT (blocks); absent: 0. */
  readonly unmapGranularityAlignment?: number;
  /** false withholds LBPRZ even where deallocated blocks read as zeros; absent: the device decides. */
  readonly unmapZeroesData?: boolean;
}

/** One registration of a persistent reservation, as plain data (SPC-4 §5.9.7). */
export interface PrRegistrationState {
  /** Reservation key, 16 hex digits. */
  readonly key: string;
  /** SCSI initiator device name (iSCSI name), lower case. */
  readonly initiatorName: string;
  /** ISID (12 hex digits) of the initiator port; absent: every port of the initiator (TransportID format 00b). */
  readonly isid?: string;
  /** Target the registration was made through (absent with allTargetPorts). */
  readonly targetName?: string;
  /** Relative target port identifier (0 with allTargetPorts). */
  readonly relativeTargetPortId: number;
  /** ALL_TG_PT=1: registered through every target port. */
  readonly allTargetPorts: boolean;
}

/** Persistent reservation state of one logical unit, as plain JSON-able data. */
export interface PrState {
  readonly version: 1;
  /** PRGENERATION (32-bit wrapping counter). */
  readonly generation: number;
  /** Activate Persist Through Power Loss: the state was saved to be restored at start. */
  readonly aptpl: boolean;
  readonly registrations: readonly PrRegistrationState[];
  /** The reservation; `holder` indexes `registrations`. */
  readonly reservation?: { readonly type: number; readonly scope: number; readonly holder: number };
}

/**
 * Storage for PrState. `load` runs once when the LU is created (state with
 * aptpl=false is ignored); `save` is called after every change while APTPL is
 * (or just stopped being) active, one call at a time, and should replace the
 * stored state atomically.
 */
export interface PrStore {
  load(): PrState | undefined;
  save(state: PrState): Promise<void>;
}

/** A LUN as one initiator sees it (ACL mapped_luns or the TPG's LUNs in demo mode). */
export interface LunMapping {
  readonly lun: number;
  readonly unit: LogicalUnit;
  readonly writeProtect: boolean;
}

/** The set of LUNs a nexus sees; may change while the nexus lives (REPORTED LUNS DATA HAS CHANGED). */
export interface LunView {
  list(): readonly LunMapping[];
  get(lun: number): LunMapping | undefined;
}

/** Opaque handle of a logical unit; created by the SCSI core. */
export interface LogicalUnit {
  readonly name: string;
  readonly device: BlockDevice;
}

export interface ScsiNexusHandle {
  execute(request: ScsiCommandRequest): ScsiTaskHandle;
  taskManagement(request: TaskManagementRequest): Promise<TaskManagementResult>;
  /** I_T nexus loss: aborts this nexus' tasks and raises the UA for it where SAM says so. */
  close(): void;
}

/** One target port group of a logical unit (LIO's /backstores/<plugin>/<so>/alua/<group>). */
export interface AluaGroupOptions {
  /** TARGET PORT GROUP (tg_pt_gp_id), 0..65535. */
  readonly id: number;
  /** Group name (logs, saved state). */
  readonly name: string;
  /** ASYMMETRIC ACCESS STATE at start: 0 AO, 1 AN, 2 standby, 3 unavailable, 0Eh offline, 0Fh transitioning. */
  readonly state: number;
  /** STATUS CODE at start: 0 none, 1 altered by SET TARGET PORT GROUPS, 2 altered by implicit behaviour. */
  readonly status: number;
  /** alua_access_type bit 0: the device server may change the state itself. */
  readonly implicit: boolean;
  /** alua_access_type bit 1: SET TARGET PORT GROUPS may change the state. */
  readonly explicit: boolean;
  /** Byte 1 of the RTPG descriptor: T_SUP 80h, O_SUP 40h, U_SUP 08h, S_SUP 04h, AN_SUP 02h, AO_SUP 01h. */
  readonly supportedStates: number;
  /** PREF bit. */
  readonly preferred: boolean;
  /** RTPG extended header IMPLICIT TRANSITION TIME, seconds (0..255). */
  readonly implicitTransitionSeconds: number;
  /** alua_write_metadata: explicit changes are saved to AluaOptions.store. */
  readonly persistent?: boolean;
}

/** A SCSI target port through which the LU is reachable, and the group it belongs to. */
export interface AluaPortOptions {
  readonly targetName: string;
  readonly relativeTargetPortId: number;
  readonly groupId: number;
}

/** Saved access states (alua_write_metadata=1) of the persistent groups. */
export interface AluaSavedState {
  readonly version: 1;
  readonly groups: readonly { readonly id: number; readonly state: number; readonly status: number }[];
}

/** Storage for AluaSavedState: `load` once at LU creation, `save` after each change of a persistent group (one call at a time). */
export interface AluaStore {
  load(): AluaSavedState | undefined;
  save(state: AluaSavedState): Promise<void>;
}

/** Explicit target port groups of a logical unit. */
export interface AluaOptions {
  readonly groups: readonly AluaGroupOptions[];
  readonly ports: readonly AluaPortOptions[];
  readonly store?: AluaStore;
}
