// "Datasets that included me" in the privacy center, in a real browser: the shipped `profiles`
// training dataset is built through the purpose gate; a member it included sees it listed as
// published, turns AI training off, and sees it marked stale. A member it did not include sees
// that no dataset has their data. Screenshots go to ./screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { start, shots } from "./harness.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
let h, admin, included, excluded, datasetId;

before(async () => {
  h = await start({ members: 600 });
  const out = h.cli("datasets", "build", join(repo, "datasets", "profiles.toml"), "--out", join(h.dir, "datasets"), "--json");
  datasetId = JSON.parse(out).id;
  assert.ok(datasetId, out);
  admin = h.token("admin");
  // Find one member the release included and one it did not, through the admin's view.
  for (let id = 1; id <= 600 && (included === undefined || excluded === undefined); id++) {
    const list = await h.api(admin, "GET", `/api/v1/members/${id}/datasets`);
    if (list.some((d) => d.dataset_id === datasetId)) included ??= id;
    else if (list.length === 0) excluded ??= id;
  }
  assert.ok(included !== undefined, "the dataset included some member");
  assert.ok(excluded !== undefined, "some member is in no dataset");
});

after(async () => { await h?.stop(); });

test("a member sees the dataset that included them, and it goes stale when they turn AI training off", async () => {
  const page = await h.open(h.token("member", included));
  const row = page.locator(`#datasets tr[data-dataset="${datasetId}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /profiles/);
  assert.match(await row.textContent(), /ai\.training/);
  assert.match(await row.locator("td").last().textContent(), /^published$/);
  await page.locator("#datasets").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "privacy-center-datasets.png"), fullPage: true });

  // Withdrawing AI-training consent marks every dataset that included them stale.
  const toggle = page.locator('#settings button[data-key="ai.training"]');
  assert.equal(await toggle.getAttribute("aria-pressed"), "true", "an included member allowed AI training");
  await toggle.click();
  await page.waitForFunction(() => document.querySelector('#settings button[data-key="ai.training"]')?.getAttribute("aria-pressed") === "false");
  const status = page.locator(`#datasets tr[data-dataset="${datasetId}"] td`).last();
  await status.waitFor();
  await page.waitForFunction((id) => /^stale since /.test(document.querySelector(`#datasets tr[data-dataset="${id}"] td:last-child`)?.textContent || ""), datasetId);
  await page.locator("#datasets").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "privacy-center-datasets-stale.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
});

test("a member no dataset included is told so, and cannot list another member's datasets", async () => {
  const token = h.token("member", excluded);
  const page = await h.open(token);
  await page.waitForSelector("#datasets #no-datasets");
  assert.match(await page.textContent("#datasets"), /No dataset has included your data/);
  assert.deepEqual(page.errors, []);
  await assert.rejects(h.api(token, "GET", `/api/v1/members/${included}/datasets`), /404/);
});
