import { describe, expect } from "vitest";
import { StorageError, type ObjectStore, type StagedRef, type TorrentLayout } from "@shoal/coordination";
import { expectRejection } from "./expect-error.js";
import { caseRegistry, type PortHarness } from "./harness.js";
import { randomInfoHash } from "./ids.js";
import { fileBytes, fileKey, multiFileLayout, pieceCount, pieceOf, singleFileLayout, type LayoutFixture } from "./object-store-layouts.js";

export interface ObjectStoreHarness extends PortHarness<ObjectStore> {
  /**
   * Every final file of the torrent that exists in the backend, read behind the port's back:
   * its path below the torrent's root joined with "/" (the empty string for a single-file
   * torrent) mapped to its size in bytes.
   */
  listFiles(store: ObjectStore, layout: TorrentLayout): Promise<Map<string, number>>;
  /**
   * Whether the store keeps the bytes of unselected files that share a piece with a selected one
   * (the filesystem store keeps them in a parts file, so such a piece can be rechecked and
   * served); a store that drops them reads them as undefined, and the case checks that instead.
   */
  readonly keepsUnselectedBytes: boolean;
  /**
   * Replaces the bytes of a final file behind the port's back (`path` as `listFiles` names it),
   * as an operator or another program changing a finished download would.
   */
  overwriteFile(store: ObjectStore, layout: TorrentLayout, path: string, bytes: Buffer): Promise<void>;
}

