// The report-review flow of the issue, clicked through in four browser sessions: a member
// reports a message; a reviewer asks for a grant with a justification; an approver (another
// staff member, another session) approves it; the reviewer opens the scoped messages and sees
// the expiry; the open appears in the member's access history, where it verifies. Screenshots
// go to ./screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { start, shots } from "./harness.js";

let h, member, reviewer, approver, caseId, convId;
const TEXT = "I need the client list from your company; send it to my personal address tonight.";

before(async () => {
  h = await start();
  member = h.token("member", 1);
  reviewer = h.token("reviewer");
  approver = h.token("approver");
  // Member 2 writes to member 1.
  const sender = h.token("member", 2);
  const first = await h.api(sender, "POST", "/api/v1/members/2/conversations", { with: [1], text: "Hello, we met at the conference last week." });
  convId = first.conversation_id;
  await h.api(sender, "POST", `/api/v1/members/2/conversations/${convId}/messages`, { text: TEXT });
});

after(async () => { await h?.stop(); });

test("a member reports a message from their conversations", async () => {
  const page = await h.open(member);
  await page.waitForSelector("#conversation-list li");
  await page.locator(`#conversation-list li[data-conversation="${convId}"] button.open-conversation`).click();
  const message = page.locator("#conversation .message", { hasText: TEXT });
  await message.waitFor();
  await message.locator("select").selectOption("scam or phishing");
  await message.locator("button.report").click();
  await page.waitForSelector("#conversation .message.reported");
  const status = await message.textContent();
  const m = status.match(/case #(\d+)/);
  assert.ok(m, status);
  caseId = Number(m[1]);
  await page.locator("#conversations").screenshot({ path: join(shots, "privacy-center-conversations.png") });
  assert.deepEqual(page.errors, []);
});

test("a reviewer requests a grant, another staff member approves it, the reviewer opens the scoped messages", async () => {
  assert.ok(caseId, "the report test ran first");
  // Session 1: the reviewer.
  const rev = await h.open(reviewer, "#/reviewer");
  const row = rev.locator(`#case-queue tr[data-case="${caseId}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /scam or phishing/);
  await row.locator("button.show-case").click();
  await rev.waitForSelector("#justification");
  // No content before a grant: the case view shows no message text.
  assert.ok(!(await rev.textContent("#case-detail")).includes(TEXT));
  await rev.fill("#justification", "Member reported a likely phishing attempt; checking the message and its context");
  await rev.fill("#hours", "4");
  await rev.click("#request-grant");
  const grantRow = rev.locator("#grants tr[data-grant]").first();
  await grantRow.waitFor();
  assert.equal(await grantRow.getAttribute("data-status"), "pending");
  // The requester has no approve button, and the API refuses self-approval.
  assert.equal(await rev.locator("button.approve").count(), 0);
  const grantId = Number(await grantRow.getAttribute("data-grant"));
  const self = await fetch(`${h.base}/api/v1/grants/${grantId}/approve`, { method: "POST", headers: { Authorization: `Bearer ${reviewer}` } });
  assert.equal(self.status, 403);
  // Opening before approval is refused.
  const early = await fetch(`${h.base}/api/v1/grants/${grantId}/open`, { method: "POST", headers: { Authorization: `Bearer ${reviewer}` } });
  assert.equal(early.status, 403);
  assert.equal((await early.json()).error.code, "safety.not_approved");

  // Session 2: the approver, another staff member.
  const app = await h.open(approver, "#/reviewer");
  await app.locator(`#case-queue tr[data-case="${caseId}"] button.show-case`).click();
  await app.locator(`#grants tr[data-grant="${grantId}"] button.approve`).click();
  await app.waitForSelector(`#grants tr[data-grant="${grantId}"][data-status="active"]`);
  assert.ok(!(await app.textContent("#case-detail")).includes(TEXT), "the approver reads nothing");
  await app.screenshot({ path: join(shots, "reviewer-console-approval.png"), fullPage: true });

  // Back in session 1: open the scope, see the expiry.
  await rev.locator(`#case-queue tr[data-case="${caseId}"] button.show-case`).click();
  await rev.locator(`#grants tr[data-grant="${grantId}"] button.open-scope`).click();
  await rev.waitForSelector("#scoped-view");
  const view = await rev.textContent("#scoped-view");
  assert.ok(view.includes(TEXT), "the reported message is in the scoped view");
  assert.ok(view.includes("Hello, we met at the conference"), "and the message before it");
  assert.match(await rev.textContent("#expiry"), /Access expires .* \(in [34] h \d+ min\)/);
  await rev.screenshot({ path: join(shots, "reviewer-console.png"), fullPage: true });

  // The decision closes the case and ends the grant.
  await rev.selectOption("#decision", "remove_message");
  await rev.click("#decide");
  await rev.waitForSelector("#decided");
  const after = await fetch(`${h.base}/api/v1/grants/${grantId}/open`, { method: "POST", headers: { Authorization: `Bearer ${reviewer}` } });
  assert.equal(after.status, 403, "no reading after the decision");
  assert.deepEqual(rev.errors, []);
  assert.deepEqual(app.errors, []);
});

test("the reviewer's reading appears in the member's access history, and it verifies", async () => {
  const page = await h.open(member);
  await page.waitForSelector("#history tr[data-seq]");
  const opens = page.locator("#history tr[data-seq]", { hasText: "content.open" });
  assert.ok(await opens.count() >= 2, "each opened message is an entry naming the member");
  assert.match(await opens.first().textContent(), /staff:reviewer\..*safety\.report_review/);
  await page.click("#verify");
  const summary = page.locator("#verify-summary");
  await summary.waitFor();
  assert.equal(await summary.getAttribute("data-ok"), "true", await summary.textContent());
  // The removed message is now hidden from the member too.
  await page.locator(`#conversation-list li[data-conversation="${convId}"] button.open-conversation`).click();
  await page.waitForSelector("#conversation .message");
  assert.ok(!(await page.textContent("#conversation")).includes(TEXT));
  assert.deepEqual(page.errors, []);
});
