// The third-party copy commands of one command table, sharing one copy manager.
//
// Held copy results belong to an I_T nexus (SPC-4 RECEIVE COPY RESULTS), and
// every nexus gets its own command table (nexus.ts openNexus), so the held
// results live with the table and end with the nexus. Records are also keyed
// by nexus id, so a table shared between nexuses (tests) keeps them apart.

import type { AnyCommandSpec } from '../command.js';
import { extendedCopyCommand } from '../spc/extended-copy.js';
import { receiveCopyResultsCommands } from '../spc/receive-copy-results.js';
import { createCopyManager } from './copy-manager.js';
import { COPY_LIMITS, type CopyLimits } from './limits.js';

export function thirdPartyCopyCommands(limits: CopyLimits = COPY_LIMITS): AnyCommandSpec[] {
  const manager = createCopyManager();
  return [extendedCopyCommand(manager, limits), ...receiveCopyResultsCommands(manager, limits)];
}
