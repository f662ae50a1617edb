// One SCSI command of an iSCSI connection (RFC 7143 §11.3) as the SCSI core
// sees it: the request object (src/scsi/api.ts ScsiCommandRequest) and the item
// the CmdSN window queues, in one object per command.

import { TaskAttribute as WireTaskAttribute } from '../pdu/types.js';
import type { ScsiCommand } from '../pdu/types.js';
import type { ScsiCommandRequest, TaskAttribute } from '../scsi/api.js';
import type { DataOutCollector } from './data-out-collector.js';
import type { Wire } from './connection.js';

const SETTLED: Promise<void> = Promise.resolve();

/** What a Task needs from the flow that owns it (ScsiFlow). */
export interface TaskOwner {
  readonly conn: { readonly wire: Wire };
  /** Commands of this connection in flight, this one included. */
  readonly activeTasks: number;
  execute(task: Task): void;
}

/**
 * One SCSI command of this connection. It is at once the request the SCSI core
 * executes (methods instead of per-command closures) and the item the command
 * window queues (`pdu` + `run`).
 */
export class Task implements ScsiCommandRequest {
  readonly lun: Buffer;
  readonly cdb: Buffer;
  readonly tag: number;
  readonly attribute: TaskAttribute;
  readonly expectedDataLength: number;
  readonly direction: 'none' | 'read' | 'write' | 'bidi';
  ended = false;
  /** Made only when someone waits (drain at logout): most tasks end unobserved. */
  waiter: Promise<void> | undefined = undefined;
  wake: (() => void) | undefined = undefined;

  constructor(
    readonly flow: TaskOwner,
    readonly cmd: ScsiCommand,
    /** Present while Data-Out may still arrive (R2T or unsolicited Data-Out); absent for reads and all-immediate writes. */
    readonly collector: DataOutCollector | undefined,
    /** A write whose Data-Out all came as immediate data (cmd.data): nothing more may arrive. */
    readonly immediateOnly: boolean,
    /**
     * Commands the initiator had outstanding on this connection when it sent
     * this one, itself included (ScsiFlow.onCommand): 1 means a QD1 stream.
     */
    readonly initiatorDepth: number,
  ) {
    this.lun = cmd.lun;
    this.cdb = cmd.cdb;
    this.tag = cmd.itt;
    this.attribute = ATTRIBUTES[cmd.attribute] ?? 'simple';
    this.expectedDataLength = cmd.expectedDataTransferLength;
    this.direction = cmd.read && cmd.write ? 'bidi' : cmd.write ? 'write' : cmd.read ? 'read' : 'none';
  }

  /** The command window's view of this task (CmdSN ordering). */
  get pdu(): ScsiCommand {
    return this.cmd;
  }

  run(): void {
    this.flow.execute(this);
  }

  receiveData(length: number, signal: AbortSignal): Promise<Buffer[]> {
    const collector = this.collector;
    if (collector === undefined) return this.#immediate(length);
    if (signal.aborted) return Promise.reject(new Error('aborted'));
    signal.addEventListener('abort', () => collector.fail(new Error('task aborted')), { once: true });
    return collector.want(length);
  }

  receiveDataReady(length: number): Promise<Buffer[]> | undefined {
    const collector = this.collector;
    if (collector === undefined) return this.#immediate(length);
    return collector.received >= Math.min(length, collector.expectedLength) ? collector.want(length) : undefined;
  }

  receiveDataHeld(length: number): readonly Buffer[] | undefined {
    if (!this.immediateOnly) return undefined;
    const data = this.cmd.data;
    const n = Math.min(length, this.expectedDataLength);
    return [n >= data.length ? data : data.subarray(0, n)];
  }

  releaseData(buffers: readonly Buffer[]): void {
    if (this.collector !== undefined || this.immediateOnly) this.flow.conn.wire.release?.(buffers);
  }

  allocateDataIn(length: number): Buffer | undefined {
    return this.cmd.read ? this.flow.conn.wire.allocate?.(length) : undefined;
  }

  acceptsFileExtent(length: number): boolean {
    const wire = this.flow.conn.wire;
    const alone = this.initiatorDepth <= 1 && this.flow.activeTasks <= 1;
    return this.cmd.read && wire.sendFile !== undefined && wire.canSendFile?.(length, alone) === true;
  }

  /** What the collector would hand out for data it already holds: the first `length` bytes (at most EDTL). */
  #immediate(length: number): Promise<Buffer[]> {
    if (!this.immediateOnly) return Promise.resolve([]);
    const data = this.cmd.data;
    const n = Math.min(length, this.expectedDataLength);
    return Promise.resolve([n >= data.length ? data : data.subarray(0, n)]);
  }
}

export function finishTask(t: Task): void {
  t.ended = true;
  t.wake?.();
}

export function taskDone(t: Task): Promise<void> {
  if (t.ended) return SETTLED;
  t.waiter ??= new Promise<void>((resolve) => (t.wake = resolve));
  return t.waiter;
}

const ATTRIBUTES: Record<number, TaskAttribute> = {
  [WireTaskAttribute.Untagged]: 'untagged',
  [WireTaskAttribute.Simple]: 'simple',
  [WireTaskAttribute.Ordered]: 'ordered',
  [WireTaskAttribute.HeadOfQueue]: 'head-of-queue',
  [WireTaskAttribute.Aca]: 'aca',
};
