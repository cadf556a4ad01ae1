// noVNC, the real thing, through switchyard-bridge: a VNC server from
// Debian (x11vnc on an Xvfb display whose root window is painted in
// squares by xsetroot), the bridge relaying WebSocket to its RFB port
// and serving the page, and noVNC (@novnc/novnc from npm, pinned in
// package-lock.json) in headless Chromium. The page is built here as
// noVNC's own vnc_lite.html is (the npm package holds noVNC's library,
// core/ and vendor/, not the app): a folder with that page and the
// package's files, given to the bridge with --web, so everything the
// browser loads comes from the bridge.
//
// Checks: noVNC connects at its default path /websockify and the canvas
// shows the remote desktop (every pixel the colour of its square, read
// back with getImageData); a change on the remote desktop reaches the open
// page; a client offering the `binary` subprotocol is answered with it.
// Run by tests/novnc_through_bridge.rs with the folder of the built
// examples (the bridge is built next to it); prints "N passed, N failed"
// and exits non-zero on any failure, with what the servers, the bridge and
// the browser said. A screenshot goes to SCREENSHOTS/novnc.png (if set).

import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { connect as tcpConnect } from "node:net";
import { freePort, runTests } from "./harness.mjs";
import { chromium } from "playwright-core";

const examples = process.argv[2];
if (!examples) {
  console.log("usage: node novnc.mjs EXAMPLES_DIR (switchyard-bridge is in its parent)");
  process.exit(2);
}
const bridgeProgram = join(examples, "..", "switchyard-bridge");
const novnc = fileURLToPath(new URL("node_modules/@novnc/novnc", import.meta.url));
const screenshots = process.env.SCREENSHOTS;

const WIDTH = 800;
const HEIGHT = 600;
// What the remote desktop shows: first squares of 16 pixels, orange at the
// top left, then plain blue. square: 0 for one colour.
const SQUARES = { what: "orange and navy squares of 16 px", fg: [0xff, 0x88, 0x00], bg: [0x00, 0x22, 0x44], square: 16 };
const BLUE = { what: "plain blue", fg: [0x00, 0x66, 0xcc], bg: [0x00, 0x66, 0xcc], square: 0 };

// Every program started here, with the end of what it printed.
const children = [];
const consoleLines = [];

/** Starts `program`, keeping the last few KiB of its output for a failure. */
function run(name, program, args, options = {}) {
  const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  const entry = { name, child, output: "", exited: false };
  children.push(entry);
  const keep = (chunk) => { entry.output = (entry.output + chunk).slice(-4000); };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.once("error", (error) => { entry.exited = true; keep(`(${error.message})\n`); });
  child.once("exit", (code, signal) => { entry.exited = true; keep(`(exited: ${code ?? signal})\n`); });
  return entry;
}

/** Rejects after `ms` with `what` in the message, unless `promise` settles first. */
function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves to the first line of `stream` that `pattern` matches (its match),
 * rejecting if `entry`'s program exits first. */
function lineMatching(entry, stream, pattern) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream });
    lines.on("line", (line) => {
      const match = pattern.exec(line);
      if (match) { lines.close(); resolve(match); }
    });
    entry.child.once("exit", (code, signal) =>
      reject(new Error(`${entry.name} exited (${code ?? signal}) before printing ${pattern}`)));
    entry.child.once("error", reject);
  });
}

/** The first bytes a TCP server at `port` sends (up to `length`). */
function greeting(port, length) {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const socket = tcpConnect(port, "127.0.0.1");
    socket.on("data", (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= length) { socket.destroy(); resolve(got.subarray(0, length).toString("latin1")); }
    });
    socket.on("error", reject);
    socket.on("end", () => reject(new Error(`port ${port} closed after ${JSON.stringify(got.toString("latin1"))}`)));
  });
}

/** Xvfb on a display it picks itself (-displayfd: it writes the number once
 * it accepts clients); resolves to ":N". -noreset: without it, the server
 * resets when its last client leaves (xsetroot, before x11vnc comes), and
 * the root window is black again. */
