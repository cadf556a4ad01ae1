// What the browser scripts share: ports for their own servers
// (redis-server, x11vnc), which cannot pick a free port themselves, and the
// loop that runs their tests and prints "ok - NAME" or "FAILED - NAME".

import { readFileSync } from "node:fs";
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

/** A free port below the system's ephemeral range, for a server that is
 * restarted on the same address: a port the system picked is in that
 * range, and once its server is gone any outgoing connection may take it
 * as its own port, so that the restart fails with "address in use" (seen
 * in CI). */
export async function restartablePort() {
  const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  const from = Math.max(1024, low - 12000);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + Math.floor(Math.random() * (low - from));
    const free = await new Promise((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port found between ${from} and ${low}`);
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
