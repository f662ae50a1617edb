import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Task, type TaskOwner } from '../../src/iscsi/scsi-task.js';
import type { Wire } from '../../src/iscsi/connection.js';
import type { ScsiCommand } from '../../src/pdu/types.js';

function command(read: boolean): ScsiCommand {
  return { read, write: !read, itt: 1, lun: Buffer.alloc(8), cdb: Buffer.alloc(16), attribute: 1, expectedDataTransferLength: 65536, data: Buffer.alloc(0) } as unknown as ScsiCommand;
}

function owner(activeTasks: number, wire: Partial<Wire>): TaskOwner {
  return { conn: { wire: wire as Wire }, activeTasks, execute() {} };
}

test('Task.acceptsFileExtent: asks the wire with whether the command is alone in flight; never for writes or wires without sendFile', () => {
  const asked: Array<[number, boolean]> = [];
  const wire: Partial<Wire> = {
    sendFile() {},
    canSendFile(length: number, alone: boolean) {
      asked.push([length, alone]);
      return alone;
    },
  };
  assert.equal(new Task(owner(1, wire), command(true), undefined, false, 1).acceptsFileExtent(4096), true);
  assert.equal(new Task(owner(5, wire), command(true), undefined, false, 1).acceptsFileExtent(4096), false);
  assert.deepEqual(asked, [
    [4096, true],
    [4096, false],
  ]);
  assert.equal(new Task(owner(1, wire), command(true), undefined, false, 2).acceptsFileExtent(4096), false, 'the initiator had another command outstanding');
  assert.deepEqual(asked.at(-1), [4096, false]);
  assert.equal(new Task(owner(1, wire), command(false), undefined, false, 1).acceptsFileExtent(4096), false, 'a write has no Data-In');
  assert.equal(new Task(owner(1, { canSendFile: () => true }), command(true), undefined, false, 1).acceptsFileExtent(4096), false, 'no sendFile, no extents');
});
