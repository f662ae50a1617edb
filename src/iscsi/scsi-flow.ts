// SCSI traffic of a full-feature-phase connection: SCSI Command, Data-Out,
// R2T, Data-In, SCSI Response and Task Management (RFC 7143 §11.2-§11.8).
//
// The SCSI core decides how much Data-Out it needs (LIO's parse → write_pending
// → execute order), so a bad CDB fails before any R2T goes out.

import { Opcode, RejectReason, RESERVED_TAG } from '../pdu/types.js';
import type { DataOut, ScsiCommand, TaskManagementRequest } from '../pdu/types.js';
import { TaskManagementFunction as WireTmf, TaskManagementResponseCode } from '../pdu/types.js';
import type { ReceivedFrame } from '../pdu/framer.js';
import { encodeDataIn } from '../pdu/data-in.js';
import { encodeScsiResponse } from '../pdu/scsi-response.js';
import { encodeReadyToTransfer } from '../pdu/r2t.js';
import { encodeTaskManagementResponse } from '../pdu/task-management.js';
import { ABORTED, ScsiStatus } from '../scsi/api.js';
import type { FileExtent, ScsiResult, TaskManagementFunction, TaskManagementResult } from '../scsi/api.js';
import { DataOutCollector } from './data-out-collector.js';
import type { IscsiConnection } from './connection.js';
import type { LoginOutcome } from './login/index.js';
import { finishTask, Task, taskDone } from './scsi-task.js';
import { U32Map } from '../util/u32-map.js';

const EMPTY = Buffer.alloc(0);
/** The LUN field of a Data-In carrying status is reserved (RFC 7143 §11.7.4); the encoder copies it. */
const NO_LUN = Buffer.alloc(8);

const TMF: Partial<Record<WireTmf, TaskManagementFunction>> = {
  [WireTmf.AbortTask]: 'abort-task',
  [WireTmf.AbortTaskSet]: 'abort-task-set',
  [WireTmf.ClearAca]: 'clear-aca',
  [WireTmf.ClearTaskSet]: 'clear-task-set',
  [WireTmf.LogicalUnitReset]: 'logical-unit-reset',
  [WireTmf.TargetWarmReset]: 'target-warm-reset',
  [WireTmf.TargetColdReset]: 'target-cold-reset',
};

const TMF_RESPONSE: Record<TaskManagementResult, TaskManagementResponseCode> = {
  'function-complete': TaskManagementResponseCode.FunctionComplete,
  'task-does-not-exist': TaskManagementResponseCode.TaskDoesNotExist,
  'lun-does-not-exist': TaskManagementResponseCode.LunDoesNotExist,
  'function-not-supported': TaskManagementResponseCode.FunctionNotSupported,
  'function-rejected': TaskManagementResponseCode.FunctionRejected,
};

export class ScsiFlow {
  // Not a Map: see src/util/u32-map.ts (a churning long-lived Map keeps dead tasks alive in V8).
  readonly #tasks = new U32Map<Task>();
  readonly #session: LoginOutcome['session'];

  constructor(
    readonly conn: IscsiConnection,
    readonly outcome: LoginOutcome,
    readonly maxXmit: () => number,
  ) {
    this.#session = outcome.session;
  }

  get activeTasks(): number {
    return this.#tasks.size;
  }

