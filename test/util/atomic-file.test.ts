import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/util/atomic-file.js';

test('writeFileAtomic: creates the directory, writes 0600, replaces a stale temp, leaves no temp behind', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsgt-atomic-'));
  try {
    const path = join(root, 'sub', 'state.json');
    await writeFileAtomic(path, 'one\n');
    assert.equal(await readFile(path, 'utf8'), 'one\n');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, 'sub'))).mode & 0o777, 0o700);
    const temp = `${path}.temp`;
    await writeFile(temp, 'stale', { mode: 0o644 });
    await writeFileAtomic(path, 'two\n', { tempPath: temp });
    assert.equal(await readFile(path, 'utf8'), 'two\n');
    assert.deepEqual(await readdir(join(root, 'sub')), ['state.json']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('writeFileAtomic: beforeRename runs with the old content still in place; a failure there keeps it and removes the temp', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsgt-atomic-'));
  try {
    const path = join(root, 'key');
    await writeFileAtomic(path, 'old');
    let seen = '';
    await writeFileAtomic(path, 'new', { beforeRename: async () => void (seen = await readFile(path, 'utf8')) });
    assert.equal(seen, 'old');
    assert.equal(await readFile(path, 'utf8'), 'new');
    await assert.rejects(writeFileAtomic(path, 'newer', { beforeRename: () => Promise.reject(new Error('boom')) }), /boom/);
    assert.equal(await readFile(path, 'utf8'), 'new');
    assert.deepEqual(await readdir(root), ['key']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
