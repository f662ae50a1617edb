// READ CAPACITY (10) (SBC-3 §5.15) and READ CAPACITY (16) as SERVICE ACTION IN(16) / 10h (§5.16).

import { defineCommand, type AnyCommandSpec } from '../command.js';
import { dataIn, writeU64 } from '../cdb.js';
import { invalidCdbField, type SenseFailure } from '../sense.js';
import { unitProvisioning } from './provisioning.js';

export const SERVICE_ACTION_IN_16 = 0x9e;
export const SA_READ_CAPACITY_16 = 0x10;

interface Rc10Params {
  readonly pmi: boolean;
}

interface Rc16Params {
  readonly allocationLength: number;
}

function parseRc10(cdb: Buffer): Rc10Params | SenseFailure {
  const pmi = (cdb[8] & 0x01) !== 0;
  // SBC-3: LOGICAL BLOCK ADDRESS must be 0 when PMI is 0.
  if (!pmi && cdb.readUInt32BE(2) !== 0) return invalidCdbField(2, 7);
  return { pmi };
}

/** LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT of a power-of-two block count (4 bits). */
export function lbppbExponent(blocksPerPhysicalBlock: number): number {
  return Math.min(15, Math.max(0, Math.round(Math.log2(blocksPerPhysicalBlock))));
}

export const readCapacity10Command: AnyCommandSpec = defineCommand<Rc10Params>({
  name: 'READ CAPACITY(10)',
  opcode: 0x25,
  cdbLength: 10,
  usage: [0x25, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: false,
  parse: parseRc10,
  async execute(_p, ctx) {
    const d = ctx.unit.device;
    const b = Buffer.alloc(8);
    // A capacity beyond 32 bits reports FFFFFFFFh: the initiator must use READ CAPACITY (16).
    const last = d.blockCount - 1;
    b.writeUInt32BE(last > 0xfffffffe ? 0xffffffff : Math.max(0, last), 0);
    b.writeUInt32BE(d.blockSize, 4);
    return dataIn(b, 8);
  },
});

export const readCapacity16Command: AnyCommandSpec = defineCommand<Rc16Params>({
  name: 'READ CAPACITY(16)',
  opcode: SERVICE_ACTION_IN_16,
  serviceAction: SA_READ_CAPACITY_16,
  cdbLength: 16,
  usage: [SERVICE_ACTION_IN_16, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00],
  modifiesMedium: false,
  allowedUnderReservation: false,
  parse: (cdb) => ({ allocationLength: cdb.readUInt32BE(10) }),
  async execute(p, ctx) {
    const d = ctx.unit.device;
    const b = Buffer.alloc(32);
    writeU64(b, 0, Math.max(0, d.blockCount - 1));
    b.writeUInt32BE(d.blockSize, 8);
    // byte 12 P_TYPE/PROT_EN 0; byte 13 P_I_EXPONENT 0 and LOGICAL BLOCKS
    // PER PHYSICAL BLOCK EXPONENT (storage attribute physical_block_size);
    // bytes 14-15 LBPME, LBPRZ (SBC-3 §5.16) and LOWEST ALIGNED LOGICAL BLOCK
    // ADDRESS 0: LBA 0 starts a physical block. Any block can still be
    // unmapped on its own (a partial physical block is zeroed); the unit that
    // frees space is VPD B0h OPTIMAL UNMAP GRANULARITY, a whole number of
    // physical blocks.
    b[13] = lbppbExponent(ctx.unit.blocksPerPhysicalBlock);
    const prov = unitProvisioning(ctx.unit);
    b[14] = (prov.thin ? 0x80 : 0) | (prov.readsZeroes ? 0x40 : 0);
    return dataIn(b, p.allocationLength);
  },
});
