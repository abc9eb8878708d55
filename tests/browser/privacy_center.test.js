// The privacy center clicked through in a real browser: a member turns AI training on and
// off and sees "how my data is used" change with it. Screenshots go to ./screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const steward = process.env.STEWARD_BIN;
const shots = join(here, "screenshots");
const port = 18400 + Math.floor(Math.random() * 500);
const base = `http://127.0.0.1:${port}`;
let dir, db, server, browser, memberToken;

function cli(...args) {
  return execFileSync(steward, [...args, "--db", db], { encoding: "utf8" });
}

async function waitForServer() {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("server did not start");
}

before(async () => {
  assert.ok(steward, "set STEWARD_BIN to the steward binary");
  mkdirSync(shots, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), "steward-browser-"));
  db = `sqlite://${join(dir, "t.db")}`;
  cli("seed", "--members", "300", "--key-file", join(dir, "steward.keys"));
  // A US member: AI training is on by default there, so turning it off is visible.
  memberToken = JSON.parse(cli("tokens", "create", "--role", "member", "--member", "1", "--json")).token;
  server = spawn(steward, ["serve", "--db", db, "--addr", `127.0.0.1:${port}`], { stdio: "ignore" });
  await waitForServer();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a member turns AI training off and on, and how their data is used follows", async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${base}/#token=${memberToken}`);
  // The token left the address bar at once.
  await page.waitForSelector("#settings");
  assert.ok(!page.url().includes("stw_"), "the token must not stay in the URL");

  const toggle = page.locator('#settings button[data-key="ai.training"]');
  const summary = page.locator('#data-use details[data-purpose="ai.training"] summary');
  const setTo = async (on) => {
    if ((await toggle.getAttribute("aria-pressed")) !== String(on)) {
      await toggle.click();
      await page.waitForFunction(
        (want) => document.querySelector('#settings button[data-key="ai.training"]')?.getAttribute("aria-pressed") === want,
        String(on),
      );
    }
  };

  await setTo(true);
  const whenOn = await summary.textContent();
  assert.match(whenOn, /ai\.training — \d+ kinds? of data/);
  await page.screenshot({ path: join(shots, "privacy-center-ai-on.png"), fullPage: true });

  await setTo(false);
  const whenOff = await summary.textContent();
  assert.equal(whenOff, "ai.training — none of your data");
  await page.locator('#data-use details[data-purpose="ai.training"]').evaluate((d) => (d.open = true));
  await page.screenshot({ path: join(shots, "privacy-center-ai-off.png"), fullPage: true });

  // Private messages are never used for ads, whatever the settings.
  const ads = page.locator('#data-use details[data-purpose="ads.targeting"] tr[data-category="member.content.message"] td.denied');
  assert.equal(await ads.count(), 1);
  assert.deepEqual(errors, []);
});

test("a page opened without a token explains how to sign in and calls no API", async () => {
  const page = await browser.newPage();
  const apiCalls = [];
  page.on("request", (r) => { if (r.url().includes("/api/")) apiCalls.push(r.url()); });
  await page.goto(`${base}/`);
  await page.waitForSelector("main h1");
  assert.match(await page.textContent("main"), /sign-in link/);
  assert.deepEqual(apiCalls, []);
});
