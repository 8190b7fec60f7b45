/**
 * Delta debugging (Zeller's ddmin, complement-only) over bytes: drop ever smaller chunks as long
 * as the input still fails the same way, then try each remaining byte as a plain '0', which
 * makes a committed regression input easier to read. `fails` must be deterministic.
 * `onSmaller` hears every improvement, so a minimisation cut short still leaves its best input.
 */
export function minimise(
  input: Uint8Array,
  fails: (candidate: Uint8Array) => boolean,
  onSmaller: (smaller: Uint8Array) => void,
  budget: number,
): Uint8Array {
  let best = input;
  let tries = 0;
  let chunks = 2;
  while (best.length >= 2 && tries < budget) {
    const size = Math.ceil(best.length / chunks);
    let reduced = false;
    for (let start = 0; start < best.length && tries < budget; start += size) {
      const candidate = new Uint8Array(best.length - Math.min(size, best.length - start));
      candidate.set(best.subarray(0, start));
      candidate.set(best.subarray(start + size), start);
      tries++;
      if (fails(candidate)) {
        best = candidate;
        onSmaller(best);
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunks >= best.length) break;
      chunks = Math.min(best.length, chunks * 2);
    }
  }
  const ZERO = 0x30;
  for (let i = 0; i < best.length && tries < budget; i++) {
    if (best[i] === ZERO) continue;
    const candidate = best.slice();
    candidate[i] = ZERO;
    tries++;
    if (fails(candidate)) {
      best = candidate;
      onSmaller(best);
    }
  }
  return best;
}
