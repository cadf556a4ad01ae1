// Drives the example pages in headless Chromium, as a person would: two
// chat windows talking (on one server, and on two sharing a room through
// Redis), a chat page joining again after its server restarts, a push reaching an open page, a log line appearing
// on the tail page, an echo coming back (and again after its server
// restarts), the bridge's terminal page reaching
// TCP and UDP services. Run by tests/browser_pages.rs with
// the folder of the built examples; prints "N passed, N failed" and exits
// non-zero on any failure. Screenshots go to SCREENSHOTS (if set).

import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { connect as tcpConnect, createServer } from "node:net";
import { chromium } from "playwright-core";

const examples = process.argv[2];
const screenshots = process.env.SCREENSHOTS;
const children = [];

/** Runs a program that prints `listening on [SCHEME://]ADDR`; resolves to ADDR. */
function listening(program, args) {
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      const match = /^listening on (?:[a-z]+:\/\/)?(.+)$/.exec(line);
      match ? resolve(match[1]) : reject(new Error(`${program} printed ${line}`));
    });
    child.once("exit", (code) => reject(new Error(`${program} exited with ${code}`)));
  });
}

/** Starts an example server; resolves to its http:// base URL. */
async function start(name, args) {
  return "http://" + await listening(join(examples, name), ["127.0.0.1:0", ...args]);
}

/** A port nobody listens on now (the system picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts Debian's redis-server on a free port; resolves to its URL. If it
 * exits (say the port was taken meanwhile) it is tried on another port, and
 * what it printed is in the error when it never answers. */
async function redis() {
  let printed = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let exited = false;
    child.once("exit", (code, signal) => { exited = true; printed += `(exited: ${code ?? signal})\n`; });
    child.once("error", (error) => { exited = true; printed += `(${error.message})\n`; });
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("data", (chunk) => { printed = (printed + chunk).slice(-2000); });
    }
    for (let i = 0; i < 200 && !exited; i++) {
      const up = await new Promise((resolve) => {
        const socket = tcpConnect(port, "127.0.0.1", () => { socket.end(); resolve(true); });
        socket.on("error", () => resolve(false));
      });
      if (up) return "redis://127.0.0.1:" + port;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGKILL");
  }
  throw new Error("redis-server did not start; it printed:\n" + printed);
}

