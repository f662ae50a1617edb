// An I_T nexus' entry point into the SCSI target device, and the
// notifications that raise unit attentions for live reconfiguration.

import type { LogicalUnit, LunView, Nexus, ScsiNexusHandle, ScsiCommandRequest, ScsiTaskHandle, TaskManagementRequest } from './api.js';
import type { CommandTable } from './command.js';
import { defaultCommandTable } from './command-table.js';
import { dispatchCommand, type DispatchEnv } from './dispatch.js';
import { attachNexus, detachNexus, unitState } from './logical-unit.js';
import { SenseReason } from './sense.js';
import type { TargetPortGroupInfo } from './spc/report-target-port-groups.js';
import { taskManagement } from './task-management.js';
import { TaskSet } from './task-set.js';
import { establish, establishFor, isRegistered } from './unit-attention.js';

/** Every LU of the SCSI target device (for TARGET WARM/COLD RESET). */
export interface TargetScope {
  units(): readonly LogicalUnit[];
  /**
   * Target port groups through which `unit` is reachable (REPORT TARGET PORT
   * GROUPS). Optional: without it only the asking nexus' own group and port are reported.
   */
  targetPortGroups?(unit: LogicalUnit): readonly TargetPortGroupInfo[];
}

export interface OpenNexusOptions {
  /** Command table to use (tests / feature subsets); defaults to every supported command. */
  readonly table?: CommandTable;
}

/**
 * Open an I_T nexus. The nexus is registered with the LUs it can see now
 * (so unit attentions established from now on reach it); LUs that appear in
 * its view later register it on first access.
 */
export function openNexus(nexus: Nexus, view: LunView, scope: TargetScope, options?: OpenNexusOptions): ScsiNexusHandle {
  const env: DispatchEnv = { nexus, view, scope, table: options?.table ?? defaultCommandTable() };
  for (const m of view.list()) attachNexus(unitState(m.unit), nexus);
  let closed = false;
  return {
    execute(request: ScsiCommandRequest): ScsiTaskHandle {
      return { outcome: dispatchCommand(env, request) };
    },
    taskManagement(request: TaskManagementRequest) {
      return taskManagement(env, request).catch(() => 'function-rejected' as const);
    },
    close(): void {
      if (closed) return;
      closed = true;
      closeNexus(nexus, view, scope);
    },
  };
}

/**
 * I_T nexus loss (SAM-5 §6.3.4): abort the nexus' tasks, drop its SPC-2
 * reservation and PREVENT state, forget its unit attentions. Persistent
 * reservations stay (SPC-4 §5.9.1). The initiator port's next nexus gets
 * I_T NEXUS LOSS OCCURRED (unit-attention.ts).
 */
function closeNexus(nexus: Nexus, view: LunView, scope: TargetScope): void {
  const units = new Set([...scope.units(), ...view.list().map((m) => m.unit)].map(unitState));
  for (const unit of units) {
    void TaskSet.abortAll(unit.tasks.select((e) => e.nexusId === nexus.id));
    if (unit.reservation === nexus.id) unit.reservation = undefined;
    unit.preventers.delete(nexus.id);
    detachNexus(unit, nexus.id);
  }
}

/** REPORTED LUNS DATA HAS CHANGED (3F/0E) on `unit` for the given nexuses (default: all that know the LU). */
export function lunInventoryChanged(unit: LogicalUnit, nexusIds?: readonly string[]): void {
  const state = unitState(unit);
  if (nexusIds === undefined) {
    establish(state.ua, SenseReason.ReportedLunsDataChanged);
    return;
  }
  for (const id of nexusIds) if (isRegistered(state.ua, id)) establishFor(state.ua, id, SenseReason.ReportedLunsDataChanged);
}

/** CAPACITY DATA HAS CHANGED (2A/09) for every nexus that knows the LU (SBC-3 §4.10). */
export function capacityChanged(unit: LogicalUnit): void {
  establish(unitState(unit).ua, SenseReason.CapacityDataChanged);
}
