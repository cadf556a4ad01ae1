// What the browser scripts share: ports for their own servers
// (redis-server, x11vnc), which cannot pick a free port themselves, and the
// loop that runs their tests and prints "ok - NAME" or "FAILED - NAME".

import { createServer } from "node:net";

/** A port nobody listens on now (the system picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs each test (only those whose name holds `only`, if given), printing
 * a line for each; resolves to how many passed and failed. */
export async function runTests(tests, only) {
  let passed = 0;
  let failed = 0;
  for (const [name, test] of Object.entries(tests)) {
    if (only && !name.includes(only)) continue;
    try {
      await test();
      console.log(`ok - ${name}`);
      passed += 1;
    } catch (e) {
      console.log(`FAILED - ${name}: ${e.message}`);
      failed += 1;
    }
  }
  return { passed, failed };
}
