// Persistent reservations with APTPL=1 survive a target restart (SPC-4 §5.9.5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiniInitiator } from './mini-initiator.js';
import { startRamTarget, TARGET } from './fixture.js';

function proutRegister(key: bigint, aptpl: boolean): { cdb: Buffer; data: Buffer } {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5f;
  cdb[1] = 0x00; // REGISTER
  cdb.writeUInt32BE(24, 5);
  const data = Buffer.alloc(24);
  data.writeBigUInt64BE(key, 8); // service action reservation key
  data[20] = aptpl ? 0x01 : 0x00;
  return { cdb, data };
}

const READ_KEYS = Buffer.from([0x5e, 0x00, 0, 0, 0, 0, 0, 0x01, 0x00, 0]);

async function clearUa(i: MiniInitiator): Promise<void> {
  for (let n = 0; n < 5; n++) if ((await i.complete(i.command(Buffer.alloc(6)))).status === 0) return;
}

test('a registration made with APTPL=1 is there after a restart; without a state dir APTPL is refused', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'tsgt-aptpl-'));
  try {
    let t = await startRamTarget({ stateDir, tsgt: { version: 1, nop_in_interval: 0 } });
    const port = t.port;
    let i = await MiniInitiator.connect(port);
    await i.login({ targetName: TARGET });
    await clearUa(i);
    const reg = proutRegister(0x1122334455667788n, true);
    const r = await i.complete(i.command(reg.cdb, { write: reg.data, immediate: reg.data }), reg.data);
    assert.equal(r.status, 0, `REGISTER APTPL: status ${r.status} sense ${r.sense.toString('hex')}`);
    i.close();
    await t.server.close();
    assert.ok((await readdir(join(stateDir, 'pr'))).some((f) => f.startsWith('aptpl_')), 'state file written');

    t = await startRamTarget({ stateDir, port, tsgt: { version: 1, nop_in_interval: 0 } });
    i = await MiniInitiator.connect(port);
    await i.login({ targetName: TARGET, isid: Buffer.from([0x80, 0, 0, 0, 0x42, 1]) });
    await clearUa(i);
    const keys = await i.complete(i.command(READ_KEYS, { read: 256 }));
    assert.equal(keys.status, 0);
    assert.equal(keys.data.readUInt32BE(4), 8, 'one key listed');
    assert.equal(keys.data.readBigUInt64BE(8), 0x1122334455667788n);
    i.close();
    await t.server.close();

    // No state dir: PTPL_C=0, so APTPL=1 is an invalid field in the parameter list.
    t = await startRamTarget({ tsgt: { version: 1, nop_in_interval: 0 } });
    i = await MiniInitiator.connect(t.port);
    await i.login({ targetName: TARGET });
    await clearUa(i);
    const again = await i.complete(i.command(reg.cdb, { write: reg.data, immediate: reg.data }), reg.data);
    assert.equal(again.status, 2, 'CHECK CONDITION');
    i.close();
    await t.server.close();
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});
