import { it } from "vitest";

/**
 * What a contract suite needs from the adapter under test. Each case gets a fresh port from
 * `setup` and hands it to `teardown` afterwards, also when the case failed, so an adapter backed
 * by a server can give each case its own key prefix, subjects or bucket and remove them.
 */
export interface PortHarness<P> {
  /** Shown in the suite title, e.g. "MemoryClaimTable" or "RedisClaimTable". */
  readonly name: string;
  setup(): Promise<P>;
  /** Closes the port (it may already be closed) and removes what the case left behind. */
  teardown(port: P): Promise<void>;
  /**
   * Titles of cases this adapter is known to fail. They run with `it.fails`, so the run stays
   * green while the bug is open and turns red on the day it is fixed: then drop the entry.
   */
  readonly knownFailures?: readonly string[];
}

export interface CaseRegistry<P> {
  /** Registers one case: a fresh port, the body, then teardown. */
  readonly scenario: (title: string, body: (port: P) => Promise<void>) => void;
  /** Fails the suite when `knownFailures` names a case that does not exist (a typo or a renamed case). */
  readonly done: () => void;
}

export function caseRegistry<P>(harness: PortHarness<P>): CaseRegistry<P> {
  const known = new Set(harness.knownFailures ?? []);
  const titles = new Set<string>();
  const scenario = (title: string, body: (port: P) => Promise<void>): void => {
    if (titles.has(title)) throw new Error(`two cases are titled "${title}"`);
    titles.add(title);
    const run = async (): Promise<void> => {
      const port = await harness.setup();
      try {
        await body(port);
      } finally {
        await harness.teardown(port);
      }
    };
    if (known.has(title)) it.fails(title, run);
    else it(title, run);
  };
  const done = (): void => {
    for (const title of known) {
      if (!titles.has(title)) throw new Error(`knownFailures of ${harness.name} names "${title}", which is no case of this suite`);
    }
  };
  return { scenario, done };
}
