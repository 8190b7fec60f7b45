/**
 * Read-only access to a torrent's files where a store lands them (`<dir>/<name>/<path>`, or
 * `s3://<bucket>/<prefix>/<name>/<path>`), found under the same names the store writes. It is how
 * a finished download is checked against the piece hashes: nothing is created, written or
 * trusted, and the store's own state (ledgers, parts files) is not consulted.
 *
 * A reader is made for one layout (`TorrentLayout`); files are named by their index in
 * `layout.files`. BEP 47 padding files are never read: their bytes are zeros by definition.
 */
export interface TreeReader {
  /** Where file `index` lives, for messages: a path, or an `s3://` URL. */
  locationOf(index: number): string;
  /**
   * The size of every file of the layout as found, by index: undefined for a file that does not
   * exist (or is not a regular file or object) and for padding files. One listing where the
   * backend has one (S3: `ceil(files / 1000)` LIST requests). Throws StorageError IO when the
   * backend cannot be read at all (a directory without permission, a bucket that is gone).
   */
  sizes(): Promise<readonly (number | undefined)[]>;
  /**
   * Exactly `length` bytes of file `index` from `offset`. Throws StorageError IO when the file is
   * gone or ends before `offset + length` (it changed since `sizes`), or the backend fails after
   * its retries.
   */
  read(index: number, offset: number, length: number): Promise<Buffer>;
  /** Releases open files and connections. */
  close(): Promise<void>;
}
