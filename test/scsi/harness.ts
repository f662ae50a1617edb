// Test harness: LUs, views, nexuses and command requests without a transport.

import { ABORTED, type LogicalUnit, type LunMapping, type LunView, type Nexus, type ScsiCommandRequest, type ScsiNexusHandle, type ScsiResult, type TaskAttribute, type TaskOutcome } from '../../src/scsi/api.js';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus, type TargetScope } from '../../src/scsi/nexus.js';
import { encodeLun } from '../../src/scsi/lun-address.js';
import { parseSense, type ParsedSense } from '../../src/scsi/sense.js';
import { memoryDevice, type MemoryDevice, type MemoryDeviceOptions } from './memory-device.js';

export const WWN = '6a1c3b2e-9f41-4d3c-8e5a-0b9d7c6e5f41';

export function makeUnit(dev: MemoryDevice = memoryDevice(), extra: { readOnly?: boolean; name?: string; wwn?: string } = {}) {
  return createLogicalUnit({
    device: dev,
    name: extra.name ?? 'disk0',
    wwn: extra.wwn ?? WWN,
    vendor: 'TSGT',
    product: 'memdisk',
    revision: '0.1',
    readOnly: extra.readOnly,
  });
}

export function makeView(mappings: LunMapping[]): LunView & { mappings: LunMapping[] } {
  return {
    mappings,
    list: () => mappings,
    get: (lun: number) => mappings.find((m) => m.lun === lun),
  };
}

export function makeNexus(id: string, port = `iqn.2024-01.test:${id},i,0x1`): Nexus {
  return {
    id,
    initiatorName: port.split(',')[0],
    initiatorPortName: port,
    targetName: 'iqn.2024-01.test:target',
    targetPortName: 'iqn.2024-01.test:target,t,0x0001',
    relativeTargetPortId: 1,
    targetPortGroupId: 1,
  };
}

export interface Fixture {
  dev: MemoryDevice;
  unit: LogicalUnit;
  view: ReturnType<typeof makeView>;
  scope: TargetScope;
  open(id: string, port?: string): ScsiNexusHandle;
}

export function fixture(opts: MemoryDeviceOptions & { writeProtect?: boolean; readOnly?: boolean } = {}): Fixture {
  const dev = memoryDevice(opts);
  const unit = makeUnit(dev, { readOnly: opts.readOnly });
  const view = makeView([{ lun: 0, unit, writeProtect: opts.writeProtect ?? false }]);
  const scope: TargetScope = { units: () => [unit] };
  return { dev, unit, view, scope, open: (id, port) => openNexus(makeNexus(id, port), view, scope) };
}

export interface RequestOptions {
  lun?: number;
  edtl?: number;
  direction?: ScsiCommandRequest['direction'];
  data?: Buffer;
  tag?: number;
  attribute?: TaskAttribute;
  /** Replace the receiveData implementation. */
  receiveData?: ScsiCommandRequest['receiveData'];
}

export function request(cdb: Buffer | number[], o: RequestOptions = {}): ScsiCommandRequest & { received: number[] } {
  const c = Buffer.isBuffer(cdb) ? cdb : Buffer.from(cdb);
  const padded = Buffer.alloc(Math.max(16, c.length));
  c.copy(padded);
  const received: number[] = [];
  const data = o.data ?? Buffer.alloc(0);
  return {
    lun: encodeLun(o.lun ?? 0),
    cdb: padded,
    tag: o.tag ?? Math.floor(Math.random() * 0x7fffffff),
    attribute: o.attribute ?? 'simple',
    expectedDataLength: o.edtl ?? data.length,
    direction: o.direction ?? (data.length > 0 ? 'write' : 'read'),
    received,
    receiveData:
      o.receiveData ??
      (async (length: number) => {
        received.push(length);
        return [data.subarray(0, length)];
      }),
  };
}

export async function run(nexus: ScsiNexusHandle, cdb: Buffer | number[], o: RequestOptions = {}): Promise<ScsiResult> {
  const out = await nexus.execute(request(cdb, o)).outcome;
  if (out === ABORTED) throw new Error('unexpectedly aborted');
  return out;
}

export async function outcome(nexus: ScsiNexusHandle, cdb: Buffer | number[], o: RequestOptions = {}): Promise<TaskOutcome> {
  return nexus.execute(request(cdb, o)).outcome;
}

export function sense(r: ScsiResult): ParsedSense {
  if (r.sense === undefined) throw new Error(`no sense (status ${r.status})`);
  const s = parseSense(r.sense);
  if (s === undefined) throw new Error('unparseable sense');
  return s;
}

/** Send TEST UNIT READY until it returns GOOD (clears unit attentions), like libiscsi does at connect. */
export async function clearUnitAttentions(nexus: ScsiNexusHandle, lun = 0): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const r = await run(nexus, [0x00, 0, 0, 0, 0, 0], { lun, edtl: 0 });
    if (r.status === 0) return i;
  }
  throw new Error('unit attentions never cleared');
}

export function cdb10(opcode: number, lba: number, blocks: number, flags = 0): number[] {
  return [opcode, flags, (lba >>> 24) & 0xff, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, (blocks >> 8) & 0xff, blocks & 0xff, 0];
}

export function cdb16(opcode: number, lba: bigint, blocks: number, flags = 0): Buffer {
  const b = Buffer.alloc(16);
  b[0] = opcode;
  b[1] = flags;
  b.writeBigUInt64BE(lba, 2);
  b.writeUInt32BE(blocks, 10);
  return b;
}