async function xvfb() {
  const entry = run("Xvfb", "Xvfb",
    ["-displayfd", "3", "-screen", "0", `${WIDTH}x${HEIGHT}x24`, "-nolisten", "tcp", "-noreset"],
    { stdio: ["ignore", "pipe", "pipe", "pipe"] });
  const [, display] = await within(10000, "Xvfb printing its display",
    lineMatching(entry, entry.child.stdio[3], /^(\d+)$/));
  return ":" + display;
}

const hex = (rgb) => "#" + rgb.map((c) => c.toString(16).padStart(2, "0")).join("");

/** Paints the root window of `display` as `desktop` says (xsetroot, waited
 * for): a tile of four squares, as an X bitmap written to `dir`, repeated
 * from the top left corner; or one colour. */
async function paint(display, desktop, dir) {
  let args = ["-solid", hex(desktop.fg)];
  if (desktop.square) {
    const side = desktop.square * 2;
    const bytes = [];
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x += 8) {
        // A set bit is the foreground; the first pixel of a byte is its lowest bit.
        let byte = 0;
        for (let bit = 0; bit < 8; bit++) {
          if ((Math.floor((x + bit) / desktop.square) + Math.floor(y / desktop.square)) % 2 === 0) byte |= 1 << bit;
        }
        bytes.push("0x" + byte.toString(16).padStart(2, "0"));
      }
    }
    const file = join(dir, "squares.xbm");
    writeFileSync(file, `#define squares_width ${side}\n#define squares_height ${side}\n` +
      `static unsigned char squares_bits[] = {\n${bytes.join(", ")}};\n`);
    args = ["-bitmap", file, "-fg", hex(desktop.fg), "-bg", hex(desktop.bg)];
  }
  const entry = run("xsetroot", "xsetroot", args, { env: { ...process.env, DISPLAY: display } });
  const code = await within(10000, "xsetroot", new Promise((resolve) => entry.child.once("exit", resolve)));
  if (code !== 0) throw new Error(`xsetroot ${args.join(" ")} on ${display} failed: ${entry.output}`);
}

/** x11vnc serving `display` on a free port of 127.0.0.1 (no password, any
 * number of clients, one after another); resolves to the port once it
 * answers with an RFB greeting. -noipv6: with a taken IPv4 port, x11vnc
 * would otherwise listen on IPv6 alone and still print PORT=; this way it
 * exits, and is tried again on another port. */
async function x11vnc(display) {
  let said = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const entry = run("x11vnc", "x11vnc", ["-display", display, "-rfbport", String(port), "-localhost",
      "-noipv6", "-nopw", "-forever", "-shared", "-norc"]);
    try {
      const [, printed] = await within(15000, "x11vnc printing PORT=",
        lineMatching(entry, entry.child.stdout, /^PORT=(\d+)$/));
      if (Number(printed) !== port) throw new Error(`x11vnc listens on ${printed}, not ${port}`);
      const hello = await within(5000, "x11vnc's RFB greeting", greeting(port, 12));
      if (!hello.startsWith("RFB ")) throw new Error(`port ${port} greets with ${JSON.stringify(hello)}`);
      return port;
    } catch (error) {
      said += `attempt ${attempt + 1} on port ${port}: ${error.message}\n${entry.output}\n`;
      entry.child.kill("SIGKILL");
    }
  }
  throw new Error("x11vnc did not start; it printed:\n" + said);
}

/** switchyard-bridge listening on a port the system picks, every path to
 * `target`, serving `web`; resolves to its host:port. */
async function bridge(target, web) {
  const entry = run("switchyard-bridge", bridgeProgram, ["ws://127.0.0.1:0", target, "--web", web],
    { env: { ...process.env, RUST_LOG: "info" } });
  const [, addr] = await within(10000, "the bridge printing 'listening on'",
    lineMatching(entry, entry.child.stdout, /^listening on ws:\/\/(.+)$/));
  return addr;
}

