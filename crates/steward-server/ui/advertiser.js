// Steward's advertiser console: build an audience with a live estimate (rounded, noised, and
// nothing below the minimum), run campaigns, and read differentially private reports with the
// privacy budget they spend. The minimum is enforced by the server on every path; the disabled
// button here is a courtesy, not the control. The token arrives in the URL fragment and is
// kept in sessionStorage; all dynamic text goes through textContent; charts are inline SVG.
"use strict";

const state = { token: sessionStorage.getItem("steward.token"), attributes: null, audiences: [], campaigns: [] };
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

class ApiError extends Error {
  constructor(message, code, status) { super(message); this.code = code; this.status = status; }
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + state.token };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const code = data && data.error ? data.error.code : String(res.status);
    const msg = data && data.error ? `${data.error.message} (${data.error.code})` : res.statusText;
    throw new ApiError(msg, code, res.status);
  }
  return data;
}

function failure(err) {
  return el("p", { class: "error", role: "alert", "data-code": err.code || "" }, String(err.message || err));
}

const eps = (x) => (Math.round(x * 1000) / 1000).toString();

// ---------------------------------------------------------------------------------------
// Audience builder

function builderCard() {
  const attrs = state.attributes.attributes.filter((a) => a.allowed);
  const minimum = state.attributes.minimum;
  const name = el("input", { id: "audience-name", type: "text", placeholder: "Audience name", size: "30" });
  const expression = el("textarea", { id: "expression", rows: "2", spellcheck: "false", "aria-label": "audience expression" });
  const size = el("span", { class: "size", id: "estimate-size" }, "—");
  const note = el("span", { class: "muted", id: "estimate-note" }, "Pick some values to see how many members the audience reaches.");
  const create = el("button", { id: "create-audience", disabled: true }, "Create audience");
  const out = el("div", { id: "builder-output" });
  let timer = null;
  let seq = 0;

  const facets = attrs.map((a) => {
    const mode = el("select", { class: "mode", "aria-label": `${a.name} include or exclude` }, el("option", { value: "in" }, "include"), el("option", { value: "not" }, "exclude"));
    let values;
    let read;
    if (a.values) {
      const boxes = a.values.map((v) => el("label", {}, el("input", { type: "checkbox", value: v, "data-attribute": a.name }), " ", v));
      values = el("div", { class: "values" }, boxes);
      read = () => boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    } else {
      values = el("input", { type: "text", "data-attribute": a.name, placeholder: "comma-separated values, e.g. " + (a.name === "skill" ? "python, sql" : a.name === "industry" ? "software, finance" : "texas") });
      read = () => values.value.split(",").map((s) => s.trim()).filter((s) => s);
    }
    const row = el("div", { class: "facet", "data-facet": a.name }, el("strong", {}, a.name.replace("_", " ")), mode, values);
    return { a, mode, row, read };
  });

  const quote = (v) => (/^[A-Za-z0-9_+\-.]+$/.test(v) ? v : JSON.stringify(v));
  const generate = () => facets
    .map((f) => ({ f, vs: f.read() }))
    .filter(({ vs }) => vs.length)
    .sort((x, y) => (x.f.mode.value === "not") - (y.f.mode.value === "not"))
    .map(({ f, vs }) => `${f.mode.value === "not" ? "not " : ""}${f.a.name} in (${vs.map(quote).join(", ")})`)
    .join(" and ");

  const estimate = async () => {
    const text = expression.value.trim();
    const mine = ++seq;
    out.replaceChildren();
    if (!text) {
      size.textContent = "—"; size.className = "size"; create.disabled = true;
      note.textContent = "Pick some values to see how many members the audience reaches.";
      return;
    }
    try {
      const r = await api("POST", "/api/v1/ads/audiences/estimate", { expression: text });
      if (mine !== seq) return;
      size.textContent = r.estimate.below_minimum ? `fewer than ${r.estimate.minimum}` : `about ${r.estimate.about.toLocaleString("en-US")}`;
      size.className = "size " + (r.estimate.below_minimum ? "small" : "ok");
      size.dataset.belowMinimum = String(r.estimate.below_minimum);
      note.textContent = r.estimate.below_minimum
        ? `Too small: an audience must reach at least ${r.estimate.minimum} members. The server refuses it on create, edit, attach, launch and resume.`
        : "Rounded to two significant digits and noised; the same audience always gets the same estimate.";
      create.disabled = r.estimate.below_minimum || !name.value.trim();
    } catch (e) {
      if (mine !== seq) return;
      size.textContent = "—"; size.className = "size"; create.disabled = true;
      note.textContent = "";
      out.replaceChildren(failure(e));
    }
  };
  const schedule = () => { clearTimeout(timer); timer = setTimeout(estimate, 200); };
  for (const f of facets) {
    f.row.addEventListener("input", () => { expression.value = generate(); schedule(); });
    f.row.addEventListener("change", () => { expression.value = generate(); schedule(); });
  }
  expression.addEventListener("input", schedule);
  name.addEventListener("input", () => { create.disabled = size.dataset.belowMinimum !== "false" || !name.value.trim(); });
  create.addEventListener("click", async () => {
    create.disabled = true;
    try {
      const a = await api("POST", "/api/v1/ads/audiences", { name: name.value.trim(), expression: expression.value.trim() });
      out.replaceChildren(el("p", { class: "allowed", id: "audience-created" }, `Audience #${a.id} “${a.name}” saved: ${a.estimate.text} members.`));
      await refreshLists();
    } catch (e) {
      out.replaceChildren(failure(e));
    }
    create.disabled = size.dataset.belowMinimum !== "false" || !name.value.trim();
  });
  return el("section", { class: "card", id: "builder" },
    el("h2", {}, "Build an audience"),
    el("p", { class: "hint" }, `Professional attributes only, as the network's policy (${state.attributes.policy_version}) allows them for ads. Members who turned personalized ads or an attribute off are never matched on it. Values within a row are OR-ed, rows are AND-ed; “exclude” removes members whose value is known and listed.`),
    facets.map((f) => f.row),
    el("h3", {}, "Expression"),
    expression,
    el("div", { class: "estimate", id: "estimate" }, el("span", {}, "Estimated reach:"), size, note),
    el("p", { class: "minimum", id: "minimum" }, `Minimum audience: ${minimum} members, enforced by the server.`),
    el("div", { class: "actions" }, name, create),
    out);
}