  onCommand(cmd: ScsiCommand, frame: ReceivedFrame): void {
    const conn = this.conn;
    const nexus = conn.nexus;
    if (!nexus) {
      // RFC 7143 §4.3: a discovery session carries only Text, NOP and Logout.
      conn.reject(frame, RejectReason.ProtocolError);
      return;
    }
    if (this.#tasks.has(cmd.itt)) {
      conn.reject(frame, RejectReason.TaskInProgress);
      return;
    }
    const s = this.#session;
    const immediateLength = cmd.data.length;
    if (immediateLength > 0) {
      // RFC 7143 §11.3.4 / §13.11-§13.14: immediate data only when negotiated, never past FirstBurstLength or EDTL.
      if (!s.ImmediateData || !cmd.write || immediateLength > s.FirstBurstLength || immediateLength > cmd.expectedDataTransferLength) {
        conn.reject(frame, RejectReason.ProtocolError);
        return;
      }
    }
    if (!cmd.final && (s.InitialR2T || !cmd.write)) {
      // F=0 announces unsolicited Data-Out, which InitialR2T=Yes forbids.
      conn.reject(frame, RejectReason.ProtocolError);
      return;
    }
    conn.stats.commands++;
    const edtl = cmd.expectedDataTransferLength;
    // Data-Out that all came as immediate data needs no collector (RFC 7143 §10.7.6: F=1, nothing follows).
    const immediateOnly = cmd.write && edtl > 0 && cmd.final && immediateLength === edtl;
    const collector =
      cmd.write && edtl > 0 && !immediateOnly
        ? new DataOutCollector(
            edtl,
            cmd.data,
            !cmd.final,
            s.FirstBurstLength,
            { maxBurstLength: s.MaxBurstLength, maxOutstandingR2T: s.MaxOutstandingR2T },
            () => conn.allocateTtt(),
            (r) => this.#sendR2t(cmd, r),
          )
        : undefined;
    const task = new Task(this, cmd, collector, immediateOnly, this.#initiatorDepth(cmd));
    this.#tasks.set(cmd.itt, task);
    const accepted = conn.orderedItem(task);
    if (!accepted) {
      // Out of window: forget it, its Data-Out will be ignored.
      this.#tasks.delete(cmd.itt);
      finishTask(task);
    }
  }

  /**
   * How many commands the initiator had outstanding on this connection when it
   * sent `cmd`, `cmd` included. Every older command arrived before it (one TCP
   * stream); each is either still here or answered, and an answer the
   * initiator had not yet received when it sent `cmd` is one whose StatSN it
   * had not acknowledged: ExpStatSN (RFC 7143 §4.2.2.2, §11.3) is one past the
   * last status it saw. Counting only tasks in the target would call a QD32
   * stream "alone" whenever the target keeps up, which is exactly when each
   * response should join the turn's batched write instead of paying for its
   * own sendfile.
   */
  #initiatorDepth(cmd: ScsiCommand): number {
    const unseen = (this.conn.statSn - cmd.expStatSn) >>> 0;
    // An ExpStatSN ahead of StatSN is an initiator bug; count it as "not alone".
    return 1 + this.#tasks.size + Math.min(unseen, 0xffff);
  }

  /** Run a task in CmdSN order (Task.run). */
  execute(task: Task): void {
    const collector = task.collector;
    const nexus = this.conn.nexus;
    if (!nexus || this.conn.closed) return this.#end(task);
    const handle = nexus.execute(task);
    handle.outcome.then(
      (outcome) => {
        if (outcome === ABORTED) {
          collector?.fail(new Error('task aborted'));
          this.#end(task);
          return;
        }
        this.#respond(task, outcome);
      },
      (err: unknown) => {
        this.conn.log.error({ conn: this.conn.id, itt: task.tag, err: String(err) }, 'SCSI task failed unexpectedly');
        this.conn.fail('internal SCSI error');
        this.#end(task);
      },
    );
  }

  #end(task: Task): void {
    if (this.#tasks.get(task.cmd.itt) === task) this.#tasks.delete(task.cmd.itt);
    this.conn.completeOrdered(task.cmd.immediate);
    finishTask(task);
  }

