import { describe, expect, it } from "vitest";
import { RunWindows } from "../src/run-windows.js";

const sorted = (r: RunWindows) => ({
  started: [...r.started.view()].sort((a, b) => a - b),
  adjacent: [...r.adjacent.view()].sort((a, b) => a - b),
});

/** Twenty pieces in windows of four (0-4); every piece claimable, none started. */
function fresh(): RunWindows {
  const r = new RunWindows(20, 4);
  for (let i = 0; i < 20; i++) r.update(i, false, true);
  return r;
}

describe("RunWindows", () => {
  it("holds the started windows with a piece still to claim, and the windows next to them", () => {
    const r = fresh();
    expect(sorted(r)).toEqual({ started: [], adjacent: [] });
    r.update(9, true, false);
    expect(sorted(r)).toEqual({ started: [2], adjacent: [1, 3] });
    r.update(0, true, false);
    expect(sorted(r)).toEqual({ started: [0, 2], adjacent: [1, 3] });
    // Window 2 done piece by piece: it leaves `started` with its last claimable piece, and its
    // neighbours stay next to it.
    for (const i of [8, 10, 11]) r.update(i, true, false);
    expect(sorted(r)).toEqual({ started: [0], adjacent: [1, 3] });
  });

  it("drops a window with nothing left to claim, started or not", () => {
    const r = fresh();
    r.update(9, true, false);
    // Window 3's pieces are all claimed elsewhere: nothing to continue there.
    for (const i of [12, 13, 14, 15]) r.update(i, false, false);
    expect(sorted(r)).toEqual({ started: [2], adjacent: [1] });
    // The last window is short when the pieces do not fill it; its neighbour is found all the same.
    const s = new RunWindows(10, 4);
    for (let i = 0; i < 10; i++) s.update(i, false, true);
    s.update(9, true, false);
    expect(sorted(s)).toEqual({ started: [2], adjacent: [1] });
  });

  it("counts each piece once however often the same facts are reported, and forgets a window no longer started", () => {
    const r = fresh();
    for (let k = 0; k < 3; k++) r.update(5, true, false);
    expect(sorted(r)).toEqual({ started: [1], adjacent: [0, 2] });
    // A failed hash: the piece is missing again, claimable, and no longer started.
    r.update(5, false, true);
    expect(sorted(r)).toEqual({ started: [], adjacent: [] });
  });
});
