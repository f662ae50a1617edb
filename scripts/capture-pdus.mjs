#!/usr/bin/env node
// Records the PDUs a real initiator sends, as golden fixtures.
// Usage: node scripts/capture-pdus.mjs <listen-port> <target-port> <out-dir> <prefix>
// Run an initiator against <listen-port>; the proxy forwards to 127.0.0.1:<target-port>
// and writes <prefix>-NN-<opcode>.hex for each initiator PDU (digests off).
import { createServer, connect } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PduFramer } from '../dist/src/pdu/framer.js';

const [listenPort, targetPort, outDir, prefix] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
let n = 0;
const names = { 0: 'nop-out', 1: 'scsi-command', 2: 'tmf', 3: 'login', 4: 'text', 5: 'data-out', 6: 'logout', 0x10: 'snack' };
const server = createServer((client) => {
  const upstream = connect({ host: '127.0.0.1', port: Number(targetPort) });
  const framer = new PduFramer({ maxDataSegmentLength: 1 << 24, headerDigest: false, dataDigest: false }, (f) => {
    const op = f.bhs[0] & 0x3f;
    const hex = (b) => b.toString('hex').replace(/(.{32})/g, '$1\n').trim();
    const body = [`# captured from a real initiator (${prefix}), opcode 0x${op.toString(16)}`, '# BHS', hex(f.bhs)];
    if (f.ahs.length) body.push('# AHS', hex(f.ahs));
    if (f.data.length) {
      const pad = (4 - (f.data.length % 4)) % 4;
      body.push('# data segment + padding', hex(Buffer.concat([f.data, Buffer.alloc(pad)])));
    }
    writeFileSync(join(outDir, `${prefix}-${String(n++).padStart(2, '0')}-${names[op] ?? op}.hex`), body.join('\n') + '\n');
  }, (e) => console.error('framer:', e.reason));
  client.on('data', (c) => { framer.push(c); upstream.write(c); });
  upstream.on('data', (c) => client.write(c));
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.on('error', () => {}); upstream.on('error', () => {});
});
server.listen(Number(listenPort), '127.0.0.1', () => console.log(`capturing on ${listenPort} → ${targetPort}`));
