// TaskSet entries create their AbortController and `finished` promise lazily;
// the observable behaviour must be as if they existed from the start.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TaskSet } from '../../src/scsi/task-set.js';

test('aborting before anyone asked for the signal still yields an aborted signal and flag', async () => {
  const set = new TaskSet();
  const { entry } = set.enter('n', 1, 'simple', undefined);
  assert.equal(entry.aborted, false);
  const aborting = TaskSet.abortAll([entry]);
  assert.equal(entry.aborted, true);
  assert.equal(entry.controller.signal.aborted, true);
  set.leave(entry);
  await aborting;
});

test('a signal taken before the abort fires its listener', async () => {
  const set = new TaskSet();
  const { entry } = set.enter('n', 1, 'simple', undefined);
  let fired = 0;
  entry.controller.signal.addEventListener('abort', () => fired++);
  const aborting = TaskSet.abortAll([entry]);
  assert.equal(fired, 1);
  set.leave(entry);
  await aborting;
});

test('finished settles on leave, also when first asked for afterwards; ordered tasks wait for it', async () => {
  const set = new TaskSet();
  const a = set.enter('n', 1, 'simple', { lba: 0, blocks: 8, write: true }).entry;
  const { waitFor } = set.enter('n', 2, 'simple', { lba: 4, blocks: 1, write: false });
  assert.equal(waitFor.length, 1);
  let done = false;
  void waitFor[0].then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  set.leave(a);
  await new Promise((r) => setImmediate(r));
  assert.equal(done, true);
  await a.finished; // asked for after leaving: already settled
});