/** The page, as noVNC's vnc_lite.html: connects to /websockify on the page's
 * own host, or to ?path=; offers the subprotocols in ?protocols= (none by
 * default, as noVNC's app). window.vnc tells the test how it is going. */
const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>noVNC through switchyard-bridge</title>
<link rel="icon" href="data:,">
<style>
  body { margin: 0; background: #222; color: #eee; font: 14px sans-serif; }
  #status { height: 24px; line-height: 24px; padding: 0 8px; background: #444; }
  #screen { width: ${WIDTH}px; height: ${HEIGHT}px; }
</style>
</head>
<body>
<div id="status">loading</div>
<div id="screen"></div>
<script type="module">
  import RFB from "./core/rfb.js";
  const params = new URLSearchParams(location.search);
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/" +
    (params.get("path") ?? "websockify");
  const protocols = params.get("protocols") ? params.get("protocols").split(",") : [];
  const status = document.getElementById("status");
  const vnc = window.vnc = { state: "connecting", name: "", reason: "" };
  status.textContent = "connecting to " + url;
  const rfb = new RFB(document.getElementById("screen"), url, { wsProtocols: protocols });
  rfb.addEventListener("desktopname", (e) => { vnc.name = e.detail.name; });
  rfb.addEventListener("connect", () => {
    vnc.state = "connected";
    status.textContent = "connected to " + (vnc.name || url);
  });
  rfb.addEventListener("disconnect", (e) => {
    vnc.state = "disconnected";
    vnc.reason = e.detail.clean ? "clean" : "not clean";
    status.textContent = "disconnected (" + vnc.reason + ")";
  });
  rfb.addEventListener("securityfailure", (e) => { vnc.reason = "security failure: " + e.detail.reason; });
  rfb.addEventListener("credentialsrequired", () => { vnc.reason = "asked for credentials"; });
</script>
</body>
</html>
`;

/** A folder to serve, in `parent`: the page and noVNC's files from the npm package. */
function webFolder(parent) {
  const dir = join(parent, "web");
  for (const part of ["core", "vendor"]) cpSync(join(novnc, part), join(dir, part), { recursive: true });
  writeFileSync(join(dir, "vnc.html"), PAGE);
  return dir;
}

/** What noVNC's canvas shows: its size, the share of its pixels that are
 * what `desktop` says (within 8 in each channel), and its centre pixel. */
function canvasStats(page, desktop) {
  return page.evaluate(({ fg, bg, square }) => {
    const canvas = document.querySelector("#screen canvas");
    if (!canvas) return { canvas: "none" };
    const { width, height } = canvas;
    if (width === 0 || height === 0) return { canvas: `${width}x${height}` };
    const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    let matching = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [r, g, b] = square && (Math.floor(x / square) + Math.floor(y / square)) % 2 ? bg : fg;
        const i = (y * width + x) * 4;
        if (Math.abs(data[i] - r) <= 8 && Math.abs(data[i + 1] - g) <= 8 && Math.abs(data[i + 2] - b) <= 8) matching++;
      }
    }
    const c = (Math.floor(height / 2) * width + Math.floor(width / 2)) * 4;
    return {
      canvas: `${width}x${height}`,
      share: matching / (width * height),
      centre: `rgb(${data[c]}, ${data[c + 1]}, ${data[c + 2]})`,
    };
  }, desktop);
}

/** Waits until noVNC's canvas is the remote screen's size and shows
 * `desktop` in (nearly) every pixel: a few at the squares' edges may be off
 * if the server sends them as JPEG, nothing more. */
async function waitForScreen(page, desktop, limit = 10000) {
  const started = Date.now();
  let stats;
  for (;;) {
    stats = await canvasStats(page, desktop);
    if (stats.canvas === `${WIDTH}x${HEIGHT}` && stats.share >= 0.98) return stats;
    if (Date.now() - started > limit) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`noVNC's canvas is not the remote desktop (${desktop.what}) after ${limit} ms: ` +
    JSON.stringify(stats));
}