// ---------------------------------------------------------------------------------------
// Audiences and campaigns

function audiencesCard() {
  return el("section", { class: "card", id: "audiences" }, el("h2", {}, "Your audiences"), el("p", { class: "muted" }, "Loading…"));
}

function campaignsCard() {
  return el("section", { class: "card", id: "campaigns" }, el("h2", {}, "Your campaigns"), el("p", { class: "muted" }, "Loading…"));
}

function renderAudiences() {
  const card = document.getElementById("audiences");
  card.replaceChildren(el("h2", {}, "Your audiences"),
    state.audiences.length
      ? el("table", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "Name"), el("th", {}, "Expression"), el("th", {}, "Reach now")),
        state.audiences.map((a) => el("tr", { "data-audience": String(a.id) },
          el("td", {}, `#${a.id}`), el("td", {}, a.name), el("td", { class: "mono" }, a.expression || "matched contact list"),
          el("td", { class: a.estimate.below_minimum ? "denied" : "" }, a.estimate.text))))
      : el("p", { class: "muted" }, "No audience yet: build one above."));
}

function renderCampaigns() {
  const card = document.getElementById("campaigns");
  const name = el("input", { id: "campaign-name", type: "text", placeholder: "Campaign name", size: "24" });
  const audience = el("select", { id: "campaign-audience", "aria-label": "audience" },
    el("option", { value: "" }, "untargeted (no attribute used)"),
    state.audiences.map((a) => el("option", { value: String(a.id) }, `#${a.id} ${a.name}`)));
  if (state.audiences.length) audience.value = String(state.audiences[state.audiences.length - 1].id);
  const budget = el("input", { id: "campaign-budget", type: "number", min: "0.1", max: "20", step: "0.1", value: "5", "aria-label": "ε budget" });
  const out = el("div", { id: "campaign-output" });
  const create = el("button", { id: "create-campaign", onclick: async () => {
    create.disabled = true;
    try {
      const body = { name: name.value.trim(), budget: Number(budget.value) };
      if (audience.value) body.audience = Number(audience.value);
      const c = await api("POST", "/api/v1/ads/campaigns", body);
      out.replaceChildren(el("p", { class: "allowed" }, `Campaign #${c.id} created as a draft.`));
      await refreshLists();
    } catch (e) { out.replaceChildren(failure(e)); }
    create.disabled = false;
  } }, "Create campaign");
  const act = (c, action, label) => el("button", { class: action, "data-action": action, onclick: async (ev) => {
    ev.target.disabled = true;
    try {
      await api("POST", `/api/v1/ads/campaigns/${c.id}/${action}`);
      await refreshLists();
    } catch (e) { document.getElementById("campaign-output").replaceChildren(failure(e)); ev.target.disabled = false; }
  } }, label);
  const rows = state.campaigns.map((c) => {
    const aud = state.audiences.find((a) => a.id === c.audience);
    const actions = [];
    if (c.status === "draft") actions.push(act(c, "launch", "Launch"));
    if (c.status === "active") actions.push(act(c, "pause", "Pause"));
    if (c.status === "paused") actions.push(act(c, "resume", "Resume"));
    actions.push(el("button", { class: "show-report", onclick: () => showReport(c) }, "Report"));
    return el("tr", { "data-campaign": String(c.id), "data-status": c.status },
      el("td", {}, `#${c.id}`), el("td", {}, c.name),
      el("td", {}, c.audience === null ? "untargeted" : aud ? `#${aud.id} ${aud.name}` : `#${c.audience}`),
      el("td", { class: `status status-${c.status}` }, c.status + (c.pause_reason === "audience_below_minimum" ? " — audience fell below the minimum" : "")),
      el("td", {}, `ε ${eps(c.budget.spent)} of ${eps(c.budget.epsilon)} spent`),
      el("td", {}, el("div", { class: "actions" }, actions)));
  });
  card.replaceChildren(el("h2", {}, "Your campaigns"),
    rows.length
      ? el("table", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "Name"), el("th", {}, "Audience"), el("th", {}, "Status"), el("th", {}, "Privacy budget"), el("th", {}, "")), rows)
      : el("p", { class: "muted" }, "No campaign yet."),
    el("h3", {}, "New campaign"),
    el("div", { class: "actions" }, name, audience, el("label", {}, "ε budget ", budget), create),
    out);
}

