#!/usr/bin/env node
// Entry point of the `shoal` command; the TypeScript build puts the program in dist/.
import("../dist/main.js").catch((err) => {
  process.stderr.write(`shoal: cannot start (${err && err.message}); run \`npm run build\` first\n`);
  process.exit(1);
});
