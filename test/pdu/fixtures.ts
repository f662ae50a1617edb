// Loader for the golden PDU fixtures in test/fixtures/pdu:
//   <name>.hex  — wire bytes (hex, whitespace ignored, '#' starts a comment)
//   <name>.json — the expected decoded PDU; Buffer fields are hex strings, or
//                 arrays of strings for text data (each record NUL-terminated).
// Frames are cut from the bytes here by reading the BHS directly, not with the
// framer under test.

import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Frame, Pdu } from '../../src/pdu/types.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/pdu/', import.meta.url));

const BUFFER_FIELDS = new Set(['lun', 'isid', 'cdb', 'data', 'sense']);

export interface Fixture {
  name: string;
  /** The PDU on the wire without digests (BHS, AHS, data, padding). */
  bytes: Buffer;
  frame: Frame;
  expected: Pdu;
}

export function parseHex(text: string): Buffer {
  const hex = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error('malformed hex fixture');
  return Buffer.from(hex, 'hex');
}

/** Splits unpadded/padded wire bytes into a Frame using only the BHS length fields. */
export function cutFrame(bytes: Buffer): Frame {
  const bhs = bytes.subarray(0, 48);
  const ahsLength = bhs[4] * 4;
  const dsl = (bhs[5] << 16) | (bhs[6] << 8) | bhs[7];
  const ahs = bytes.subarray(48, 48 + ahsLength);
  const data = bytes.subarray(48 + ahsLength, 48 + ahsLength + dsl);
  const padded = 48 + ahsLength + dsl + ((4 - (dsl % 4)) % 4);
  if (padded !== bytes.length) throw new Error(`fixture length ${bytes.length} != ${padded}`);
  for (let i = 48 + ahsLength + dsl; i < padded; i++) if (bytes[i] !== 0) throw new Error('non-zero pad in fixture');
  return { bhs, ahs, data };
}

export function jsonToPdu(json: Record<string, unknown>): Pdu {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (BUFFER_FIELDS.has(k)) {
      if (Array.isArray(v)) out[k] = Buffer.from(v.map((r) => `${String(r)}\0`).join(''), 'utf8');
      else if (typeof v === 'string') out[k] = Buffer.from(v, 'hex');
      else throw new Error(`field ${k} must be hex or string[]`);
    } else {
      out[k] = v;
    }
  }
  return out as unknown as Pdu;
}

export function loadFixture(name: string): Fixture {
  const bytes = parseHex(readFileSync(FIXTURE_DIR + name + '.hex', 'utf8'));
  const expected = jsonToPdu(JSON.parse(readFileSync(FIXTURE_DIR + name + '.json', 'utf8')) as Record<string, unknown>);
  return { name, bytes, frame: cutFrame(bytes), expected };
}

export function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.hex'))
    .map((f) => f.slice(0, -4))
    .sort()
    .map(loadFixture);
}
