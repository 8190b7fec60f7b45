export { FsObjectStore } from "./fs-object-store.js";
export { FsTreeReader } from "./fs-tree-reader.js";
export { spansOfRange } from "./file-spans.js";
export type { Span } from "./file-spans.js";
export { FsMetadataKeeper } from "./fs-metadata-keeper.js";