  #respond(task: Task, result: ScsiResult): void {
    const conn = this.conn;
    if (conn.closed) return this.#end(task);
    const cmd = task.cmd;
    const edtl = cmd.expectedDataTransferLength;
    const data = result.data ?? EMPTY;
    const extent = result.extent;
    const produced = extent === undefined ? data.length : extent.length;
    const transferLength = result.transferLength ?? produced;
    // Residuals (RFC 7143 §11.4.5): compare what the command called for with EDTL.
    let overflow = false;
    let underflow = false;
    let residual = 0;
    if (transferLength > edtl) {
      overflow = true;
      residual = transferLength - edtl;
    } else if (transferLength < edtl) {
      underflow = true;
      residual = edtl - transferLength;
    }
    const readable = cmd.read ? Math.min(produced, edtl) : 0;
    const collapse = result.status === ScsiStatus.Good && !result.sense && readable > 0;
    if (readable > 0) {
      const status = collapse ? { status: result.status, overflow, underflow, residual } : undefined;
      if (extent !== undefined) {
        this.#sendDataIn(cmd, readable, status, extent);
      } else {
        // The wire ignores buffers it did not allocate; one it did comes back once sent.
        const wire = conn.wire;
        const recycle = wire.release ? () => wire.release?.([data]) : undefined;
        this.#sendDataIn(cmd, readable, status, readable === data.length ? data : data.subarray(0, readable), recycle);
      }
    }
    if (!collapse) {
      conn.send(
        encodeScsiResponse({
          opcode: Opcode.ScsiResponse,
          bidiOverflow: false,
          bidiUnderflow: false,
          overflow,
          underflow,
          response: 0,
          status: result.status,
          itt: cmd.itt,
          snackTag: 0,
          statSn: conn.takeStatSn(),
          expCmdSn: conn.expCmdSn,
          maxCmdSn: this.#maxCmdSnAfter(cmd),
          expDataSn: 0,
          bidiReadResidualCount: 0,
          residualCount: residual,
          sense: result.sense ?? EMPTY,
        }),
      );
    }
    this.#end(task);
  }

  // MaxCmdSN grows when the response leaves; show the grown value in that very response.
  #maxCmdSnAfter(cmd: ScsiCommand): number {
    return cmd.immediate ? this.conn.maxCmdSn : (this.conn.maxCmdSn + 1) >>> 0;
  }

  /**
   * Data-In PDUs of at most the initiator's MaxRecvDataSegmentLength, in
   * sequences of at most MaxBurstLength (RFC 7143 §11.7.7, §13.13); DataSN runs
   * across the whole command. A buffer payload is sliced, never copied; a
   * file extent goes out in the same PDUs, each with its slice of the file.
   */
  #sendDataIn(
    cmd: ScsiCommand,
    length: number,
    status: { status: number; overflow: boolean; underflow: boolean; residual: number } | undefined,
    payload: Buffer | FileExtent,
    onSent?: () => void,
  ): void {
    const conn = this.conn;
    const maxSeg = Math.max(512, this.maxXmit());
    const maxBurst = this.#session.MaxBurstLength;
    let offset = 0;
    let dataSn = 0;
    let burstLeft = maxBurst;
    const buffer = Buffer.isBuffer(payload) ? payload : undefined;
    while (offset < length) {
      const len = Math.min(maxSeg, length - offset, burstLeft);
      const end = offset + len;
      const last = end === length;
      burstLeft -= len;
      const final = last || burstLeft === 0;
      if (burstLeft === 0) burstLeft = maxBurst;
      const withStatus = last && status !== undefined;
      const frame = encodeDataIn({
          opcode: Opcode.DataIn,
          final,
          acknowledge: false,
          overflow: withStatus ? status.overflow : false,
          underflow: withStatus ? status.underflow : false,
          statusPresent: withStatus,
          status: withStatus ? status.status : 0,
          lun: withStatus ? NO_LUN : cmd.lun,
          itt: cmd.itt,
          ttt: RESERVED_TAG,
          statSn: withStatus ? conn.takeStatSn() : 0,
          expCmdSn: conn.expCmdSn,
          maxCmdSn: withStatus ? this.#maxCmdSnAfter(cmd) : conn.maxCmdSn,
          dataSn: dataSn++,
          bufferOffset: offset,
          residualCount: withStatus ? status.residual : 0,
          data: buffer === undefined ? EMPTY : offset === 0 && last ? buffer : buffer.subarray(offset, end),
        });
      if (buffer !== undefined) conn.send(frame, last ? onSent : undefined);
      else {
        const file = payload as FileExtent;
        conn.sendFile(frame, { fd: file.fd, position: file.position + offset, length: len });
      }
      offset = end;
    }
  }

  #sendR2t(cmd: ScsiCommand, r: { ttt: number; r2tSn: number; bufferOffset: number; desiredLength: number }): void {
    const conn = this.conn;
    conn.send(
      encodeReadyToTransfer({
        opcode: Opcode.ReadyToTransfer,
        lun: cmd.lun,
        itt: cmd.itt,
        ttt: r.ttt,
        statSn: conn.statSn,
        expCmdSn: conn.expCmdSn,
        maxCmdSn: conn.maxCmdSn,
        r2tSn: r.r2tSn,
        bufferOffset: r.bufferOffset,
        desiredLength: r.desiredLength,
      }),
    );
  }

  onDataOut(pdu: DataOut): void {
    const task = this.#tasks.get(pdu.itt);
    if (task?.immediateOnly) {
      // What the collector says when no burst is open: immediate data was the whole transfer.
      this.conn.fail(`Data-Out with TTT 0x${pdu.ttt.toString(16)} matches no open burst`);
      return;
    }
    if (!task || !task.collector) {
      // Data for a task that already completed (e.g. status sent before unsolicited data ended) or never existed: discard.
      this.conn.log.debug({ conn: this.conn.id, itt: pdu.itt }, 'Data-Out for unknown task discarded');
      return;
    }
    const verdict = task.collector.accept(pdu.ttt, pdu.dataSn, pdu.bufferOffset, pdu.data, pdu.final);
    if (verdict.kind === 'fatal') this.conn.fail(verdict.reason);
  }

  onTaskManagement(pdu: TaskManagementRequest): void {
    const conn = this.conn;
    const nexus = conn.nexus;
    const respond = (code: TaskManagementResponseCode) => {
      if (conn.closed) return;
      conn.send(
        encodeTaskManagementResponse({
          opcode: Opcode.TaskManagementResponse,
          response: code,
          itt: pdu.itt,
          statSn: conn.takeStatSn(),
          expCmdSn: conn.expCmdSn,
          maxCmdSn: pdu.immediate ? conn.maxCmdSn : (conn.maxCmdSn + 1) >>> 0,
        }),
      );
      conn.completeOrdered(pdu.immediate);
    };
    if (!nexus) return respond(TaskManagementResponseCode.FunctionRejected);
    if (pdu.function === WireTmf.TaskReassign) {
      // Task reassignment needs ERL 2 (RFC 7143 §11.5.1).
      return respond(TaskManagementResponseCode.TaskAllegianceReassignmentNotSupported);
    }
    const fn = TMF[pdu.function];
    if (!fn) return respond(TaskManagementResponseCode.FunctionRejected);
    nexus
      .taskManagement({
        function: fn,
        lun: pdu.lun,
        referencedTag: fn === 'abort-task' ? pdu.referencedTaskTag : undefined,
      })
      .then(
        (result) => {
          respond(TMF_RESPONSE[result]);
          if (fn === 'target-cold-reset' && result === 'function-complete') {
            // RFC 7143 §11.5.1: after a cold reset the target drops all connections.
            conn.hooks.coldReset?.(conn);
          }
        },
        (err: unknown) => {
          conn.log.error({ conn: conn.id, err: String(err) }, 'task management failed');
          respond(TaskManagementResponseCode.FunctionRejected);
        },
      );
  }

  /** A task has waited longer than `limitMs` for Data-Out it solicited (LIO's dataout_timeout). */
  stalledTransfer(now: number, limitMs: number): number | undefined {
    for (const t of this.#tasks.valuesSnapshot()) {
      const c = t.collector;
      if (c && c.waiting && now - c.lastActivity > limitMs) return t.cmd.itt;
    }
    return undefined;
  }

  /** Wait for every task to finish (logout). */
  async drain(): Promise<void> {
    const pending = this.#tasks.valuesSnapshot();
    // A write still waiting for Data-Out would never finish: the initiator stopped sending when it logged out.
    for (const t of pending) if (t.collector?.transferring) t.collector.fail(new Error('logout'));
    await Promise.all(pending.map(taskDone));
  }

  /** Connection gone: fail every pending transfer; SCSI aborts the tasks via nexus.close(). */
  shutdown(): void {
    for (const t of this.#tasks.valuesSnapshot()) {
      t.collector?.fail(new Error('connection closed'));
      finishTask(t);
    }
    this.#tasks.clear();
  }
}
