// What every browser test needs: a seeded database with a key file, `steward serve` on a free
// loopback port, headless Chromium (Debian's) through playwright-core, tokens per role, and a
// screenshot folder (tests/browser/screenshots/, or $STEWARD_SCREENSHOTS).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const shots = process.env.STEWARD_SCREENSHOTS || join(here, "screenshots");

export async function start({ members = 300 } = {}) {
  const steward = process.env.STEWARD_BIN;
  assert.ok(steward, "set STEWARD_BIN to the steward binary");
  mkdirSync(shots, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "steward-browser-"));
  const db = `sqlite://${join(dir, "t.db")}`;
  const keyFile = join(dir, "steward.keys");
  const port = 18400 + Math.floor(Math.random() * 1500);
  const base = `http://127.0.0.1:${port}`;
  const cli = (...args) => execFileSync(steward, [...args, "--db", db], { encoding: "utf8" });
  cli("seed", "--members", String(members), "--key-file", keyFile);
  const token = (role, member) => {
    const args = ["tokens", "create", "--role", role, "--json"];
    if (member !== undefined) args.push("--member", String(member));
    return JSON.parse(cli(...args)).token;
  };
  const server = spawn(steward, ["serve", "--db", db, "--addr", `127.0.0.1:${port}`, "--key-file", keyFile], { stdio: "ignore" });
  let up = false;
  for (let i = 0; i < 150 && !up; i++) {
    try { up = (await fetch(`${base}/healthz`)).ok; } catch {}
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(up, "server did not start");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const api = async (tok, method, path, body) => {
    const headers = { Authorization: `Bearer ${tok}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await r.json().catch(() => null);
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(data)}`);
    return data;
  };
  // A page signed in with `tok`, failing the test on any page error.
  const open = async (tok, hash = "", viewport = { width: 1200, height: 1400 }) => {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await context.newPage();
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(String(e)));
    await page.goto(`${base}/#token=${tok}`);
    await page.waitForFunction(() => document.getElementById("who")?.textContent !== "");
    if (hash) await page.evaluate((h) => { location.hash = h; }, hash);
    return page;
  };
  const stop = async () => {
    await browser.close().catch(() => {});
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  return { base, cli, token, api, open, browser, stop, dir, db, keyFile };
}
