// Task management functions (SAM-5 §7, RFC 7143 §11.5.1).

import type { Nexus, LunView, TaskManagementRequest, TaskManagementResult } from './api.js';
import { resetUnitState, unitState, type LogicalUnitState } from './logical-unit.js';
import { decodeLun } from './lun-address.js';
import type { TargetScope } from './nexus.js';
import { SenseReason } from './sense.js';
import { TaskSet, type TaskEntry } from './task-set.js';
import { establish, establishFor } from './unit-attention.js';

export interface TmfEnv {
  readonly nexus: Nexus;
  readonly view: LunView;
  readonly scope: TargetScope;
}

/**
 * Hard reset of one LU (SAM-5 §6.3.3): abort every task, reset SPC-2
 * reservation / PREVENT / mode state, and raise `reason` for every I_T nexus
 * except `issuerNexusId` when given (target resets spare the issuer, which
 * learns of the reset from the TMF response). Persistent reservations and
 * registrations survive (SPC-4 §5.9.1: only a power loss without APTPL, or a
 * PERSISTENT RESERVE OUT, removes them).
 */
export async function resetLogicalUnit(unit: LogicalUnitState, reason: SenseReason, issuerNexusId?: string): Promise<void> {
  const victims = unit.tasks.select(() => true);
  resetUnitState(unit);
  establish(unit.ua, reason, (id) => id !== issuerNexusId);
  await TaskSet.abortAll(victims);
}

function uniqueUnits(scope: TargetScope, view: LunView): LogicalUnitState[] {
  const units = new Set<LogicalUnitState>();
  for (const u of scope.units()) units.add(unitState(u));
  for (const m of view.list()) units.add(unitState(m.unit));
  return [...units];
}

export async function taskManagement(env: TmfEnv, req: TaskManagementRequest): Promise<TaskManagementResult> {
  const id = env.nexus.id;
  switch (req.function) {
    case 'target-warm-reset':
    case 'target-cold-reset': {
      // SAM-5 §6.3: warm reset → SCSI BUS RESET OCCURRED (29/02); cold reset is a power cycle (29/01).
      const reason = req.function === 'target-warm-reset' ? SenseReason.ScsiBusResetOccurred : SenseReason.PowerOnOccurred;
      await Promise.all(uniqueUnits(env.scope, env.view).map((u) => resetLogicalUnit(u, reason, id)));
      return 'function-complete';
    }
    case 'clear-aca':
      return 'function-not-supported'; // NACA is not supported (standard INQUIRY NORMACA=0)
    default:
      break;
  }
  const lun = decodeLun(req.lun);
  const mapping = lun === undefined ? undefined : env.view.get(lun);
  if (mapping === undefined) return 'lun-does-not-exist';
  const unit = unitState(mapping.unit);
  switch (req.function) {
    case 'abort-task': {
      const entry = req.referencedTag === undefined ? undefined : unit.tasks.find(id, req.referencedTag);
      // Unknown tag: the task already completed (or never reached us). The iSCSI
      // layer turns this into Function complete when RFC 7143 §11.5.1's RefCmdSN
      // rule applies; libiscsi's test_async_abort_simple expects TASK DOES NOT
      // EXIST for a task that already completed.
      if (entry === undefined) return 'task-does-not-exist';
      await TaskSet.abortAll([entry]);
      return 'function-complete';
    }
    case 'abort-task-set':
      await TaskSet.abortAll(unit.tasks.select((e) => e.nexusId === id));
      return 'function-complete';
    case 'clear-task-set': {
      const victims: TaskEntry[] = unit.tasks.select(() => true);
      // SAM-5 §7.4: COMMANDS CLEARED BY ANOTHER INITIATOR for the other nexuses that lost tasks.
      for (const other of new Set(victims.map((e) => e.nexusId))) {
        if (other !== id) establishFor(unit.ua, other, SenseReason.CommandsClearedByAnotherInitiator);
      }
      await TaskSet.abortAll(victims);
      return 'function-complete';
    }
    case 'logical-unit-reset':
      // SAM-5 §7.7: the LU reset's unit attention goes to every I_T nexus, the
      // issuer's included (what LIO does, and what libiscsi's MultipathIO.Reset
      // checks on each path).
      await resetLogicalUnit(unit, SenseReason.BusDeviceResetOccurred);
      return 'function-complete';
    default:
      return 'function-not-supported';
  }
}
