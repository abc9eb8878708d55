// The privacy center clicked through in a real browser: a member turns AI training on and
// off and sees "how my data is used" change with it, downloads their data, and verifies their
// access history's proofs in the browser — and a tampered proof fails. Screenshots go to
// ./screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { start, shots } from "./harness.js";

let h, memberToken;

before(async () => {
  h = await start();
  // A US member: AI training is on by default there, so turning it off is visible.
  memberToken = h.token("member", 1);
});

after(async () => { await h?.stop(); });

test("a member turns AI training off and on, and how their data is used follows", async () => {
  const page = await h.open(memberToken);
  await page.waitForSelector("#settings");
  // The token left the address bar at once.
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
  assert.deepEqual(page.errors, []);
});

test("a member downloads their data as a zip, and the download is in their access history", async () => {
  const page = await h.open(memberToken);
  await page.waitForSelector("#download");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  assert.equal(download.suggestedFilename(), "steward-member-1.zip");
  const path = join(h.dir, "download.zip");
  await download.saveAs(path);
  const bytes = readFileSync(path);
  assert.equal(bytes.subarray(0, 4).toString("latin1"), "PK\u0003\u0004", "a zip file");
  assert.ok(bytes.includes(Buffer.from("steward-export/member.json")), "the zip holds member.json");
  await page.waitForSelector("#download-status:has-text('Downloaded')");
  // Reloaded, the history's newest entry is the export.
  await page.reload();
  await page.waitForSelector("#history tr[data-seq]");
  const newest = await page.locator("#history tr[data-seq]").first().textContent();
  assert.match(newest, /export/);
  assert.deepEqual(page.errors, []);
});

test("the access history verifies in the browser: proofs, leaf hashes and the Ed25519 checkpoint signature", async () => {
  const page = await h.open(memberToken);
  await page.waitForSelector("#history tr[data-seq]");
  const rows = await page.locator("#history tr[data-seq]").count();
  assert.ok(rows >= 3, `settings changes and the export are recorded (${rows} rows)`);
  await page.click("#verify");
  const summary = page.locator("#verify-summary");
  await summary.waitFor();
  assert.equal(await summary.getAttribute("data-ok"), "true", await summary.textContent());
  const text = await summary.textContent();
  assert.match(text, new RegExp(`Verified: ${rows} of ${rows} entries are in the signed log`));
  // Chromium has Ed25519 in WebCrypto; the page must say the signature was checked.
  assert.match(text, /Ed25519 signature by steward\.local\/ledger verified in your browser/);
  assert.equal(await page.locator("#history td.proof.ok").count(), rows);
  await page.locator("#access-history").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "privacy-center.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
});

// The browser must not take the server's word: change one byte of what the server sends and
// verification fails, naming the entry.
for (const [what, tamper, expect] of [
  ["a proof hash", (b) => { const p = b.entries[0].inclusion_proof; p[0] = (p[0][0] === "0" ? "1" : "0") + p[0].slice(1); }, /inclusion proof does not lead to the signed root/],
  ["an entry's bytes", (b) => { const e = b.entries[0]; const i = e.entry_bytes.length - 2; e.entry_bytes = e.entry_bytes.slice(0, i) + (e.entry_bytes.slice(i) === "00" ? "01" : "00"); }, /entry #\d+:/],
  ["a displayed field", (b) => { b.entries[0].entry.actor = "member:999"; }, /the actor shown differs from the proven entry/],
  ["the checkpoint's signature", (b) => { b.checkpoint.note = b.checkpoint.note.replace(/\n(\d+)\n/, (_, n) => `\n${Number(n) + 1}\n`); }, /Ed25519 signature does not verify/],
]) {
  test(`a tampered access history fails verification in the browser: ${what}`, async () => {
    const page = await h.open(memberToken);
    await page.route("**/api/v1/members/1/access-history", async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      tamper(body);
      await route.fulfill({ response, json: body });
    });
    await page.reload();
    await page.waitForSelector("#history tr[data-seq]");
    await page.click("#verify");
    const summary = page.locator("#verify-summary");
    await summary.waitFor();
    assert.equal(await summary.getAttribute("data-ok"), "false");
    const text = await summary.textContent();
    assert.match(text, /Verification FAILED/);
    assert.match(text, expect);
    if (what === "a proof hash") {
      assert.equal(await page.locator("#history td.proof.failed").count(), 1, "only the tampered entry fails");
      await page.screenshot({ path: join(shots, "privacy-center-tampered.png"), fullPage: true });
    }
    assert.deepEqual(page.errors, []);
  });
}

test("a page opened without a token explains how to sign in and calls no API", async () => {
  const context = await h.browser.newContext();
  const page = await context.newPage();
  const apiCalls = [];
  page.on("request", (r) => { if (r.url().includes("/api/")) apiCalls.push(r.url()); });
  await page.goto(`${h.base}/`);
  await page.waitForSelector("main h1");
  assert.match(await page.textContent("main"), /sign-in link/);
  assert.deepEqual(apiCalls, []);
});

test("a member deletes their account: the receipt shows, and their token no longer works", async () => {
  const token = h.token("member", 5);
  const page = await h.open(token);
  await page.waitForSelector("#erase");
  // Without the confirmation nothing happens.
  await page.click("#erase");
  await page.waitForSelector("#rights .error");
  const before = await fetch(`${h.base}/api/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(before.status, 200);
  await page.fill("#erase-confirm", "DELETE");
  await page.click("#erase");
  await page.waitForSelector("#erased");
  assert.match(await page.textContent("#erased"), /^Receipt erasure:[0-9a-f]{32}: \d+ records deleted/);
  const after = await fetch(`${h.base}/api/v1/whoami`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(after.status, 401);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("steward.token")), null);
  assert.deepEqual(page.errors, []);
});
