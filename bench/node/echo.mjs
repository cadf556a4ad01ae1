// A WebSocket echo server on Node's ws: every message back as it came.
// Usage: node echo.mjs PORT
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2]), perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on("listening", () => console.log(`listening on 127.0.0.1:${wss.address().port}`));
