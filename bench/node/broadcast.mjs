// A broadcast server on Node's ws, like switchyard's ws_push: WebSockets at
// /ws, and POST /push sends the body to every one of them.
// Usage: node broadcast.mjs PORT [--deflate] [--envelope]
// --deflate: permessage-deflate (deflate_options.mjs).
// --envelope: each body in ws_push's JSON envelope (topic, offset, epoch,
// data), made once per push, so that both send the same bytes.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";
import { perMessageDeflate } from "./deflate_options.mjs";

const envelope = process.argv.includes("--envelope");
const epoch = `${Date.now().toString(16)}-1`;
let offset = 0;

const server = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/push") {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    // One buffer for every client, sent as text (as ws's own broadcast
    // example does): no per-client string conversion.
    let body = Buffer.concat(chunks);
    if (envelope) {
      offset += 1;
      const data = JSON.stringify(body.toString("utf8"));
      body = Buffer.from(`{"topic":"default","offset":${offset},"epoch":"${epoch}","data":${data}}`);
    }
    let delivered = 0;
    for (const client of wss.clients) {
      if (client.readyState === 1) {
        client.send(body, { binary: false });
        delivered += 1;
      }
    }
    res.writeHead(200, { "content-type": "application/json", connection: "close" });
    res.end(JSON.stringify({ delivered }));
  });
});
const wss = new WebSocketServer({
  server,
  path: "/ws",
  perMessageDeflate: perMessageDeflate(process.argv.includes("--deflate")),
});
server.listen(Number(process.argv[2]), "127.0.0.1", () => console.log(`listening on 127.0.0.1:${server.address().port}`));
