import { Rng } from "../rng.js";
import { InvariantViolation, ascii, concatBytes, type FuzzTarget } from "../target.js";

/** Target names `self-check-<trigger>`; kept out of TARGET_NAMES, so only --self-check runs them. */
export const SELF_CHECK_PREFIX = "self-check-";

/** Each trigger byte, and the finding kind the harness must report for it. */
export const SELF_CHECK_TRIGGERS = { T: "exception", I: "invariant", H: "hang", M: "memory", O: "crash" } as const;
export type SelfCheckTrigger = keyof typeof SELF_CHECK_TRIGGERS;

/** Where the trigger sits in each generated batch: reached once in a short campaign, not again after a restart. */
const TRIGGER_POSITION = 100;

/** Held between inputs, so a memory blow-up cannot be undone by the collector before it is measured. */
let retained: Buffer | undefined;

/**
 * A decoder broken on purpose. An input starting with the trigger byte fails (T throws a
 * TypeError, I breaks an invariant, H never returns, M allocates 100 MiB, O fills the heap until
 * the worker dies); everything else decodes. The pool holds harmless seeds only, and each
 * generated batch carries the trigger once, so a campaign meets it once.
 */
export function selfCheckTarget(trigger: SelfCheckTrigger): FuzzTarget {
  return {
    name: `${SELF_CHECK_PREFIX}${trigger}`,
    description: `a decoder broken on purpose: a ${SELF_CHECK_TRIGGERS[trigger]} on inputs starting with ${trigger}`,
    dictionary: [],
    maxInputBytes: 64,
    seeds: () => ["ok", "fine"].map(ascii),
    generate(seed, count) {
      const rng = new Rng(seed);
      const batch = Array.from({ length: count }, () => concatBytes([ascii(rng.pick(["a", "b", "c"])), rng.bytes(rng.below(12))]));
      if (count > TRIGGER_POSITION) batch[TRIGGER_POSITION] = concatBytes([ascii(trigger), rng.bytes(rng.below(12))]);
      return batch;
    },
    run(input) {
      if (input[0] !== trigger.charCodeAt(0)) return "ok";
      switch (trigger) {
        case "T": {
          const missing = undefined as unknown as { field: number };
          return String(missing.field);
        }
        case "I":
          throw new InvariantViolation("the decoded value broke its promise");
        case "H":
          for (;;) {
            // Spins until the watchdog terminates the worker.
          }
        case "M":
          retained = Buffer.alloc(100 * 1024 * 1024);
          return `ok:${retained.length}`;
        case "O": {
          // Many mid-sized arrays: the heap fills step by step, so the worker dies of its limit
          // (one allocation above the limit would abort the whole process instead).
          const hoard: number[][] = [];
          for (;;) hoard.push(new Array<number>(1 << 20).fill(hoard.length));
        }
      }
    },
  };
}
