import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABORTED } from '../../src/scsi/api.js';
import { encodeLun } from '../../src/scsi/lun-address.js';
import { fixture, clearUnitAttentions, run, sense, request, cdb10 } from './harness.js';

async function ready() {
  const f = fixture();
  const a = f.open('a');
  const b = f.open('b');
  await clearUnitAttentions(a);
  await clearUnitAttentions(b);
  return { f, a, b };
}

/** A receiveData that never delivers until aborted, rejecting on abort like a transport would. */
function stalledReceive(seen: AbortSignal[]) {
  return (_len: number, signal: AbortSignal) =>
    new Promise<Buffer[]>((_resolve, reject) => {
      seen.push(signal);
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
}

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

test('ABORT TASK while receiveData is pending: outcome ABORTED, signal fired', async () => {
  const { a } = await ready();
  const signals: AbortSignal[] = [];
  const task = a.execute(request(cdb10(0x2a, 0, 1), { tag: 77, edtl: 512, direction: 'write', receiveData: stalledReceive(signals) }));
  await new Promise((r) => setImmediate(r));
  assert.equal(signals.length, 1);
  const tmf = await a.taskManagement({ function: 'abort-task', lun: encodeLun(0), referencedTag: 77 });
  assert.equal(tmf, 'function-complete');
  assert.equal(await task.outcome, ABORTED);
  assert.equal(signals[0].aborted, true);
});

test('ABORT TASK of a completed/unknown tag: TASK DOES NOT EXIST; unknown LUN', async () => {
  const { a } = await ready();
  await run(a, [0, 0, 0, 0, 0, 0], { tag: 5 });
  assert.equal(await a.taskManagement({ function: 'abort-task', lun: encodeLun(0), referencedTag: 5 }), 'task-does-not-exist');
  assert.equal(await a.taskManagement({ function: 'abort-task', lun: encodeLun(3), referencedTag: 5 }), 'lun-does-not-exist');
  assert.equal(await a.taskManagement({ function: 'clear-aca', lun: encodeLun(0) }), 'function-not-supported');
});

test('ABORT TASK waits for in-flight backstore I/O before completing', async () => {
  const { f, a } = await ready();
  const g = gate();
  f.dev.gate = g.p;
  const task = a.execute(request(cdb10(0x28, 0, 1), { tag: 9, edtl: 512 }));
  await new Promise((r) => setImmediate(r));
  let tmfDone = false;
  const tmf = a.taskManagement({ function: 'abort-task', lun: encodeLun(0), referencedTag: 9 }).then((r) => {
    tmfDone = true;
    return r;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(tmfDone, false);
  f.dev.gate = undefined;
  g.open();
  assert.equal(await tmf, 'function-complete');
  assert.equal(await task.outcome, ABORTED);
});

test('ABORT TASK SET only touches the issuing nexus', async () => {
  const { a, b } = await ready();
  const sa: AbortSignal[] = [];
  const sb: AbortSignal[] = [];
  const ta = a.execute(request(cdb10(0x2a, 0, 1), { edtl: 512, direction: 'write', receiveData: stalledReceive(sa) }));
  const tb = b.execute(request(cdb10(0x2a, 8, 1), { edtl: 512, direction: 'write', receiveData: stalledReceive(sb) }));
  await new Promise((r) => setImmediate(r));
  assert.equal(await a.taskManagement({ function: 'abort-task-set', lun: encodeLun(0) }), 'function-complete');
  assert.equal(await ta.outcome, ABORTED);
  assert.equal(sb[0].aborted, false);
  // Clean up b's task via CLEAR TASK SET from a: b gets COMMANDS CLEARED BY ANOTHER INITIATOR.
  assert.equal(await a.taskManagement({ function: 'clear-task-set', lun: encodeLun(0) }), 'function-complete');
  assert.equal(await tb.outcome, ABORTED);
  const ua = await run(b, [0, 0, 0, 0, 0, 0]);
  assert.deepEqual([sense(ua).key, sense(ua).asc, sense(ua).ascq], [6, 0x2f, 0x00]);
  assert.equal((await run(a, [0, 0, 0, 0, 0, 0])).status, 0);
});

test('LOGICAL UNIT RESET aborts everything and raises 29/03 on every nexus, the issuer included', async () => {
  const { a, b } = await ready();
  const sb: AbortSignal[] = [];
  const tb = b.execute(request(cdb10(0x2a, 8, 1), { edtl: 512, direction: 'write', receiveData: stalledReceive(sb) }));
  await new Promise((r) => setImmediate(r));
  assert.equal(await a.taskManagement({ function: 'logical-unit-reset', lun: encodeLun(0) }), 'function-complete');
  assert.equal(await tb.outcome, ABORTED);
  for (const n of [a, b]) {
    const ua = await run(n, [0, 0, 0, 0, 0, 0]);
    assert.deepEqual([sense(ua).asc, sense(ua).ascq], [0x29, 0x03]);
  }
  for (const n of [a, b]) assert.equal((await run(n, [0, 0, 0, 0, 0, 0])).status, 0);
  assert.equal(await a.taskManagement({ function: 'logical-unit-reset', lun: encodeLun(4) }), 'lun-does-not-exist');
});

test('TARGET WARM / COLD RESET raise 29/02 and 29/01 on the other nexuses and release reservations', async () => {
  const { a, b } = await ready();
  assert.equal((await run(a, [0x16, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(b, [0, 0, 0, 0, 0, 0])).status, 0x18);
  assert.equal(await a.taskManagement({ function: 'target-warm-reset', lun: encodeLun(0) }), 'function-complete');
  const warm = await run(b, [0, 0, 0, 0, 0, 0]);
  assert.deepEqual([sense(warm).asc, sense(warm).ascq], [0x29, 0x02]);
  assert.equal((await run(a, [0, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(b, [0x16, 0, 0, 0, 0, 0])).status, 0);
  assert.equal(await a.taskManagement({ function: 'target-cold-reset', lun: encodeLun(0) }), 'function-complete');
  const cold = await run(b, [0, 0, 0, 0, 0, 0]);
  assert.deepEqual([sense(cold).asc, sense(cold).ascq], [0x29, 0x01]);
  assert.equal((await run(a, [0x16, 0, 0, 0, 0, 0])).status, 0);
});

test('close() (I_T nexus loss) aborts the nexus tasks and releases its reservation', async () => {
  const { a, b } = await ready();
  assert.equal((await run(a, [0x16, 0, 0, 0, 0, 0])).status, 0);
  const sa: AbortSignal[] = [];
  const ta = a.execute(request(cdb10(0x2a, 0, 1), { edtl: 512, direction: 'write', receiveData: stalledReceive(sa) }));
  await new Promise((r) => setImmediate(r));
  a.close();
  assert.equal(await ta.outcome, ABORTED);
  assert.equal((await run(b, [0x16, 0, 0, 0, 0, 0])).status, 0);
});

test('ordering: ORDERED waits for earlier tasks, later SIMPLE waits for ORDERED; overlapping writes keep order', async () => {
  const { f, a } = await ready();
  const events: string[] = [];
  const hold = gate();
  // Write A (simple) held in receiveData.
  const tA = a.execute(
    request(cdb10(0x2a, 0, 1), {
      edtl: 512,
      direction: 'write',
      receiveData: async (n) => {
        await hold.p;
        events.push('A-data');
        return [Buffer.alloc(n, 0x41)];
      },
    }),
  );
  // Overlapping write B (simple) arrives later with data immediately available.
  const tB = a.execute(request(cdb10(0x2a, 0, 1), { data: Buffer.alloc(512, 0x42) }));
  // Non-overlapping read C proceeds without waiting.
  const c = await run(a, cdb10(0x28, 100, 1), { edtl: 512 });
  events.push('C-done');
  assert.equal(c.status, 0);
  // ORDERED TUR waits for A and B.
  const tO = a.execute(request([0, 0, 0, 0, 0, 0], { attribute: 'ordered' }));
  void tO.outcome.then(() => events.push('O-done'));
  // HEAD OF QUEUE runs at once.
  const h = await run(a, [0, 0, 0, 0, 0, 0], { attribute: 'head-of-queue' });
  assert.equal(h.status, 0);
  events.push('H-done');
  hold.open();
  await tA.outcome;
  await tB.outcome;
  await tO.outcome;
  assert.deepEqual(events.slice(0, 2), ['C-done', 'H-done']);
  assert.ok(events.indexOf('A-data') < events.indexOf('O-done'));
  // B was issued after A and overlaps: its data must win.
  assert.equal(f.dev.bytes[0], 0x42);
});