/** Opens the page and waits for noVNC to say it is connected; resolves to the
 * page and the Sec-WebSocket-Protocol the bridge answered (null: none). */
async function open(base, query) {
  const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT + 24 } });
  page.on("console", (message) => consoleLines.push(`console.${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => consoleLines.push(`page error: ${error.message}`));
  // The 101's headers, as the browser saw them (DevTools protocol).
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const handshake = new Promise((resolve) => {
    cdp.on("Network.webSocketHandshakeResponseReceived", ({ response }) => resolve(response));
  });
  await page.goto(`${base}/vnc.html${query}`);
  await page.waitForFunction(() => window.vnc && window.vnc.state !== "connecting", null, { timeout: 15000 })
    .catch(() => { throw new Error("noVNC did not connect within 15 s"); });
  const vnc = await page.evaluate(() => window.vnc);
  if (vnc.state !== "connected") throw new Error(`noVNC did not connect: ${JSON.stringify(vnc)}`);
  const response = await within(5000, "the WebSocket handshake's response", handshake);
  if (response.status !== 101) throw new Error(`the upgrade was answered ${response.status}`);
  const header = Object.entries(response.headers)
    .find(([name]) => name.toLowerCase() === "sec-websocket-protocol");
  return { page, protocol: header ? header[1] : null, vnc };
}

async function shot(page, name) {
  if (screenshots) {
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, name + ".png") });
  }
}

/** Stops every program started here (TERM, then KILL after 3 s), so that
 * Xvfb removes its lock file and nothing outlives the test. */
async function stopAll() {
  const running = children.filter((entry) => !entry.exited);
  for (const { child } of running) child.kill("SIGTERM");
  await Promise.all(running.map((entry) => new Promise((resolve) => {
    if (entry.exited) return resolve();
    const timer = setTimeout(() => { entry.child.kill("SIGKILL"); resolve(); }, 3000);
    entry.child.once("exit", () => { clearTimeout(timer); resolve(); });
  })));
}

// Nothing here may hang the test that runs it.
const watchdog = setTimeout(async () => {
  console.log("FAILED - the whole run took over 90 s");
  await stopAll();
  process.exit(1);
}, 90000);
watchdog.unref();

let browser;
let display;
let base;
let work;
let first;

const tests = {
  async "noVNC connects through the bridge and shows the remote desktop"() {
    work = mkdtempSync(join(tmpdir(), "switchyard-novnc-"));
    display = await xvfb();
    await paint(display, SQUARES, work);
    const port = await x11vnc(display);
    base = "http://" + await bridge(`tcp://127.0.0.1:${port}`, webFolder(work));
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    // noVNC's defaults, as its own pages: /websockify, no subprotocol.
    first = await open(base, "");
    if (first.protocol !== null) throw new Error(`the bridge answered subprotocol ${first.protocol}, none offered`);
    await waitForScreen(first.page, SQUARES);
    await first.page.locator("#status", { hasText: "connected to" }).waitFor({ timeout: 5000 });
    await shot(first.page, "novnc");
  },

  async "a change on the remote desktop reaches the open page"() {
    if (!first) throw new Error("no page open (the first check failed)");
    await paint(display, BLUE, work);
    await waitForScreen(first.page, BLUE);
    await first.page.close();
  },

  async "a client offering the binary subprotocol gets it, and the desktop"() {
    if (!base) throw new Error("no bridge (the first check failed)");
    const { page, protocol } = await open(base, "?protocols=binary");
    if (protocol !== "binary") throw new Error(`the bridge answered subprotocol ${protocol}, not binary`);
    await waitForScreen(page, BLUE);
    await page.close();
  },
};

const { passed, failed } = await runTests(tests);
if (failed > 0) {
  for (const { name, output } of children) {
    if (output.trim()) console.log(`--- ${name} printed:\n${output.trimEnd()}`);
  }
  if (consoleLines.length) console.log(`--- the browser's console:\n${consoleLines.slice(-50).join("\n")}`);
}
await browser?.close();
await stopAll();
if (work) rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
