// TEST UNIT READY (SPC-4 §6.47): the LU is always ready (non-removable, never stopped).

import { defineCommand } from '../command.js';
import { good } from '../cdb.js';

export const testUnitReadyCommand = defineCommand<null>({
  name: 'TEST UNIT READY',
  opcode: 0x00,
  cdbLength: 6,
  usage: [0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: false,
  parse: () => null,
  execute: async () => good(),
});
