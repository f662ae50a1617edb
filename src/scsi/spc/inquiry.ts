// INQUIRY (SPC-4 §6.6): standard data and the VPD pages (§7.8).

import type { Nexus } from '../api.js';
import type { LogicalUnitState } from '../logical-unit.js';
import { asciiField, dataIn } from '../cdb.js';
import { defineCommand, usage, type CommandContext } from '../command.js';
import { failure, invalidCdbField, SenseReason, type SenseFailure } from '../sense.js';
import { vpdDeviceIdentification, vpdUnitSerialNumber } from './vpd-device-identification.js';
import { vpdThirdPartyCopy } from './vpd-third-party-copy.js';
import { vpdBlockDeviceCharacteristics, vpdBlockLimits, vpdLogicalBlockProvisioning } from '../sbc/vpd-block-device.js';
import { withSanitizeRequirements } from '../sbc/sanitize.js';
import { tpgsFor } from '../alua.js';

export const INQUIRY = 0x12;

/** Version descriptors (SPC-4 table 145): SAM-5, iSCSI (no version claimed), SPC-4, SBC-3. */
const VERSION_DESCRIPTORS = [0x00a0, 0x0960, 0x0460, 0x04c0];

/** Standard data length: through the version descriptors we fill (bytes 58..65). */
const STANDARD_LENGTH = 58 + 2 * VERSION_DESCRIPTORS.length;

export interface InquiryParams {
  readonly evpd: boolean;
  readonly pageCode: number;
  readonly allocationLength: number;
}

export interface Identity {
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
}

export function parseInquiry(cdb: Buffer): InquiryParams | SenseFailure {
  if (cdb[1] & 0x02) return invalidCdbField(1, 1); // CMDDT (obsolete)
  if (cdb[1] & 0xfc) return invalidCdbField(1, 7);
  const evpd = (cdb[1] & 0x01) !== 0;
  if (!evpd && cdb[2] !== 0) return invalidCdbField(2, 7);
  return { evpd, pageCode: cdb[2], allocationLength: cdb.readUInt16BE(3) };
}

/**
 * Standard INQUIRY data. byte0: PERIPHERAL QUALIFIER / DEVICE TYPE (0x00 for a
 * direct-access LU; 0x7f for "no LU at this LUN", SPC-4 §6.6.2).
 */
export function standardInquiry(identity: Identity, byte0: number, removable = false, tpgs = 0b01): Buffer {
  const b = Buffer.alloc(STANDARD_LENGTH);
  b[0] = byte0;
  if (removable) b[1] = 0x80; // RMB: removable medium (START STOP UNIT LOEJ, PREVENT ALLOW)
  b[2] = 0x06; // VERSION: SPC-4
  b[3] = 0x12; // HISUP=1, RESPONSE DATA FORMAT=2
  b[4] = STANDARD_LENGTH - 5;
  b[5] = ((tpgs & 0x03) << 4) | 0x08; // TPGS (ALUA access types, alua.ts tpgsFor; 01b implicit by default); 3PC: EXTENDED COPY
  b[7] = 0x02; // CMDQUE
  asciiField(identity.vendor, 8).copy(b, 8);
  asciiField(identity.product, 16).copy(b, 16);
  asciiField(identity.revision, 4).copy(b, 32);
  VERSION_DESCRIPTORS.forEach((v, i) => b.writeUInt16BE(v, 58 + 2 * i));
  return b;
}

/** VPD page codes this device server returns, ascending (SPC-4 §7.8.16). */
export const SUPPORTED_VPD_PAGES: readonly number[] = [0x00, 0x80, 0x83, 0x86, 0x8f, 0xb0, 0xb1, 0xb2];

function supportedVpdPages(): Buffer {
  const b = Buffer.alloc(4 + SUPPORTED_VPD_PAGES.length);
  b.writeUInt16BE(SUPPORTED_VPD_PAGES.length, 2);
  SUPPORTED_VPD_PAGES.forEach((p, i) => (b[4 + i] = p));
  return b;
}

/** Extended INQUIRY Data (SPC-4 §7.8.7): HEADSUP, ORDSUP, SIMPSUP; V_SUP when a volatile cache exists. */
function extendedInquiry(unit: LogicalUnitState): Buffer {
  const b = Buffer.alloc(64);
  b[1] = 0x86;
  b.writeUInt16BE(0x3c, 2);
  b[5] = 0x07;
  if (unit.device.writeCache) b[6] = 0x01;
  return b;
}

export function vpdPage(code: number, unit: LogicalUnitState, nexus: Nexus): Buffer | undefined {
  switch (code) {
    case 0x00:
      return supportedVpdPages();
    case 0x80:
      return vpdUnitSerialNumber(unit);
    case 0x83:
      return vpdDeviceIdentification(unit, nexus);
    case 0x86:
      return extendedInquiry(unit);
    case 0x8f:
      return vpdThirdPartyCopy(unit);
    case 0xb0:
      return vpdBlockLimits(unit);
    case 0xb1:
      return withSanitizeRequirements(vpdBlockDeviceCharacteristics(), unit);
    case 0xb2:
      return vpdLogicalBlockProvisioning(unit);
    default:
      return undefined;
  }
}

/** INQUIRY addressed to a LUN with no logical unit (SPC-4 §6.6.2, PQ=011b, type 1Fh). */
export function inquiryUnmapped(params: InquiryParams, identity: Identity): ReturnType<typeof dataIn> | SenseFailure {
  if (params.evpd) return failure(SenseReason.LogicalUnitNotSupported);
  return dataIn(standardInquiry(identity, 0x7f), params.allocationLength);
}

export const inquiryCommand = defineCommand<InquiryParams>({
  name: 'INQUIRY',
  opcode: INQUIRY,
  cdbLength: 6,
  usage: usage(INQUIRY, 0x01, 0xff, 0xff, 0xff, 0x00),
  modifiesMedium: false,
  allowedUnderReservation: true,
  bypassesUnitAttention: true,
  parse: parseInquiry,
  async execute(params, ctx: CommandContext) {
    if (!params.evpd) {
      const std = standardInquiry(ctx.unit.options, 0x00, ctx.unit.options.removable === true, tpgsFor(ctx.unit, ctx.nexus));
      return dataIn(std, params.allocationLength);
    }
    const page = vpdPage(params.pageCode, ctx.unit, ctx.nexus);
    if (page === undefined) return invalidCdbField(2, 7);
    return dataIn(page, params.allocationLength);
  },
});
