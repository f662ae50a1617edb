import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigValidationError, loadConfigFile, parseConfigText, saveConfigFile, serializeConfig } from '../../src/config/store.js';
import { defaultConfig } from '../../src/config/defaults.js';

const FIXTURE = new URL('../../../test/fixtures/config/lio-saveconfig.json', import.meta.url);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tsgt-config-'));
}

test('loading the LIO fixture and serialising it reproduces rtslib\'s bytes exactly', async () => {
  const r = await loadConfigFile(FIXTURE.pathname);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  // The fixture is Python json.dump(sort_keys=True, indent=2) + "\n", as rtslib writes it.
  assert.equal(serializeConfig(r.config), readFileSync(FIXTURE, 'utf8'));
});

test('save/load round trip: same config back, file mode 0600, no temp file left', async () => {
  const dir = tmp();
  try {
    const r = await loadConfigFile(FIXTURE.pathname);
    assert.ok(r.ok);
    const path = join(dir, 'nested', 'target', 'saveconfig.json');
    await saveConfigFile(path, r.config);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'nested', 'target')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(dir, 'nested', 'target')), ['saveconfig.json']);
    const back = await loadConfigFile(path);
    assert.ok(back.ok);
    assert.deepEqual(back.config, r.config);
    // saving over an existing file replaces it
    const d = defaultConfig('/var/lib/tsgt', 'host1');
    await saveConfigFile(path, d);
    const again = await loadConfigFile(path);
    assert.ok(again.ok);
    assert.deepEqual(again.config, d);
    assert.deepEqual(readdirSync(join(dir, 'nested', 'target')), ['saveconfig.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stale world-readable temp file is replaced, not reused', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'saveconfig.json');
    writeFileSync(`${path}.temp`, 'garbage');
    chmodSync(`${path}.temp`, 0o644);
    await saveConfigFile(path, defaultConfig(dir, 'h'));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['saveconfig.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('saving an invalid config throws ConfigValidationError and leaves the old file alone', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'saveconfig.json');
    const good = defaultConfig(dir, 'h');
    await saveConfigFile(path, good);
    const before = readFileSync(path, 'utf8');
    const bad = defaultConfig(dir, 'h');
    bad.targets[0].wwn = 'not-an-iqn';
    await assert.rejects(saveConfigFile(path, bad), (e: unknown) => {
      assert.ok(e instanceof ConfigValidationError);
      assert.equal(e.errors[0].path, 'targets[0].wwn');
      return true;
    });
    assert.equal(readFileSync(path, 'utf8'), before);
    assert.deepEqual(readdirSync(dir), ['saveconfig.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JSON syntax errors are reported at path "" with the parser message', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'saveconfig.json');
    writeFileSync(path, '{ "targets": [ }');
    const r = await loadConfigFile(path);
    assert.equal(r.ok, false);
    assert.deepEqual(!r.ok && r.errors.map((e) => [e.path, e.rule]), [['', 'json-parse']]);
    assert.match(!r.ok ? r.errors[0].message : '', /not valid JSON: .+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing file is reported as not-found, a directory as read-error', async () => {
  const dir = tmp();
  try {
    const missing = await loadConfigFile(join(dir, 'nope.json'));
    assert.deepEqual(!missing.ok && missing.errors.map((e) => e.rule), ['not-found']);
    const isDir = await loadConfigFile(dir);
    assert.deepEqual(!isDir.ok && isDir.errors.map((e) => e.rule), ['read-error']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serializeConfig sorts keys at every level and escapes non-ASCII like Python', () => {
  const c = defaultConfig('/h', 'x');
  c.targets[0].tpgs[0].parameters = { TargetAlias: 'disque é ☃' };
  const text = serializeConfig(c);
  assert.ok(text.endsWith('}\n'));
  assert.match(text, /"TargetAlias": "disque \\u00e9 \\u2603"/);
  const keys = Object.keys(JSON.parse(text));
  assert.deepEqual(keys, [...keys].sort());
  const so = text.indexOf('"storage_objects"');
  assert.ok(text.indexOf('"fabric_modules"') < so && so < text.indexOf('"targets"'));
  assert.ok(text.includes('\n  "fabric_modules": []'));
  // parses back to the same config
  const r = parseConfigText(text);
  assert.ok(r.ok);
  assert.deepEqual(r.config, c);
});
