// The guest's serial console, as /init (scripts/kernel-guest/init.sh) writes
// it: `TSGT-STEP <name> ok [details]`, `TSGT-DISCOVERED <portal>,<tpgt> <iqn>`
// and one `TSGT-RESULT PASS` or `TSGT-RESULT FAIL <why>`. Kernel messages may
// sit between those lines; a printk can even land in front of one on the
// same line, so markers are matched anywhere in a line.

export interface GuestStep {
  name: string;
  details: string;
}

export type GuestResult = { pass: true } | { pass: false; why: string };

export interface GuestConsole {
  steps: GuestStep[];
  discovered: string[];
  result: GuestResult | undefined;
}

const STEP = /TSGT-STEP (\S+) ok(?: (.*))?$/;
const DISCOVERED = /TSGT-DISCOVERED (.+)$/;
const RESULT = /TSGT-RESULT (PASS|FAIL)(?: (.*))?$/;

export function parseConsole(text: string): GuestConsole {
  const out: GuestConsole = { steps: [], discovered: [], result: undefined };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const step = STEP.exec(line);
    if (step) {
      out.steps.push({ name: step[1], details: step[2] ?? '' });
      continue;
    }
    const disc = DISCOVERED.exec(line);
    if (disc) {
      out.discovered.push(disc[1].trim());
      continue;
    }
    const res = RESULT.exec(line);
    // The first verdict counts: nothing after it is from a healthy guest.
    if (res && out.result === undefined) {
      out.result = res[1] === 'PASS' ? { pass: true } : { pass: false, why: res[2] ?? '' };
    }
  }
  return out;
}

/** The details of step `name` (e.g. `size=268435456`), or undefined if the guest never got there. */
export function stepDetails(c: GuestConsole, name: string): string | undefined {
  return c.steps.find((s) => s.name === name)?.details;
}

/** `key=value` out of a step's details. */
export function detailValue(details: string | undefined, key: string): string | undefined {
  if (details === undefined) return undefined;
  for (const word of details.split(/\s+/)) {
    const eq = word.indexOf('=');
    if (eq > 0 && word.slice(0, eq) === key) return word.slice(eq + 1);
  }
  return undefined;
}
