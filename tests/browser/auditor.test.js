// The auditor's view clicked through: verify the ledger, see the signed checkpoints, compare a
// candidate policy with the active one, read the policy matrix. Screenshots go to
// ./screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { start, shots } from "./harness.js";

let h, auditor;

before(async () => {
  h = await start();
  auditor = h.token("auditor");
  // Some history and a checkpoint over it: a member changes a setting and reads their history.
  const member = h.token("member", 1);
  await h.api(member, "PUT", "/api/v1/members/1/settings", { key: "ai.training", value: "off" });
  await h.api(member, "GET", "/api/v1/members/1/access-history");
});

after(async () => { await h?.stop(); });

test("an auditor verifies the ledger and sees its signed checkpoints", async () => {
  const page = await h.open(auditor, "#/auditor");
  await page.waitForSelector("#verify-ledger");
  await page.click("#verify-ledger");
  const summary = page.locator("#ledger-summary");
  await summary.waitFor();
  assert.match(await summary.textContent(), /^Intact: \d+ entries, root [0-9a-f]{16}…, [1-9]\d* checkpoints verified\.$/);
  await page.waitForSelector("#checkpoints td.allowed");
  assert.ok(await page.locator("#checkpoints tr").count() >= 2);
  assert.equal(await page.locator("#checkpoints td.denied").count(), 0);
  assert.deepEqual(page.errors, []);
});

test("an auditor compares a candidate policy with the active one", async () => {
  const page = await h.open(auditor, "#/auditor");
  await page.waitForSelector("#candidate");
  // Unchanged, the candidate decides exactly like the active policy.
  await page.click("#compare");
  await page.waitForSelector("#diff-summary");
  assert.match(await page.textContent("#diff-summary"), /No change/);
  // Without its first ads-targeting rule, cells close for some members.
  await page.locator("#candidate").evaluate((t) => {
    const blocks = t.value.split("\n[[rule]]");
    const i = blocks.findIndex((b, k) => k > 0 && b.includes('purpose = "ads.targeting"'));
    blocks.splice(i, 1);
    t.value = blocks.join("\n[[rule]]");
  });
  await page.click("#compare");
  await page.waitForFunction(() => /cells change/.test(document.getElementById("diff-summary")?.textContent || ""));
  const text = await page.textContent("#diff-summary");
  const m = text.match(/^\d+ cells change \(0 opened, [1-9]\d* closed, \d+ changed\); (\d+) of (\d+) members affected\.$/);
  assert.ok(m, text);
  // The seeded members not erased, and some but not all of them affected.
  assert.ok(Number(m[2]) > 250 && Number(m[2]) <= 300, text);
  assert.ok(Number(m[1]) > 0 && Number(m[1]) <= Number(m[2]), text);
  assert.ok(await page.locator("#diff-result tr").count() >= 2);
  // A candidate that would let AI training read private messages is refused.
  await page.locator("#candidate").evaluate((t) => {
    t.value += '\n[[rule]]\nid = "bad"\npurpose = "ai.training"\ncategories = ["member.content.message"]\nform = "aggregate"\n';
  });
  await page.click("#compare");
  await page.waitForSelector("#diff-result .error");
  assert.match(await page.textContent("#diff-result .error"), /policy\.invariant/);
  assert.deepEqual(page.errors, []);
});

test("the auditor view shows the policy matrix, and private messages feed no AI or ads purpose", async () => {
  const page = await h.open(auditor, "#/auditor");
  await page.waitForSelector("#matrix table");
  const row = page.locator("#matrix tr", { has: page.locator("th", { hasText: /^member\.content\.message$/ }) });
  const headers = await page.locator("#matrix tr").first().locator("th").allTextContents();
  const cells = await row.locator("td").allTextContents();
  for (const purpose of ["ai.training", "ads.targeting"]) {
    const i = headers.indexOf(purpose);
    if (i > 0) assert.equal(cells[i - 1], "—", `${purpose} must not read private messages`);
  }
  await page.click("#verify-ledger");
  await page.locator("#ledger-summary").waitFor();
  await page.screenshot({ path: join(shots, "auditor.png"), fullPage: false });
  assert.deepEqual(page.errors, []);
});

test("members and reviewers cannot use the auditor's endpoints", async () => {
  for (const tok of [h.token("member", 2), h.token("reviewer")]) {
    const r = await fetch(`${h.base}/api/v1/ledger/verify`, { method: "POST", headers: { Authorization: `Bearer ${tok}` } });
    assert.equal(r.status, 403);
    assert.equal((await r.json()).error.code, "auth.forbidden");
  }
});
