// The command table: every supported opcode (and service action) → its spec.

import type { AnyCommandSpec, CommandTable } from './command.js';
import { inquiryCommand } from './spc/inquiry.js';
import { modeSelectCommands } from './spc/mode-select.js';
import { modeSenseCommands } from './spc/mode-sense.js';
import { reportSupportedOpcodesCommand } from './spc/report-supported-opcodes.js';
import { reportTargetPortGroupsCommand } from './spc/report-target-port-groups.js';
import { setTargetPortGroupsCommand } from './spc/set-target-port-groups.js';
import { reserveReleaseCommands } from './spc/reserve-release.js';
import { persistentReserveInCommands } from './spc/persistent-reserve-in.js';
import { persistentReserveOutCommands } from './spc/persistent-reserve-out.js';
import { preventAllowCommand } from './sbc/prevent-allow.js';
import { startStopUnitCommand } from './sbc/start-stop-unit.js';
import { sanitizeCommands } from './sbc/sanitize.js';
import { reportLunsCommand } from './spc/report-luns.js';
import { requestSenseCommand } from './spc/request-sense.js';
import { testUnitReadyCommand } from './spc/test-unit-ready.js';
import { readCapacity10Command, readCapacity16Command } from './sbc/read-capacity.js';
import { readWriteCommands } from './sbc/read-write.js';
import { synchronizeCacheCommands } from './sbc/synchronize-cache.js';
import { verifyCommands } from './sbc/verify.js';
import { compareAndWriteCommand } from './sbc/compare-and-write.js';
import { orwriteCommand } from './sbc/orwrite.js';
import { prefetchCommands } from './sbc/prefetch.js';
import { readDefectDataCommands } from './sbc/read-defect-data.js';
import { reportSupportedTmfCommand } from './spc/report-supported-tmf.js';
import { thirdPartyCopyCommands } from './xcopy/commands.js';
import { writeAtomic16Command } from './sbc/write-atomic.js';
import { writeSameCommands } from './sbc/write-same.js';
import { unmapCommand } from './sbc/unmap.js';
import { getLbaStatusCommand } from './sbc/get-lba-status.js';

export function buildCommandTable(specs: readonly AnyCommandSpec[]): CommandTable {
  const byOpcode = new Map<number, AnyCommandSpec | Map<number, AnyCommandSpec>>();
  for (const spec of specs) {
    const existing = byOpcode.get(spec.opcode);
    if (spec.serviceAction === undefined) {
      if (existing !== undefined) throw new Error(`duplicate opcode ${spec.opcode.toString(16)}`);
      byOpcode.set(spec.opcode, spec);
      continue;
    }
    let actions = existing;
    if (actions === undefined) {
      actions = new Map<number, AnyCommandSpec>();
      byOpcode.set(spec.opcode, actions);
    }
    if (!(actions instanceof Map) || actions.has(spec.serviceAction)) throw new Error(`duplicate opcode ${spec.opcode.toString(16)}/${spec.serviceAction}`);
    actions.set(spec.serviceAction, spec);
  }
  const all = [...specs].sort((a, b) => a.opcode - b.opcode || (a.serviceAction ?? 0) - (b.serviceAction ?? 0));
  return { byOpcode, all };
}

export function allCommands(): readonly AnyCommandSpec[] {
  return [
    testUnitReadyCommand,
    requestSenseCommand,
    inquiryCommand,
    ...modeSenseCommands,
    ...modeSelectCommands,
    reportLunsCommand,
    reportSupportedOpcodesCommand,
    reportTargetPortGroupsCommand,
    setTargetPortGroupsCommand,
    ...reserveReleaseCommands,
    ...persistentReserveInCommands,
    ...persistentReserveOutCommands,
    startStopUnitCommand,
    ...sanitizeCommands,
    preventAllowCommand,
    readCapacity10Command,
    readCapacity16Command,
    ...readWriteCommands,
    ...verifyCommands,
    ...synchronizeCacheCommands,
    ...writeSameCommands,
    unmapCommand,
    getLbaStatusCommand,
    ...prefetchCommands,
    orwriteCommand,
    compareAndWriteCommand,
    writeAtomic16Command,
    ...readDefectDataCommands,
    reportSupportedTmfCommand,
    // Fresh per table: the copy manager's held results belong to the nexus using the table.
    ...thirdPartyCopyCommands(),
  ];
}

export function defaultCommandTable(): CommandTable {
  return buildCommandTable(allCommands());
}

function isActionMap(e: AnyCommandSpec | ReadonlyMap<number, AnyCommandSpec>): e is ReadonlyMap<number, AnyCommandSpec> {
  return e instanceof Map;
}

export type LookupResult =
  | { readonly kind: 'found'; readonly spec: AnyCommandSpec }
  | { readonly kind: 'unknown-opcode' }
  | { readonly kind: 'unknown-service-action' };

/** Service actions live in byte 1 bits 4..0 for every multiplexed opcode we implement. */
export function lookupCommand(table: CommandTable, cdb: Buffer): LookupResult {
  if (cdb.length === 0) return { kind: 'unknown-opcode' };
  const entry = table.byOpcode.get(cdb[0]);
  if (entry === undefined) return { kind: 'unknown-opcode' };
  if (!isActionMap(entry)) return { kind: 'found', spec: entry };
  const spec = cdb.length > 1 ? entry.get(cdb[1] & 0x1f) : undefined;
  return spec === undefined ? { kind: 'unknown-service-action' } : { kind: 'found', spec };
}
