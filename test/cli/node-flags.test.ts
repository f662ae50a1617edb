// The V8 flags of `tsgt serve` (src/cli/node-flags.ts) are written in three
// places that cannot import them: main.ts's shebang, `npm start`, and (by
// import) the benchmark. Keep the first two in step, and check that the
// shebang line really starts the CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { SERVE_NODE_FLAGS } from '../../src/cli/node-flags.js';
import { repoPath } from '../integration/harness.js';

const flags = SERVE_NODE_FLAGS.join(' ');

test('the tsgt shebang and npm start pass node the serve flags', () => {
  const shebang = readFileSync(repoPath('src/cli/main.ts'), 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${flags}`);
  const built = readFileSync(repoPath('dist/src/cli/main.js'), 'utf8').split('\n')[0];
  assert.equal(built, shebang, 'the compiled CLI keeps the shebang');
  const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.start, `node ${flags} dist/src/cli/main.js serve`);
});

test('the shebang command line runs the CLI (env -S splits the flags)', () => {
  const shebang = readFileSync(repoPath('dist/src/cli/main.js'), 'utf8').split('\n')[0].slice(2).split(' ');
  const out = execFileSync(shebang[0], [...shebang.slice(1), repoPath('dist/src/cli/main.js'), 'version'], { encoding: 'utf8' });
  assert.match(out, /^tsgt /);
});
