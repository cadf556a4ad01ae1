// Drives the example pages in headless Chromium, as a person would: two
// chat windows talking (on one server, and on two sharing a room through
// Redis, a late joiner shown what was said, a bad room explained, Leave), a chat page joining again after its server restarts, a push reaching an open page (and a topic's page
// reached by its own curl hint), a log line appearing (and the tail page saying
// its file is missing or was truncated)
// on the tail page, an echo coming back (and again after its server
// restarts), the bridge's terminal page reaching TCP and UDP services
// (switching between them, saying when a UDP service is down or silent,
// and offering only TCP under docs/bridge.md's command-line recipe). Run by
// tests/browser_pages.rs with
// the folder of the built examples; prints "N passed, N failed" and exits
// non-zero on any failure. Screenshots go to SCREENSHOTS (if set).

import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { connect as tcpConnect } from "node:net";
import { freePort, restartablePort, runTests } from "./harness.mjs";
import { createSocket } from "node:dgram";
import { chromium } from "playwright-core";

const examples = process.argv[2];
const screenshots = process.env.SCREENSHOTS;
// ONLY=words runs only the tests whose name holds them (while working on one).
const only = process.env.ONLY;
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

const bridgeWeb = fileURLToPath(new URL("../../examples/bridge", import.meta.url));

/** Starts switchyard-bridge serving the terminal page, with a config of
 * text routes `[path, target, ...more lines]`; resolves to its base URL. */
