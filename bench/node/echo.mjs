// A WebSocket echo server on Node's ws: every message back as it came.
// Usage: node echo.mjs PORT [--deflate]
// --deflate: permessage-deflate with the options ws's README shows for
// tuning it (perMessageDeflate.js), the threshold set to switchyard's.
import { WebSocketServer } from "ws";
import { perMessageDeflate } from "./deflate_options.mjs";

const wss = new WebSocketServer({
  host: "127.0.0.1",
  port: Number(process.argv[2]),
  perMessageDeflate: perMessageDeflate(process.argv.includes("--deflate")),
});
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on("listening", () => console.log(`listening on 127.0.0.1:${wss.address().port}`));
