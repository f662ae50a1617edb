// PREVENT ALLOW MEDIUM REMOVAL (SBC-3 §5.13): tracked per I_T nexus, so the
// medium stays prevented until every nexus that prevented it allows removal
// again, or loses its nexus, or an LU/target reset clears them all. Only
// START STOP UNIT consults it (LOEJ=1 is refused while any nexus prevents).

import { ScsiStatus } from '../api.js';
import { defineCommand, type AnyCommandSpec } from '../command.js';
import { invalidCdbField } from '../sense.js';

interface PreventParams {
  readonly prevent: boolean;
}

export const preventAllowCommand: AnyCommandSpec = defineCommand<PreventParams>({
  name: 'PREVENT ALLOW MEDIUM REMOVAL',
  opcode: 0x1e,
  cdbLength: 6,
  usage: [0x1e, 0x00, 0x00, 0x00, 0x03, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: false,
  parse: (cdb) => ((cdb[4] & 0x03) > 1 ? invalidCdbField(4, 1) : { prevent: (cdb[4] & 0x03) === 1 }),
  async execute(p, ctx) {
    if (p.prevent) ctx.unit.preventers.add(ctx.nexus.id);
    else ctx.unit.preventers.delete(ctx.nexus.id);
    return { status: ScsiStatus.Good };
  },
});
