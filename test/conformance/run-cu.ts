// One bounded iscsi-test-cu run, parsed (cunit-output.ts), with its raw
// output and a JSON summary written under dist/, and the known-failure /
// expected-skip lists that judge it. Used by configurations.test.ts.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { spawnCollect } from '../integration/harness.js';
import { parseCunitOutput, parseKnownFailures, tally, type CunitRun, type CunitStatus, type CunitTest, type KnownFailure } from './cunit-output.js';

export const INITIATOR_1 = 'iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test';
export const INITIATOR_2 = 'iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test-2';

export interface CuRun {
  readonly args: readonly string[];
  readonly run: CunitRun;
  /** Every test plus one failed pseudo-test per suite whose setup/cleanup failed. */
  readonly tests: readonly CunitTest[];
  readonly counts: Record<CunitStatus, number>;
  readonly exit: { code: number | null; signal: string | null } | undefined;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CuOptions {
  readonly urls: readonly string[];
  /** -t selection (FAMILY[.SUITE[.TEST]], comma separated). */
  readonly selection: string;
  readonly allowSanitize: boolean;
  readonly timeoutMs: number;
  /** Copy the output to stderr as it arrives, each line prefixed. */
  readonly echoPrefix?: string;
}

/** Run iscsi-test-cu --dataloss [--allow-sanitize] -t <selection> <urls...>; never rejects for a failing run. */
export async function runIscsiTestCu(o: CuOptions): Promise<CuRun> {
  const args = [
    '--dataloss',
    ...(o.allowSanitize ? ['--allow-sanitize'] : []),
    '--initiator-name',
    INITIATOR_1,
    '--initiator-name-2',
    INITIATOR_2,
    '-t',
    o.selection,
    ...o.urls,
  ];
  const started = Date.now();
  const p = spawnCollect('iscsi-test-cu', args);
  if (o.echoPrefix !== undefined) {
    const prefix = o.echoPrefix;
    p.child.stdout!.on('data', (d: string) => process.stderr.write(d.replace(/^/gm, prefix)));
  }
  let exit: CuRun['exit'];
  let timedOut = false;
  try {
    exit = await p.exited(o.timeoutMs);
  } catch {
    timedOut = true;
  } finally {
    p.kill();
  }
  const stdout = p.stdout();
  const run = parseCunitOutput(stdout);
  const suiteFailures: CunitTest[] = run.suiteFailures.map((f) => ({
    name: `${f.suite}.<suite-${f.phase}>`,
    suite: f.suite,
    test: `<suite-${f.phase}>`,
    status: 'failed',
    messages: [`CUnit: suite ${f.phase} failed`],
    assertions: [],
    notes: [],
  }));
  const tests = [...run.tests, ...suiteFailures];
  return { args, run, tests, counts: tally(tests), exit, timedOut, durationMs: Date.now() - started, stdout, stderr: p.stderr() };
}

/**
 * Lines "<config>[,<config>...]:<Suite.Test pattern>  # reason" (config `*`:
 * every configuration; `*` in the pattern matches any run of characters).
 * Returns the entries for one configuration.
 */
export function entriesFor(text: string, config: string): KnownFailure[] {
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    const body = raw.trim();
    if (body === '' || body.startsWith('#')) continue;
    const colon = body.indexOf(':');
    if (colon < 0) continue;
    const scopes = body.slice(0, colon).split(',').map((x) => x.trim());
    if (scopes.includes('*') || scopes.includes(config)) lines.push(body.slice(colon + 1));
  }
  return parseKnownFailures(lines.join('\n'));
}

export interface Verdict {
  readonly unexpectedFailures: readonly CunitTest[];
  readonly knownFailures: readonly CunitTest[];
  readonly unexplainedSkips: readonly CunitTest[];
  /** List entries that matched a test which did not fail / was not skipped (stale entries). */
  readonly staleFailures: readonly string[];
  readonly staleSkips: readonly string[];
}

export function judge(tests: readonly CunitTest[], known: readonly KnownFailure[], skips: readonly KnownFailure[]): Verdict {
  const matches = (list: readonly KnownFailure[], name: string) => list.some((k) => k.matches(name));
  const stale = (list: readonly KnownFailure[], status: CunitStatus) =>
    list.filter((k) => tests.some((t) => k.matches(t.name)) && !tests.some((t) => k.matches(t.name) && t.status === status)).map((k) => k.pattern);
  return {
    unexpectedFailures: tests.filter((t) => t.status === 'failed' && !matches(known, t.name)),
    knownFailures: tests.filter((t) => t.status === 'failed' && matches(known, t.name)),
    unexplainedSkips: tests.filter((t) => t.status === 'skipped' && !matches(skips, t.name)),
    staleFailures: stale(known, 'failed'),
    staleSkips: stale(skips, 'skipped'),
  };
}

/** The first [SKIPPED] / [FAILED] line a test printed (or its first assertion), for summaries. */
export function why(t: CunitTest): string {
  const tag = t.status === 'skipped' ? '[SKIPPED]' : '[FAILED]';
  const line = t.messages.find((m) => m.includes(tag)) ?? t.assertions[0] ?? t.notes[0] ?? '';
  return line.replace(/^.*?\[(SKIPPED|FAILED)\]\s*/, '').slice(0, 160);
}

function pad(s: string | number, n: number): string {
  return String(s).padEnd(n);
}

/** Per-suite table (suites with a skip or a failure, then the total) for one configuration. */
export function summaryLines(title: string, tests: readonly CunitTest[]): string[] {
  const suites = new Map<string, CunitTest[]>();
  for (const t of tests) suites.set(t.suite, [...(suites.get(t.suite) ?? []), t]);
  const lines = [`${title}:`];
  for (const [suite, list] of suites) {
    const c = tally(list);
    if (c.skipped === 0 && c.failed === 0) continue;
    const odd = list.filter((t) => t.status !== 'passed').map((t) => `${t.test}${t.status === 'failed' ? ' FAILED' : ''}`);
    lines.push(`  ${pad(suite, 28)} ${pad(`${c.passed} passed`, 10)} ${pad(`${c.skipped} skipped`, 11)} ${c.failed} failed  (${odd.join(', ')})`);
  }
  const c = tally(tests);
  lines.push(`  ${pad('TOTAL', 28)} ${pad(`${c.passed} passed`, 10)} ${pad(`${c.skipped} skipped`, 11)} ${c.failed} failed  (${tests.length} tests)`);
  return lines;
}

export async function writeArtifacts(outputPath: string, resultsPath: string, r: CuRun, extra: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(outputPath), { recursive: true });
  await writeFile(outputPath, `$ iscsi-test-cu ${r.args.join(' ')}\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  await writeFile(
    resultsPath,
    `${JSON.stringify(
      {
        command: `iscsi-test-cu ${r.args.join(' ')}`,
        durationMs: r.durationMs,
        exit: r.exit ?? null,
        timedOut: r.timedOut,
        complete: r.run.summary !== undefined,
        counts: r.counts,
        cunitSummary: r.run.summary ?? null,
        ...extra,
        tests: r.tests,
      },
      null,
      2,
    )}\n`,
  );
}
