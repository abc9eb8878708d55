// The advertiser console and the privacy center's ads card in a real browser: an advertiser
// builds an audience with the live estimate, sees a too-small one refused — by the server too,
// after re-enabling the button the way researchers did on LinkedIn — launches a campaign and
// reads its differentially private report with the privacy budget; a member switches an ads
// attribute off. Screenshots go to ./screenshots/ (advertiser.png is the one in docs/).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { start, shots } from "./harness.js";

let h, advertiser, admin;

before(async () => {
  h = await start({ members: 1500 });
  advertiser = h.token("advertiser");
  admin = h.token("admin");
});

after(async () => { await h?.stop(); });

const estimateIs = (page, re) => page.waitForFunction(
  (src) => new RegExp(src).test(document.getElementById("estimate-size")?.textContent || ""),
  re.source,
);

test("an advertiser builds an audience, is refused a too-small one, launches a campaign and reads its report", async () => {
  const page = await h.open(advertiser);
  // The main app links advertisers to their console.
  await page.click("#advertiser-console");
  await page.waitForSelector("#builder .facet");
  assert.ok(!page.url().includes("stw_"), "the token must not stay in the URL");
  assert.match(await page.locator("#minimum").textContent(), /Minimum audience: 300 members, enforced by the server/);

  // Micro-targeting: one seniority and one job function.
  const box = (attr, value) => page.locator(`#builder input[data-attribute="${attr}"][value="${value}"]`);
  await box("seniority", "cxo").check();
  await box("job_function", "legal").check();
  await estimateIs(page, /^fewer than 300$/);
  assert.equal(await page.locator("#expression").inputValue(), "job_function in (legal) and seniority in (cxo)");
  await page.fill("#audience-name", "Chief legal officers");
  assert.equal(await page.locator("#create-audience").isDisabled(), true, "the console does not offer it");
  // The client-side check is a courtesy: re-enable the button and the server still refuses.
  await page.evaluate(() => { document.getElementById("create-audience").disabled = false; });
  await page.click("#create-audience");
  await page.waitForSelector('#builder-output [data-code="ads.audience_too_small"]');
  const refusal = await page.locator("#builder-output").textContent();
  assert.match(refusal, /fewer than the minimum of 300/);
  assert.equal(await page.locator("#audiences tr[data-audience]").count(), 0, "nothing was saved");

  // A real audience: every seniority except interns.
  await box("job_function", "legal").uncheck();
  for (const s of ["entry", "associate", "mid_senior", "director", "vp"]) await box("seniority", s).check();
  await estimateIs(page, /^about [\d,]+$/);
  const about = Number((await page.locator("#estimate-size").textContent()).replace(/[^\d]/g, ""));
  assert.ok(about >= 300, `estimate ${about}`);
  assert.equal(about % 10, 0, "rounded to two significant digits");
  await page.fill("#audience-name", "Professionals");
  await page.click("#create-audience");
  await page.waitForSelector("#audience-created");
  await page.waitForSelector("#audiences tr[data-audience]");

  // A campaign on it, launched.
  await page.fill("#campaign-name", "Spring launch");
  await page.click("#create-campaign");
  const row = page.locator('#campaigns tr[data-campaign][data-status="draft"]');
  await row.waitFor();
  const id = await row.getAttribute("data-campaign");
  await row.locator('button[data-action="launch"]').click();
  await page.waitForSelector(`#campaigns tr[data-campaign="${id}"][data-status="active"]`);

  // A week of traffic, then the report by seniority.
  h.cli("ads", "events", "simulate", "--campaign", id, "--impressions", "6000", "--seed", "5");
  await page.locator(`#campaigns tr[data-campaign="${id}"] button.show-report`).click();
  await page.selectOption("#report-by", "seniority");
  await page.click("#run-report");
  await page.waitForSelector("#report-chart");
  const bars = await page.locator('#report-chart rect[data-metric="impressions"]').count();
  assert.ok(bars >= 2, `${bars} cells charted`);
  assert.match(await page.locator("#budget-text").textContent(), /This report spent ε 0\.5\. Campaign: ε 0\.5 of 5 spent, 4\.5 remaining/);
  assert.equal(await page.locator('#budget-chart rect[data-scope="campaign"]').count(), 1);
  // The campaign list shows the budget spent.
  await page.waitForSelector(`#campaigns tr[data-campaign="${id}"]:has-text("ε 0.5 of 5 spent")`);
  // Nothing on the page came from elsewhere, and no member id is shown.
  const text = await page.locator("main").textContent();
  assert.doesNotMatch(text, /member_id|member \d+/);
  await page.locator("#report").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "advertiser.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
});

test("a member switches an ads attribute off in the privacy center", async () => {
  // A member whose seniority ads may use now.
  let m = null;
  for (let i = 1; i <= 60 && m === null; i++) {
    const ads = await h.api(admin, "GET", `/api/v1/members/${i}/ads`).catch(() => null);
    if (ads && ads.attributes.some((a) => a.attribute === "seniority" && a.used)) m = i;
  }
  assert.ok(m !== null, "a member with seniority used for ads");
  const page = await h.open(h.token("member", m));
  const rowSel = '#ads-attributes tr[data-ads-attribute="seniority"]';
  await page.waitForSelector(rowSel);
  assert.equal(await page.locator(`${rowSel} td.ads-used`).textContent(), "may use");
  await page.locator(`${rowSel} button[data-ads-key="ads.attr.seniority"]`).click();
  await page.waitForFunction((sel) => document.querySelector(`${sel} td.ads-used`)?.textContent === "not used", rowSel);
  assert.equal(await page.locator(`${rowSel} button`).getAttribute("aria-pressed"), "false");
  // The settings card above follows, and the server agrees.
  assert.equal(await page.locator('#settings button[data-key="ads.attr.seniority"]').getAttribute("aria-pressed"), "false");
  const after = await h.api(admin, "GET", `/api/v1/members/${m}/ads`);
  assert.equal(after.attributes.find((a) => a.attribute === "seniority").used, false);
  await page.locator("#ads-attributes").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "privacy-center-ads.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
});
