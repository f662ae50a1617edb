// VPD pages 80h (Unit Serial Number) and 83h (Device Identification), SPC-4 §7.8.17 / §7.8.6.

import type { Nexus } from '../api.js';
import type { LogicalUnitState } from '../logical-unit.js';
import { asciiField } from '../cdb.js';
import { targetPortGroupIdFor } from '../alua.js';

/** SPC-4 table 483: protocol identifier for iSCSI. */
const PROTOCOL_ISCSI = 0x5;

enum CodeSet {
  Binary = 1,
  Ascii = 2,
  Utf8 = 3,
}

enum Association {
  LogicalUnit = 0,
  TargetPort = 1,
  TargetDevice = 2,
}

enum DesignatorType {
  T10VendorId = 0x1,
  Naa = 0x3,
  RelativeTargetPort = 0x4,
  TargetPortGroup = 0x5,
  ScsiNameString = 0x8,
}

function designator(codeSet: CodeSet, association: Association, type: DesignatorType, value: Buffer, protocol = false): Buffer {
  const d = Buffer.alloc(4 + value.length);
  // PIV=1 (protocol identifier valid) only for target port / device associations.
  d[0] = (protocol ? PROTOCOL_ISCSI << 4 : 0) | codeSet;
  d[1] = (protocol ? 0x80 : 0) | (association << 4) | type;
  d[3] = value.length;
  value.copy(d, 4);
  return d;
}

/** SCSI name string: UTF-8, NUL terminated, padded to a multiple of 4 (SPC-4 §7.8.6.11). */
function scsiNameString(name: string): Buffer {
  const raw = Buffer.from(name, 'utf8');
  const len = Math.min(252, (raw.length + 4) & ~3);
  const b = Buffer.alloc(len);
  raw.copy(b, 0, 0, Math.min(raw.length, len - 1));
  return b;
}

function u16Designator(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(value & 0xffff, 2);
  return b;
}

export function vpdUnitSerialNumber(unit: LogicalUnitState): Buffer {
  const serial = Buffer.from(unit.serial, 'ascii');
  const b = Buffer.alloc(4 + serial.length);
  b[1] = 0x80;
  b.writeUInt16BE(serial.length, 2);
  serial.copy(b, 4);
  return b;
}

export function vpdDeviceIdentification(unit: LogicalUnitState, nexus: Nexus): Buffer {
  const descriptors = [
    designator(CodeSet.Binary, Association.LogicalUnit, DesignatorType.Naa, unit.naa),
    designator(
      CodeSet.Ascii,
      Association.LogicalUnit,
      DesignatorType.T10VendorId,
      Buffer.concat([asciiField(unit.options.vendor, 8), Buffer.from(unit.serial, 'ascii')]),
    ),
    designator(CodeSet.Binary, Association.TargetPort, DesignatorType.RelativeTargetPort, u16Designator(nexus.relativeTargetPortId), true),
    designator(CodeSet.Binary, Association.TargetPort, DesignatorType.TargetPortGroup, u16Designator(targetPortGroupIdFor(unit, nexus)), true),
    designator(CodeSet.Utf8, Association.TargetPort, DesignatorType.ScsiNameString, scsiNameString(nexus.targetPortName), true),
    designator(CodeSet.Utf8, Association.TargetDevice, DesignatorType.ScsiNameString, scsiNameString(nexus.targetName), true),
  ];
  const body = Buffer.concat(descriptors);
  const b = Buffer.alloc(4 + body.length);
  b[1] = 0x83;
  b.writeUInt16BE(body.length, 2);
  body.copy(b, 4);
  return b;
}