async function refreshLists() {
  [state.audiences, state.campaigns] = await Promise.all([api("GET", "/api/v1/ads/audiences"), api("GET", "/api/v1/ads/campaigns")]);
  renderAudiences();
  renderCampaigns();
}

// ---------------------------------------------------------------------------------------
// Reports

// Impressions, clicks and conversions per cell as three bar columns, each on its own scale.
function funnelChart(report) {
  const rows = report.rows.filter((r) => !r.suppressed);
  const metrics = ["impressions", "clicks", "conversions"];
  const labelW = 150, colW = 210, rowH = 22, top = 24;
  const width = labelW + colW * metrics.length;
  const height = top + rowH * Math.max(rows.length, 1) + 8;
  const s = svg("svg", { class: "chart", id: "report-chart", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "campaign report chart" });
  metrics.forEach((m, j) => {
    s.append(svg("text", { x: labelW + colW * j, y: 14 }, m));
    s.append(svg("line", { class: "axis", x1: labelW + colW * j, y1: top - 4, x2: labelW + colW * j, y2: height - 4 }));
  });
  if (!rows.length) {
    s.append(svg("text", { x: 0, y: top + 14 }, "every cell suppressed (too few impressions)"));
    return s;
  }
  metrics.forEach((m, j) => {
    const max = Math.max(1, ...rows.map((r) => r[m]));
    rows.forEach((r, i) => {
      const w = Math.round(((colW - 60) * r[m]) / max);
      const y = top + i * rowH;
      s.append(svg("rect", { class: m, x: labelW + colW * j + 2, y: y + 3, width: Math.max(w, 1), height: rowH - 8, "data-cell": r.cell, "data-metric": m }));
      s.append(svg("text", { x: labelW + colW * j + 6 + w, y: y + 15 }, r[m].toLocaleString("en-US")));
    });
  });
  rows.forEach((r, i) => s.append(svg("text", { x: 0, y: top + i * rowH + 15 }, r.cell.length > 22 ? r.cell.slice(0, 21) + "…" : r.cell)));
  return s;
}

// Spent and remaining ε of the campaign's and the advertiser's budgets.
function budgetChart(report) {
  const scopes = [["campaign", report.campaign_budget], ["advertiser", report.advertiser_budget]];
  const labelW = 110, barW = 420, rowH = 30;
  const s = svg("svg", { class: "chart", id: "budget-chart", width: labelW + barW + 230, height: rowH * scopes.length + 6, role: "img", "aria-label": "privacy budget" });
  scopes.forEach(([name, b], i) => {
    const y = i * rowH;
    const spent = b.epsilon > 0 ? Math.round((barW * Math.min(b.spent, b.epsilon)) / b.epsilon) : 0;
    s.append(svg("text", { x: 0, y: y + 18 }, `${name} ε`));
    s.append(svg("rect", { class: "left", x: labelW, y: y + 5, width: barW, height: 18 }));
    s.append(svg("rect", { class: "spent", x: labelW, y: y + 5, width: spent, height: 18, "data-scope": name }));
    s.append(svg("text", { x: labelW + barW + 8, y: y + 18 }, `${eps(b.spent)} spent · ${eps(b.remaining)} of ${eps(b.epsilon)} left`));
  });
  return s;
}

function reportCard() {
  return el("section", { class: "card", id: "report" }, el("h2", {}, "Campaign report"), el("p", { class: "muted" }, "Choose “Report” on a campaign."));
}

