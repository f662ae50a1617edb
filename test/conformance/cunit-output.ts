// Parser for the CUnit "basic" runner output that libiscsi's iscsi-test-cu
// prints in its default verbose mode. The layout comes from CUnit's Basic.c:
//
//   "\nSuite: <suite>"            before the first test of a suite
//   "\n  Test: <test> ..."         before each test; the test's own output follows
//   "passed" | "FAILED"           right after the test's output, no newline before it
//   "\n    <n>. <file>:<line>  - <assertion>"   one per failed assertion
//   "\nWARNING - Suite initialization failed for '<suite>'."  (or cleanup)
//   "\n\nRun Summary: ..."        the totals table
//
// libiscsi marks a test it could not run with "[SKIPPED]" but CUnit still
// calls it passed: here that is a skip, never a pass. Output a suite's
// cleanup prints lands after the last verdict ("...passed    [FAILED] ...")
// and is kept as a note, not as the test's result.

export type CunitStatus = 'passed' | 'failed' | 'skipped';

export interface CunitTest {
  /** "<Suite>.<Test>" (the CUnit output does not name the family, e.g. ALL). */
  name: string;
  suite: string;
  test: string;
  status: CunitStatus;
  /** Non-empty lines the test printed before its verdict. */
  messages: string[];
  /** CUnit's failed-assertion lines ("test_x.c:38  - CU_ASSERT_EQUAL(...)"). */
  assertions: string[];
  /** Text printed after the verdict (suite cleanup/setup output), and parser remarks. */
  notes: string[];
}

export interface CunitSummary {
  suites: { total: number; ran: number; failed: number; inactive: number };
  tests: { total: number; ran: number; passed: number; failed: number; inactive: number };
}

export interface CunitRun {
  tests: CunitTest[];
  /** Suites whose initialization or cleanup function failed. */
  suiteFailures: { suite: string; phase: 'initialization' | 'cleanup' }[];
  /** CUnit's own totals; absent when the run did not finish (crash, kill, timeout). */
  summary?: CunitSummary;
}

const MARKER = /\n {2}Test: (.*?) \.\.\.|\nSuite: ([^\n]*)|\nWARNING - Suite (initialization|cleanup) failed for '([^']*)'\.|\n\s*Run Summary:/g;

interface Section {
  kind: 'test' | 'suite' | 'suite-failure' | 'summary';
  name: string;
  phase?: 'initialization' | 'cleanup';
  body: string;
}

function sections(text: string): Section[] {
  const out: Section[] = [];
  const src = `\n${text.replace(/\r\n/g, '\n')}`;
  let last: Section | undefined;
  let lastEnd = 0;
  for (const m of src.matchAll(MARKER)) {
    if (last) last.body = src.slice(lastEnd, m.index);
    if (m[1] !== undefined) last = { kind: 'test', name: m[1], body: '' };
    else if (m[2] !== undefined) last = { kind: 'suite', name: m[2].trim(), body: '' };
    else if (m[3] !== undefined) last = { kind: 'suite-failure', name: m[4], phase: m[3] as 'initialization' | 'cleanup', body: '' };
    else last = { kind: 'summary', name: '', body: '' };
    out.push(last);
    lastEnd = m.index + m[0].length;
  }
  if (last) last.body = src.slice(lastEnd);
  return out;
}

const VERDICT = /(^|\n)(passed|FAILED)/;
const ASSERTION = /^\s+\d+\. (.*)$/;
const TRAILER = /\s{2,}(?=\[[A-Z]+\])/;

function parseTest(suite: string, test: string, body: string): CunitTest {
  const t: CunitTest = { name: `${suite}.${test}`, suite, test, status: 'passed', messages: [], assertions: [], notes: [] };
  const v = VERDICT.exec(body);
  const before = v ? body.slice(0, v.index) : body;
  const after = v ? body.slice(v.index + v[0].length) : '';
  t.messages = before
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (const line of after.split('\n')) {
    const a = ASSERTION.exec(line);
    if (a) {
      // CUnit ends an assertion line without a newline, so whatever runs next
      // (suite cleanup, the next test's setup) may continue it: split that off.
      const [assertion, ...rest] = a[1].split(TRAILER);
      t.assertions.push(assertion.trim());
      if (rest.length) t.notes.push(a[1].slice(assertion.length).trim());
    } else if (line.trim() !== '') {
      t.notes.push(line.trim());
    }
  }
  if (!v) {
    t.status = 'failed';
    t.notes.push('no verdict: iscsi-test-cu stopped during this test (crash, kill or timeout)');
  } else if (v[2] === 'FAILED') {
    t.status = 'failed';
  } else if (t.messages.some((m) => m.includes('[SKIPPED]'))) {
    t.status = 'skipped';
  } else if (t.messages.some((m) => m.includes('[FAILED]'))) {
    // CUnit counted it as passed (no assertion failed) although the test logged a failure
    t.notes.push('CUnit verdict "passed" but the test printed [FAILED]');
  }
  return t;
}

function parseSummary(body: string): CunitSummary | undefined {
  const row = (label: string) => {
    const m = new RegExp(`^\\s*${label}\\s+(.+)$`, 'm').exec(body);
    return m ? m[1].trim().split(/\s+/).map((x) => (x === 'n/a' ? NaN : Number(x))) : undefined;
  };
  const s = row('suites');
  const t = row('tests');
  if (!s || !t || t.length < 5 || s.length < 5) return undefined;
  return {
    suites: { total: s[0], ran: s[1], failed: s[3], inactive: s[4] },
    tests: { total: t[0], ran: t[1], passed: t[2], failed: t[3], inactive: t[4] },
  };
}

export function parseCunitOutput(text: string): CunitRun {
  const run: CunitRun = { tests: [], suiteFailures: [] };
  let suite = '';
  for (const s of sections(text)) {
    switch (s.kind) {
      case 'suite':
        suite = s.name;
        break;
      case 'test':
        run.tests.push(parseTest(suite, s.name, s.body));
        break;
      case 'suite-failure':
        run.suiteFailures.push({ suite: s.name, phase: s.phase! });
        break;
      case 'summary':
        run.summary = parseSummary(s.body);
        break;
    }
  }
  return run;
}

/** Counts per status. */
export function tally(tests: readonly CunitTest[]): Record<CunitStatus, number> {
  const out: Record<CunitStatus, number> = { passed: 0, failed: 0, skipped: 0 };
  for (const t of tests) out[t.status]++;
  return out;
}

/**
 * known-failures.txt: one test name per line ("Suite.Test", `*` matches any
 * run of characters), an optional "# reason" after it; blank and comment-only
 * lines are ignored.
 */
export interface KnownFailure {
  pattern: string;
  reason: string;
  matches(name: string): boolean;
}

export function parseKnownFailures(text: string): KnownFailure[] {
  const out: KnownFailure[] = [];
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const pattern = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (!pattern) continue;
    const reason = hash >= 0 ? raw.slice(hash + 1).trim() : '';
    const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    out.push({ pattern, reason, matches: (name) => re.test(name) });
  }
  return out;
}