async function shot(page, name) {
  if (screenshots) {
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, name + ".png") });
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const tests = {
  async "two chat pages see each other's messages"() {
    const base = await start("ws_chat", []);
    const context = await browser.newContext();
    const [alice, bob] = [await context.newPage(), await context.newPage()];
    for (const [page, name] of [[alice, "Alice"], [bob, "Bob"]]) {
      await page.goto(base + "/?room=rust");
      await page.fill("#name", name);
      await page.click("button[type=submit]");
      await page.waitForSelector("#chat:not([hidden])");
    }
    await alice.locator("#log").getByText("Bob joined").waitFor();
    await alice.fill("#text", "hello from Alice");
    await alice.press("#text", "Enter");
    await bob.locator("#log").getByText("hello from Alice").waitFor();
    await bob.fill("#text", "hi Alice");
    await bob.click("#send button");
    await alice.locator("#log").getByText("hi Alice").waitFor();
    // Both are listed as members, on both pages.
    for (const page of [alice, bob]) {
      await page.locator("#members li", { hasText: "Alice" }).waitFor();
      await page.locator("#members li", { hasText: "Bob" }).waitFor();
    }
    await shot(alice, "chat");
    // A second Alice is refused, and sent back to the form with the reason.
    const impostor = await context.newPage();
    await impostor.goto(base + "/?room=rust");
    await impostor.fill("#name", "Alice");
    await impostor.click("button[type=submit]");
    await impostor.locator("#refused").getByText("Alice is already in room rust").waitFor();
    await impostor.waitForSelector("#join:not([hidden])");
    await shot(impostor, "chat-name-taken");
    await context.close();
  },

  async "two chat servers sharing a room through Redis"() {
    const url = await redis();
    const [first, second] = [await start("ws_chat", ["--redis", url]), await start("ws_chat", ["--redis", url])];
    const context = await browser.newContext();
    const [alice, bob] = [await context.newPage(), await context.newPage()];
    for (const [page, base, name] of [[alice, first, "Alice"], [bob, second, "Bob"]]) {
      await page.goto(base + "/?room=shared");
      await page.fill("#name", name);
      await page.click("button[type=submit]");
      await page.waitForSelector("#chat:not([hidden])");
    }
    await alice.locator("#log").getByText("Bob joined").waitFor();
    await alice.fill("#text", "from the first server");
    await alice.press("#text", "Enter");
    await bob.locator("#log").getByText("from the first server").waitFor();
    await bob.fill("#text", "and back from the second");
    await bob.press("#text", "Enter");
    await alice.locator("#log").getByText("and back from the second").waitFor();
    for (const page of [alice, bob]) {
      await page.locator("#members li", { hasText: "Alice" }).waitFor();
      await page.locator("#members li", { hasText: "Bob" }).waitFor();
    }
    await shot(bob, "chat-two-servers");
    await context.close();
  },

  async "a chat page joins again when its server restarts"() {
    const program = join(examples, "ws_chat");
    const addr = await listening(program, ["127.0.0.1:0"]);
    const server = children[children.length - 1];
    const page = await browser.newPage();
    await page.goto("http://" + addr + "/?room=again");
    await page.fill("#name", "Carol");
    await page.click("button[type=submit]");
    await page.waitForSelector("#chat:not([hidden])");
    await page.locator("#log").getByText("Carol joined").waitFor();
    server.kill("SIGKILL");
    await page.locator("#status", { hasText: "joining again" }).waitFor();
    // The same address again: the page finds it by itself.
    await listening(program, [addr]);
    await page.locator("#status", { hasText: "back in the room" }).waitFor({ timeout: 20000 });
    await page.locator("#members li", { hasText: "Carol" }).waitFor();
    await page.fill("#text", "after the restart");
    await page.press("#text", "Enter");
    await page.locator("#log").getByText("after the restart").waitFor();
    await shot(page, "chat-rejoined");
    await page.close();
  },

  async "a push reaches an open push page"() {
    const base = await start("ws_push", []);
    const page = await browser.newPage();
    await page.goto(base + "/");
    await page.getByText("connected", { exact: true }).waitFor();
    const reply = await (await fetch(base + "/push", { method: "POST", body: "pushed from outside" })).text();
    if (JSON.parse(reply).delivered !== 1) throw new Error("push answered " + reply);
    await page.locator("#messages").getByText("pushed from outside").waitFor();
    await shot(page, "push");
    await page.close();
  },

  async "a line appended to the tailed file appears on the tail page"() {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-tail-"));
    const file = join(dir, "app.log");
    writeFileSync(file, "first line\n");
    const base = await start("ws_tail", ["--file", file, "--poll-ms", "50"]);
    const page = await browser.newPage();
    await page.goto(base + "/");
    await page.locator("#log").getByText("first line").waitFor();
    appendFileSync(file, "appended while watching\n");
    await page.locator("#log").getByText("appended while watching").waitFor();
    await shot(page, "tail");
    await page.close();
  },

  async "the bridge page reaches a TCP line service and a UDP service"() {
    const tcp = await listening(join(examples, "tcp_server"), ["127.0.0.1:0", "--lines"]);
    const udp = await listening(join(examples, "udp_server"), ["127.0.0.1:0"]);
    const web = fileURLToPath(new URL("../../examples/bridge", import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), "switchyard-bridge-page-"));
    const config = join(dir, "bridge.toml");
    writeFileSync(config, [
      "[[listener]]", 'listen = "ws://127.0.0.1:0"', `web = ${JSON.stringify(web)}`,
      "[[listener.route]]", 'path = "/term"', `target = "tcp://${tcp}"`, 'framing = "lines"', "text = true",
      "[[listener.route]]", 'path = "/udp"', `target = "udp://${udp}"`, "text = true", "",
    ].join("\n"));
    const base = "http://" + await listening(join(examples, "..", "switchyard-bridge"), ["--config", config]);
    const page = await browser.newPage();
    await page.goto(base + "/");
    await page.getByText("[connected to /term]").waitFor();
    await page.fill("#line", "hello over tcp");
    await page.press("#line", "Enter");
    await page.locator("#screen .received").getByText("hello over tcp").waitFor();
    await page.selectOption("#service", "/udp");
    await page.getByText("[connected to /udp]").waitFor();
    await page.fill("#line", "hello over udp");
    await page.press("#line", "Enter");
    await page.locator("#screen .received").getByText("hello over udp").waitFor();
    await shot(page, "bridge");
    await page.close();
  },

  async "the echo page gets its message back, and reconnects after a restart"() {
    const program = join(examples, "ws_echo_server");
    const addr = await listening(program, ["127.0.0.1:0"]);
    const server = children[children.length - 1];
    const page = await browser.newPage();
    await page.goto("http://" + addr + "/");
    await page.getByText("connected", { exact: false }).first().waitFor();
    // A long unbroken message stays inside its box.
    const long = "x".repeat(300);
    await page.fill("#message", long);
    await page.press("#message", "Enter");
    await page.getByText("< " + long).waitFor();
    const overflows = await page.$eval("#log", (log) => log.scrollWidth > log.clientWidth);
    if (overflows) throw new Error("a long message runs out of the log's box");
    // SIGTERM: the page is told 1001, and finds the server again.
    server.kill("SIGTERM");
    await page.getByText("closed (1001").waitFor();
    await listening(program, [addr]);
    await page.locator(".status", { hasText: /^.*connected$/ }).nth(1).waitFor({ timeout: 20000 });
    await page.fill("#message", "echo me");
    await page.press("#message", "Enter");
    await page.getByText("< echo me").waitFor();
    await shot(page, "echo");
    await page.close();
  },
};

let passed = 0;
let failed = 0;
for (const [name, test] of Object.entries(tests)) {
  try {
    await test();
    console.log(`ok - ${name}`);
    passed += 1;
  } catch (e) {
    console.log(`FAILED - ${name}: ${e.message}`);
    failed += 1;
  }
}
await browser.close();
for (const child of children) child.kill();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
