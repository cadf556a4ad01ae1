// Ports for the browser tests' own servers (redis-server, x11vnc), which
// cannot pick a free port themselves.

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
