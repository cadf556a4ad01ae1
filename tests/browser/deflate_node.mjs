// Interop for permessage-deflate with Node's `ws` (not ours), perMessageDeflate on.
//
//   node deflate_node.mjs client ws://HOST:PORT/ws MAX_MESSAGE
//     Checks that compression is agreed with switchyard's server and that
//     messages from empty to MAX_MESSAGE, text and binary, come back; then
//     that a compressed message over the maximum closes with 1009. Prints one
//     line per check and "N passed, N failed"; exits 1 on any failure.
//
//   node deflate_node.mjs server
//     Serves an echo with compression on a free port and prints
//     "listening on HOST:PORT"; a message "extensions?" is answered with the
//     extensions agreed on that connection.

import WebSocket, { WebSocketServer } from "ws";

const [mode, url, max] = process.argv.slice(2);

function open(url, options) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function next(ws) {
  return new Promise((resolve, reject) => {
    ws.once("message", (data, isBinary) => resolve({ data, isBinary }));
    ws.once("close", (code) => reject(new Error("closed " + code)));
  });
}

async function client() {
  const results = [];
  async function check(name, fn) {
    try {
      await fn();
      results.push(true);
      console.log(`ok - ${name}`);
    } catch (e) {
      results.push(false);
      console.log(`FAILED - ${name}: ${e.message}`);
    }
  }
  const maxMessage = Number(max);
  const json = '{"topic":"news","text":"the same words again and again"},';
  for (const params of [
    true,
    { threshold: 0 },
    { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
    { threshold: 0, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
  ]) {
    await check(`echo, perMessageDeflate ${JSON.stringify(params)}`, async () => {
      const ws = await open(url, { perMessageDeflate: params, maxPayload: 0 });
      if (!ws.extensions.includes("permessage-deflate")) throw new Error("not agreed: " + ws.extensions);
      for (const size of [0, 1, 200, 4096, 65536, maxMessage]) {
        const text = json.repeat(Math.ceil(size / json.length) + 1).slice(0, size);
        for (const [message, binary] of [[text, false], [Buffer.from(text), true]]) {
          const reply = next(ws);
          ws.send(message, { binary, compress: true });
          const { data, isBinary } = await reply;
          if (isBinary !== binary || data.toString() !== text) throw new Error(`${size} bytes, binary ${binary}`);
        }
      }
      ws.close();
    });
  }
  await check("a compressed message over the maximum closes with 1009", async () => {
    const ws = await open(url, { perMessageDeflate: { threshold: 0 }, maxPayload: 0 });
    const closed = new Promise((resolve) => ws.once("close", resolve));
    ws.send(Buffer.alloc(maxMessage + 1), { compress: true });
    const code = await closed;
    if (code !== 1009) throw new Error("closed with " + code);
  });
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

function server() {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: { threshold: 0 }, maxPayload: 0 });
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
      if (!isBinary && data.toString() === "extensions?") ws.send(ws.extensions);
      else ws.send(data, { binary: isBinary });
    });
  });
  wss.on("listening", () => {
    const { address, port } = wss.address();
    console.log(`listening on ${address}:${port}`);
  });
}

if (mode === "client") await client();
else server();