/** Cases every ObjectStore adapter must pass. */
export function objectStoreContract(harness: ObjectStoreHarness): void {
  describe(`ObjectStore contract: ${harness.name}`, () => {
    const { scenario, done } = caseRegistry(harness);

    const readAll = (store: ObjectStore, layout: TorrentLayout) => store.readRange(layout.infoHash, 0, layout.totalLength);

    async function writeAll(store: ObjectStore, f: ReturnType<typeof multiFileLayout>, order?: readonly number[]): Promise<void> {
      const pieces = order ?? Array.from({ length: pieceCount(f.layout) }, (_, i) => i);
      for (const i of pieces) await store.writePiece(f.layout.infoHash, i, pieceOf(f, i));
    }

    scenario("staged bytes round-trip per torrent, piece and attempt", async (store) => {
      const [ih, other] = [randomInfoHash(), randomInfoHash()];
      const refs: StagedRef[] = [
        { infoHash: ih, piece: 3, attempt: 1, workerId: "w1" },
        { infoHash: ih, piece: 3, attempt: 2, workerId: "w1" },
        { infoHash: ih, piece: 4, attempt: 1, workerId: "w1" },
        { infoHash: other, piece: 3, attempt: 1, workerId: "w1" },
        // End-game: another worker staging the same attempt gets its own copy.
        { infoHash: ih, piece: 3, attempt: 1, workerId: "w2" },
      ];
      const bytes = refs.map((_, i) => Buffer.alloc(100 + i, i + 1));
      for (const [i, ref] of refs.entries()) await store.putStaged(ref, new Uint8Array(bytes[i]!));
      // Writes are idempotent: the same bytes again change nothing.
      await store.putStaged(refs[0]!, bytes[0]!);
      for (const [i, ref] of refs.entries()) expect(Buffer.from(await store.getStaged(ref)).equals(bytes[i]!), `ref ${i}`).toBe(true);
    });

    scenario("getStaged of bytes never staged fails with NOT_FOUND", async (store) => {
      const ref = { infoHash: randomInfoHash(), piece: 0, attempt: 1, workerId: "w1" };
      await expectRejection(() => store.getStaged(ref), StorageError, "NOT_FOUND", "getStaged of nothing");
      await store.putStaged(ref, Buffer.from("abc"));
      await expectRejection(() => store.getStaged({ ...ref, attempt: 2 }), StorageError, "NOT_FOUND", "getStaged of another attempt");
    });

    scenario("deleteStaged removes the bytes and is idempotent", async (store) => {
      const ref = { infoHash: randomInfoHash(), piece: 1, attempt: 1, workerId: "w1" };
      const kept = { ...ref, attempt: 2 };
      await store.putStaged(ref, Buffer.from("first attempt"));
      await store.putStaged(kept, Buffer.from("second attempt"));
      await store.deleteStaged(ref);
      await expectRejection(() => store.getStaged(ref), StorageError, "NOT_FOUND", "getStaged after deleteStaged");
      await store.deleteStaged(ref);
      await store.deleteStaged({ ...ref, piece: 99 });
      expect(Buffer.from(await store.getStaged(kept)).toString()).toBe("second attempt");
    });

    scenario("pieces written across file boundaries read back byte for byte", async (store) => {
      const f = multiFileLayout();
      await store.openTorrent(f.layout);
      await writeAll(store, f, [2, 0, 1]);
      expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
      // a.bin's tail, the empty file, the padding and b.bin's head in one range.
      expect((await store.readRange(f.layout.infoHash, 8, 12))?.equals(f.payload.subarray(8, 20))).toBe(true);
      // b.bin's tail and c.txt's head.
      expect((await store.readRange(f.layout.infoHash, 34, 4))?.equals(f.payload.subarray(34, 38))).toBe(true);
      for (const file of f.layout.files) {
        const got = await store.readRange(f.layout.infoHash, file.offset, file.length);
        expect(got?.equals(fileBytes(f, file)), fileKey(file)).toBe(true);
      }
    });

    scenario("every piece written is reported durable by the time the whole torrent was written", async (store) => {
      const f = multiFileLayout();
      await store.openTorrent(f.layout);
      const reported: number[] = [];
      for (const i of [2, 0, 1]) reported.push(...(await store.writePiece(f.layout.infoHash, i, pieceOf(f, i))));
      expect([...new Set(reported)].sort((a, b) => a - b)).toEqual([0, 1, 2]);
      // What is reported durable reads back.
      expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
    });

    scenario("abortTorrent keeps finished files and is idempotent", async (store) => {
      const f = multiFileLayout();
      await store.openTorrent(f.layout);
      await writeAll(store, f);
      await store.finalize(f.layout.infoHash);
      await store.abortTorrent(f.layout.infoHash);
      await store.abortTorrent(f.layout.infoHash);
      const expected = new Map(f.layout.files.filter((file) => !file.padding).map((file) => [fileKey(file), file.length]));
      expect(await harness.listFiles(store, f.layout)).toEqual(expected);
      expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
    });

    scenario("a file changed behind the store's back: the damaged pieces and those discardDamaged returns, written again, repair it", async (store) => {
      const f = multiFileLayout();
      const ih = f.layout.infoHash;
      await store.openTorrent(f.layout);
      await writeAll(store, f);
      await store.finalize(ih);
      const b = f.layout.files.find((file) => fileKey(file) === "sub/b.bin")!;
      const changed = Buffer.from(fileBytes(f, b));
      changed[0]! ^= 0xff;
      await harness.overwriteFile(store, f.layout, "sub/b.bin", changed);
      // A later job opens the torrent afresh, and its recheck reads every piece.
      await store.closeTorrent(ih);
      await store.openTorrent(f.layout);
      const damaged: number[] = [];
      for (let i = 0; i < pieceCount(f.layout); i++) {
        const got = await store.readRange(ih, i * f.layout.pieceLength, pieceOf(f, i).length);
        if (got && !got.equals(pieceOf(f, i))) damaged.push(i);
      }
      expect(damaged).toEqual([1]);
      const refetch = await store.discardDamaged(ih, damaged);
      expect(refetch.filter((i) => damaged.includes(i))).toEqual([]);
      // Every other piece is still there to recheck and serve.
      for (let i = 0; i < pieceCount(f.layout); i++) {
        if (damaged.includes(i) || refetch.includes(i)) continue;
        expect((await store.readRange(ih, i * f.layout.pieceLength, pieceOf(f, i).length))?.equals(pieceOf(f, i)), `piece ${i}`).toBe(true);
      }
      for (const i of [...damaged, ...refetch]) await store.writePiece(ih, i, pieceOf(f, i));
      await store.finalize(ih);
      expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
      expect(await harness.listFiles(store, f.layout)).toEqual(new Map([["a.bin", 10], ["empty.txt", 0], ["sub/b.bin", 20], ["c.txt", 5]]));
      expect(await store.discardDamaged(ih, [])).toEqual([]);
    });

    scenario("padding reads as zeros", async (store) => {
      const f = multiFileLayout();
      await store.openTorrent(f.layout);
      await writeAll(store, f);
      const pad = f.layout.files.find((file) => file.padding)!;
      expect(await store.readRange(f.layout.infoHash, pad.offset, pad.length)).toEqual(Buffer.alloc(pad.length));
    });

    scenario("writing a piece again leaves the same bytes", async (store) => {
      const f = multiFileLayout();
      await store.openTorrent(f.layout);
      await writeAll(store, f);
      await writeAll(store, f, [1, 1, 2]);
      expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
    });

    scenario("readRange of bytes never written resolves undefined", async (store) => {
      const f = multiFileLayout();
      const ih = f.layout.infoHash;
      await store.openTorrent(f.layout);
      expect(await store.readRange(ih, 0, 10)).toBeUndefined();
      await store.writePiece(ih, 0, pieceOf(f, 0));
      expect((await store.readRange(ih, 0, 10))?.equals(f.payload.subarray(0, 10))).toBe(true);
      expect(await store.readRange(ih, 16, 16)).toBeUndefined();
      await store.writePiece(ih, 1, pieceOf(f, 1));
      // sub/b.bin has its first 16 bytes only, and c.txt nothing.
      expect((await store.readRange(ih, 16, 16))?.equals(f.payload.subarray(16, 32))).toBe(true);
      expect(await store.readRange(ih, 16, 20)).toBeUndefined();
      expect(await store.readRange(ih, 36, 5)).toBeUndefined();
      expect(await readAll(store, f.layout)).toBeUndefined();
    });

    scenario("finalize makes every non-padding file exist at its exact size, empty files included", async (store) => {
      const f = multiFileLayout();
      await store.openTorrent(f.layout);
      // Piece 2 (the tail of sub/b.bin and all of c.txt) never arrives.
      await writeAll(store, f, [0, 1]);
      await store.finalize(f.layout.infoHash);
      await store.finalize(f.layout.infoHash);
      const expected = new Map(f.layout.files.filter((file) => !file.padding).map((file) => [fileKey(file), file.length]));
      expect(await harness.listFiles(store, f.layout)).toEqual(expected);
      const got = await readAll(store, f.layout);
      expect(got?.subarray(0, 32).equals(f.payload.subarray(0, 32))).toBe(true);
    });

    scenario("a complete multi-file torrent finalizes to exactly its files", async (store) => {
      const f = multiFileLayout();
      await store.openTorrent(f.layout);
      await writeAll(store, f);
      await store.finalize(f.layout.infoHash);
      const expected = new Map(f.layout.files.filter((file) => !file.padding).map((file) => [fileKey(file), file.length]));
      expect(await harness.listFiles(store, f.layout)).toEqual(expected);
      expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
    });

    /** The multi-file layout with c.txt (which shares piece 2 with sub/b.bin) and empty.txt unselected. */
    function withSkippedFiles(): LayoutFixture {
      const base = multiFileLayout();
      const skip = new Set(["c.txt", "empty.txt"]);
      return { ...base, layout: { ...base.layout, files: base.layout.files.map((file) => ({ ...file, skipped: skip.has(fileKey(file)) })) } };
    }

    scenario("unselected files are never created", async (store) => {
      const f = withSkippedFiles();
      await store.openTorrent(f.layout);
      const reported: number[] = [];
      for (const i of [2, 0, 1]) reported.push(...(await store.writePiece(f.layout.infoHash, i, pieceOf(f, i))));
      // Piece 2 is durable once sub/b.bin's bytes are, whatever happens to c.txt's.
      expect([...new Set(reported)].sort((a, b) => a - b)).toEqual([0, 1, 2]);
      await store.finalize(f.layout.infoHash);
      expect(await harness.listFiles(store, f.layout)).toEqual(new Map([["a.bin", 10], ["sub/b.bin", 20]]));
      expect((await store.readRange(f.layout.infoHash, 0, 32))?.equals(f.payload.subarray(0, 32))).toBe(true);
    });

    scenario("bytes of unselected files in shared pieces read back when the store keeps them", async (store) => {
      const f = withSkippedFiles();
      await store.openTorrent(f.layout);
      await writeAll(store, f);
      await store.finalize(f.layout.infoHash);
      // sub/b.bin's bytes always read back; c.txt's only from a store that keeps them.
      expect((await store.readRange(f.layout.infoHash, 16, 20))?.equals(f.payload.subarray(16, 36))).toBe(true);
      const piece2 = await store.readRange(f.layout.infoHash, 32, 9);
      if (harness.keepsUnselectedBytes) {
        // The whole of piece 2 reads back (a recheck or an upload needs it), c.txt's bytes included.
        expect(piece2?.equals(f.payload.subarray(32, 41))).toBe(true);
        expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
      } else {
        expect(piece2).toBeUndefined();
      }
    });

    scenario("a single-file torrent lands at its name", async (store) => {
      const f = singleFileLayout();
      await store.openTorrent(f.layout);
      await writeAll(store, f);
      await store.finalize(f.layout.infoHash);
      expect(await harness.listFiles(store, f.layout)).toEqual(new Map([["", 37]]));
      expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
    });

    scenario("openTorrent is idempotent and closeTorrent keeps the data", async (store) => {
      const f = multiFileLayout();
      await store.openTorrent(f.layout);
      await writeAll(store, f);
      await store.openTorrent(f.layout);
      expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
      await store.closeTorrent(f.layout.infoHash);
      await store.openTorrent(f.layout);
      expect((await readAll(store, f.layout))?.equals(f.payload)).toBe(true);
    });

    scenario("torrent methods throw UNKNOWN_TORRENT before openTorrent", async (store) => {
      const f = multiFileLayout();
      const ih = f.layout.infoHash;
      await expectRejection(() => store.writePiece(ih, 0, pieceOf(f, 0)), StorageError, "UNKNOWN_TORRENT", "writePiece");
      await expectRejection(() => store.readRange(ih, 0, 4), StorageError, "UNKNOWN_TORRENT", "readRange");
      await expectRejection(() => store.finalize(ih), StorageError, "UNKNOWN_TORRENT", "finalize");
      await expectRejection(() => store.abortTorrent(ih), StorageError, "UNKNOWN_TORRENT", "abortTorrent");
    });

    done();
  });
}