function showReport(c) {
  const card = document.getElementById("report");
  const by = el("select", { id: "report-by", "aria-label": "break down by" }, ["none", "industry", "seniority", "function", "region", "company_size"].map((d) => el("option", { value: d }, d === "none" ? "no breakdown" : `by ${d.replace("_", " ")}`)));
  const days = el("input", { id: "report-days", type: "number", min: "1", max: "366", value: "7", "aria-label": "days" });
  const epsilon = el("input", { id: "report-epsilon", type: "number", min: "0.05", max: "5", step: "0.05", value: "0.5", "aria-label": "ε of this report" });
  const out = el("div", { id: "report-output" });
  const run = el("button", { id: "run-report", onclick: async () => {
    run.disabled = true;
    try {
      const q = new URLSearchParams({ days: days.value, epsilon: epsilon.value });
      if (by.value !== "none") q.set("by", by.value);
      const r = await api("GET", `/api/v1/ads/campaigns/${c.id}/report?${q}`);
      out.replaceChildren(
        el("p", { class: "legend" }, ["impressions", "clicks", "conversions"].map((m) => el("span", {}, el("span", { class: `swatch ${m}` }), m))),
        funnelChart(r),
        el("table", { id: "report-table" },
          el("tr", {}, el("th", {}, "Cell"), el("th", {}, "Impressions"), el("th", {}, "Clicks"), el("th", {}, "Conversions")),
          r.rows.map((row) => el("tr", { "data-cell": row.cell },
            el("td", {}, row.cell),
            ...(row.suppressed ? [el("td", { class: "muted", colspan: "3" }, "suppressed: too few impressions to release")] : [row.impressions, row.clicks, row.conversions].map((n) => el("td", {}, n.toLocaleString("en-US"))))))),
        el("h3", {}, "Privacy budget"),
        budgetChart(r),
        el("p", { id: "budget-text" }, r.charged
          ? `This report spent ε ${eps(r.epsilon)}. Campaign: ε ${eps(r.campaign_budget.spent)} of ${eps(r.campaign_budget.epsilon)} spent, ${eps(r.campaign_budget.remaining)} remaining. Advertiser: ${eps(r.advertiser_budget.remaining)} of ${eps(r.advertiser_budget.epsilon)} remaining.`
          : `The same question was answered before: the same report, nothing spent. Campaign: ε ${eps(r.campaign_budget.remaining)} of ${eps(r.campaign_budget.epsilon)} remaining.`),
        el("p", { class: "muted" }, `Differentially private: each member counts at most 10 impressions, 2 clicks and 1 conversion; discrete Laplace noise (expected error ±${r.expected_abs_error.map((x) => x.toFixed(1)).join(" / ")}); ${r.suppressed} cell(s) suppressed. Whole days ${new Date(r.from_ms).toISOString().slice(0, 10)} to ${new Date(r.to_ms - 1).toISOString().slice(0, 10)} (UTC). Ledger entry #${r.ledger_seq}.`));
      await refreshLists();
    } catch (e) { out.replaceChildren(failure(e)); }
    run.disabled = false;
  } }, "Run report");
  card.replaceChildren(el("h2", {}, `Report: campaign #${c.id} “${c.name}”`),
    el("div", { class: "actions" }, by, el("label", {}, "days ", days), el("label", {}, "ε ", epsilon), run),
    out);
  card.dataset.campaign = String(c.id);
  card.scrollIntoView();
}

// ---------------------------------------------------------------------------------------

async function start() {
  const main = document.getElementById("main");
  const m = location.hash.match(/^#token=(stw_[0-9a-f]{64})$/);
  if (m) {
    sessionStorage.setItem("steward.token", m[1]);
    state.token = m[1];
    history.replaceState(null, "", location.pathname);
  }
  if (!state.token) {
    return main.replaceChildren(el("h1", {}, "Advertiser console"), el("p", {}, "Open the advertiser sign-in link that `steward demo` printed."));
  }
  try {
    const me = await api("GET", "/api/v1/whoami");
    document.getElementById("who").textContent = me.role;
    if (me.role !== "advertiser") {
      return main.replaceChildren(el("h1", {}, "Advertiser console"), el("p", {}, "This console is for advertiser tokens."), el("p", {}, el("a", { href: "/" }, "Back to Steward")));
    }
    state.attributes = await api("GET", "/api/v1/ads/attributes");
    main.replaceChildren(el("h1", {}, "Advertiser console"), el("div", { id: "console-message" }), builderCard(), audiencesCard(), campaignsCard(), reportCard());
    await refreshLists();
  } catch (e) {
    main.replaceChildren(el("h1", {}, "Advertiser console"), failure(e));
  }
}

start();