async function bridge(routes) {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bridge-page-"));
  const config = join(dir, "bridge.toml");
  const lines = ["[[listener]]", 'listen = "ws://127.0.0.1:0"', `web = ${JSON.stringify(bridgeWeb)}`];
  for (const [path, target, ...more] of routes) {
    lines.push("[[listener.route]]", `path = ${JSON.stringify(path)}`, `target = ${JSON.stringify(target)}`, "text = true", ...more);
  }
  writeFileSync(config, lines.join("\n") + "\n");
  return "http://" + await listening(join(examples, "..", "switchyard-bridge"), ["--config", config]);
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

  async "a late chat joiner sees what was said, a bad room is explained, and Leave goes back to the form"() {
    const base = await start("ws_chat", []);
    const context = await browser.newContext();
    const [alice, bob] = [await context.newPage(), await context.newPage()];
    await alice.goto(base + "/?room=late");
    await alice.fill("#name", "Alice");
    await alice.click("button[type=submit]");
    await alice.waitForSelector("#chat:not([hidden])");
    for (const text of ["said before Bob came", "and more"]) {
      await alice.fill("#text", text);
      await alice.press("#text", "Enter");
      await alice.locator("#log").getByText(text).waitFor();
    }
    await bob.goto(base + "/?room=late");
    await bob.fill("#name", "Bob");
    await bob.click("button[type=submit]");
    await bob.locator("#log .divider", { hasText: "earlier in late" }).waitFor();
    await bob.locator("#log .earlier").getByText("said before Bob came").waitFor();
    await bob.locator("#log .earlier").getByText("and more").waitFor();
    await bob.locator("#log").getByText("Bob joined").waitFor();
    await shot(bob, "chat-history");
    // Leave: back to the form, and the others are told.
    await bob.click("#leave");
    await bob.waitForSelector("#join:not([hidden])");
    await bob.locator("#refused", { hasText: "You left room late." }).waitFor();
    await alice.locator("#log").getByText("Bob left").waitFor();
    await alice.locator("#members li", { hasText: "Bob" }).waitFor({ state: "detached" });
    // A bad room is refused saying which and why; another room works.
    await bob.fill("#room-name", "no spaces");
    await bob.click("button[type=submit]");
    await bob.locator("#refused", { hasText: 'bad room "no spaces": rooms are 1-128 of A-Z a-z 0-9 . _ -' }).waitFor();
    await shot(bob, "chat-bad-room");
    await bob.fill("#room-name", "other");
    await bob.click("button[type=submit]");
    await bob.waitForSelector("#chat:not([hidden])");
    await bob.locator("#room", { hasText: "other" }).waitFor();
    if (!bob.url().endsWith("?room=other")) throw new Error("the URL did not follow the room: " + bob.url());
    const shown = await bob.textContent("#log");
    if (shown.includes("said before Bob came")) throw new Error("room other shows room late's log: " + shown);
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
    // A late joiner on the first server is shown what was said on both.
    const carol = await context.newPage();
    await carol.goto(first + "/?room=shared");
    await carol.fill("#name", "Carol");
    await carol.click("button[type=submit]");
    await carol.locator("#log .earlier").getByText("from the first server").waitFor();
    await carol.locator("#log .earlier").getByText("and back from the second").waitFor();
    await shot(carol, "chat-two-servers-history");
    await context.close();
  },

  async "a chat page joins again when its server restarts"() {
    const program = join(examples, "ws_chat");
    const addr = await listening(program, ["127.0.0.1:" + await restartablePort()]);
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

  async "a push page for a topic names it, and its curl hint reaches it"() {
    const base = await start("ws_push", []);
    const page = await browser.newPage();
    await page.goto(base + "/?topics=news,no%20spaces");
    await page.getByText("connected", { exact: true }).waitFor();
    const watching = await page.textContent("#watching");
    if (watching !== "(watching topic news)") throw new Error("the page says " + watching);
    await page.locator("#ignored", { hasText: 'not watched: "no spaces"' }).waitFor();
    // Pushed to the default topic: not this page's.
    await fetch(base + "/push", { method: "POST", body: "for the default topic" });
    // The hint, run as a person would paste it.
    const hint = await page.textContent("#hint");
    if (hint !== `curl -d 'hello' ${base}/push/news`) throw new Error("the hint is " + hint);
    const curl = spawn("sh", ["-c", hint], { stdio: ["ignore", "pipe", "pipe"] });
    let [reply, said] = ["", ""];
    curl.stdout.on("data", (chunk) => { reply += chunk; });
    curl.stderr.on("data", (chunk) => { said = (said + chunk).slice(-2000); });
    await new Promise((resolve) => curl.once("exit", resolve));
    if (!reply.includes('"delivered":1,')) throw new Error(`the hint's push answered ${reply} (${said})`);
    await page.locator("#messages").getByText("hello").waitFor();
    const shown = await page.textContent("#messages");
    if (shown.includes("for the default topic")) throw new Error("a news page shows the default topic: " + shown);
    await shot(page, "push-topic");
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
    await page.locator("#file", { hasText: file }).waitFor();
    appendFileSync(file, "appended while watching\n");
    await page.locator("#log").getByText("appended while watching").waitFor();
    await shot(page, "tail");
    await page.close();
  },

  async "the tail page says when its file is missing, and a page opened after a truncation shows only the new lines"() {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-tail-"));
    const file = join(dir, "later.log");
    const base = await start("ws_tail", ["--file", file, "--poll-ms", "50"]);
    const page = await browser.newPage();
    await page.goto(base + "/");
    await page.locator("#log .problem", { hasText: `cannot read ${file}: it does not exist; waiting for it` }).waitFor();
    await page.locator("#file", { hasText: file }).waitFor();
    await shot(page, "tail-missing");
    writeFileSync(file, "old line\n");
    await page.locator("#log").getByText("old line").waitFor();
    writeFileSync(file, "");
    await page.locator("#log .notice", { hasText: "was truncated" }).waitFor();
    appendFileSync(file, "new line\n");
    await page.locator("#log").getByText("new line").waitFor();
    const fresh = await browser.newPage();
    await fresh.goto(base + "/");
    await fresh.locator("#log").getByText("new line").waitFor();
    const shown = await fresh.textContent("#log");
    if (shown.includes("old line")) throw new Error("a page opened after the truncation shows " + shown);
    await shot(page, "tail-truncated");
    await page.close();
    await fresh.close();
  },

  async "the bridge page reaches a TCP line service and a UDP service, and switches between them"() {
    const tcp = await listening(join(examples, "tcp_server"), ["127.0.0.1:0", "--lines"]);
    const udp = await listening(join(examples, "udp_server"), ["127.0.0.1:0"]);
    const base = await bridge([["/term", `tcp://${tcp}`, 'framing = "lines"'], ["/udp", `udp://${udp}`]]);
    const page = await browser.newPage();
    // Opened on /udp by its URL: choosing TCP then goes to TCP.
    await page.goto(base + "/?service=/udp");
    await page.getByText("[connected to /udp]").waitFor();
    await page.fill("#line", "hello over udp");
    await page.press("#line", "Enter");
    await page.locator("#screen .received").getByText("hello over udp").waitFor();
    await page.selectOption("#service", "/term");
    await page.getByText("[connected to /term]").waitFor();
    await page.fill("#line", "hello over tcp");
    await page.press("#line", "Enter");
    await page.locator("#screen .received").getByText("hello over tcp").waitFor();
    if (!page.url().endsWith("?service=%2Fterm")) throw new Error("the URL did not follow the choice: " + page.url());
    await page.selectOption("#service", "/udp");
    await page.getByText("[connected to /udp]").nth(1).waitFor();
    await page.fill("#line", "udp again");
    await page.press("#line", "Enter");
    // Once the echo is back, the old sockets have long closed: each one's
    // close came before the next one's "connected", never after.
    await page.locator("#screen .received").getByText("udp again").waitFor();
    const lines = await page.$$eval("#screen div", (divs) => divs.map((d) => d.textContent));
    const events = lines.filter((l) => /^\[(connected|closed)/.test(l));
    const expected = ["[connected to /udp]", "[closed /udp: switching to /term]", "[connected to /term]",
                      "[closed /term: switching to /udp]", "[connected to /udp]"];
    if (JSON.stringify(events) !== JSON.stringify(expected)) throw new Error("connects and closes in this order: " + JSON.stringify(lines));
    await shot(page, "bridge");
    await page.close();
  },

  async "the bridge page says so when the UDP service is down or silent"() {
    const tcp = await listening(join(examples, "tcp_server"), ["127.0.0.1:0", "--lines"]);
    // Nothing listens there: the kernel answers ICMP port unreachable.
    const down = await freePort();
    let base = await bridge([["/term", `tcp://${tcp}`, 'framing = "lines"'], ["/udp", `udp://127.0.0.1:${down}`]]);
    const page = await browser.newPage();
    await page.goto(base + "/?service=/udp");
    await page.getByText("[connected to /udp]").waitFor();
    await page.fill("#line", "anyone there?");
    await page.press("#line", "Enter");
    await page.locator("#screen .problem", { hasText: "[closed 1014" }).getByText("Connection refused").waitFor();
    await page.locator("#screen .problem", { hasText: "the service behind /udp did not answer" }).waitFor();
    await page.fill("#line", "and now?");
    await page.press("#line", "Enter");
    await page.locator("#screen .problem", { hasText: "[not sent: not connected to /udp; press Connect]" }).waitFor();
    await shot(page, "bridge-udp-down");
    // A service that takes datagrams and never answers: the page says that
    // nothing came back.
    const silent = createSocket("udp4");
    await new Promise((resolve) => silent.bind(0, "127.0.0.1", resolve));
    const received = [];
    silent.on("message", (msg) => received.push(msg.toString()));
    base = await bridge([["/term", `tcp://${tcp}`, 'framing = "lines"'], ["/udp", `udp://127.0.0.1:${silent.address().port}`]]);
    await page.goto(base + "/?service=/udp");
    await page.getByText("[connected to /udp]").waitFor();
    await page.fill("#line", "into the void");
    await page.press("#line", "Enter");
    await page.locator("#screen .problem", { hasText: "[nothing came back from /udp within 3 s]" }).waitFor({ timeout: 10000 });
    silent.close();
    if (!received.includes("into the void")) throw new Error("the silent service got " + JSON.stringify(received));
    await shot(page, "bridge-udp-silent");
    await page.close();
  },

  async "the bridge page from the command-line recipe offers only its TCP service"() {
    // docs/bridge.md, "Try it": the bridge from the command line only, one route.
    const tcp = await listening(join(examples, "tcp_server"), ["127.0.0.1:0", "--lines"]);
    const addr = await listening(join(examples, "..", "switchyard-bridge"),
      ["ws://127.0.0.1:0/term", `tcp://${tcp}`, "--framing", "lines", "--text", "--web", bridgeWeb]);
    const page = await browser.newPage();
    await page.goto("http://" + addr.replace(/\/.*$/, "") + "/");
    await page.getByText("[/udp is not served by this bridge: it has no route there]").waitFor();
    await page.getByText("[connected to /term]").waitFor();
    if (!await page.locator("#service option[value='/udp']").isDisabled()) throw new Error("/udp is still offered");
    await page.fill("#line", "only tcp here");
    await page.press("#line", "Enter");
    await page.locator("#screen .received").getByText("only tcp here").waitFor();
    await shot(page, "bridge-command-line");
    await page.close();
  },

  async "with --deflate, Chromium agrees permessage-deflate and messages come back both ways"() {
    const addr = await listening(join(examples, "ws_echo_server"), ["127.0.0.1:0", "--deflate"]);
    const page = await browser.newPage();
    await page.goto("http://" + addr + "/");
    // The page works as it does without compression.
    await page.getByText("connected", { exact: false }).first().waitFor();
    const words = "compress me, ".repeat(100);
    await page.fill("#message", words);
    await page.press("#message", "Enter");
    await page.getByText("< " + words.trim()).waitFor();
    // And what the browser agreed, from a WebSocket of its own.
    const { extensions, echoed } = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      const long = JSON.stringify({ text: "the same words ".repeat(5000) });
      const reply = new Promise((resolve) => { ws.onmessage = (e) => resolve(e.data); });
      ws.send(long);
      const echoed = (await reply) === long;
      ws.close();
      return { extensions: ws.extensions, echoed };
    }, "ws://" + addr + "/ws");
    if (!extensions.startsWith("permessage-deflate")) throw new Error("agreed: " + JSON.stringify(extensions));
    if (!echoed) throw new Error("a 75 KB JSON message did not come back as sent");
    await page.close();
  },

  async "the echo page gets its message back, and reconnects after a restart"() {
    const program = join(examples, "ws_echo_server");
    const addr = await listening(program, ["127.0.0.1:" + await restartablePort()]);
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

const { passed, failed } = await runTests(tests, only);
await browser.close();
for (const child of children) child.kill();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
