// Steward's web UI: a small single-page app over the JSON API. The token arrives in the URL
// fragment (`/#token=...`), which browsers never send to the server, and is kept in
// sessionStorage. All dynamic text goes through textContent, never innerHTML.
"use strict";

const state = { token: sessionStorage.getItem("steward.token"), me: null };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + state.token };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const msg = data && data.error ? `${data.error.message} (${data.error.code})` : res.statusText;
    throw new Error(msg);
  }
  return data;
}

function show(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes);
}

function failure(err) {
  return el("p", { class: "error", role: "alert" }, String(err.message || err));
}

async function privacyCenter() {
  if (!state.me || state.me.member_id === null) {
    return show(el("h1", {}, "Privacy center"), el("p", {}, "Sign in with a member token to see your privacy center."));
  }
  const id = state.me.member_id;
  const [settings, use] = await Promise.all([
    api("GET", `/api/v1/members/${id}/settings`),
    api("GET", `/api/v1/members/${id}/data-use`),
  ]);
  const settingsCard = el("section", { class: "card", id: "settings" },
    el("h2", {}, "Your settings"),
    el("p", { class: "hint" }, `Defaults follow your jurisdiction (${settings.jurisdiction}); every change takes effect at once for every decision and is recorded in your history.`),
    settings.consent.map((c) =>
      el("div", { class: "setting" },
        el("div", {}, el("strong", {}, c.description), el("div", { class: "muted" }, c.key)),
        el("button", {
          class: c.granted ? "on" : "",
          "data-key": c.key,
          "aria-pressed": String(c.granted),
          onclick: async (ev) => {
            ev.target.disabled = true;
            try {
              await api("PUT", `/api/v1/members/${id}/settings`, { key: c.key, value: c.granted ? "off" : "on" });
              await privacyCenter();
            } catch (e) { ev.target.after(failure(e)); ev.target.disabled = false; }
          },
        }, c.granted ? "On" : "Off"))));
  const useCard = el("section", { class: "card", id: "data-use" },
    el("h2", {}, "How your data is used"),
    el("p", { class: "hint" }, `What the network's policy (${use.policy_version}) allows for each purpose, given your settings and the visibility you chose for each part of your profile.`),
    use.purposes.map((p) => {
      const allowed = p.items.filter((i) => i.allowed);
      return el("details", { "data-purpose": p.purpose },
        el("summary", {}, `${p.purpose} — ${allowed.length ? allowed.length + (allowed.length === 1 ? " kind" : " kinds") + " of data" : "none of your data"}`),
        el("p", { class: "muted" }, p.description),
        el("table", {},
          el("tr", {}, el("th", {}, "Data"), el("th", {}, "Visibility"), el("th", {}, "Use"), el("th", {}, "Why")),
          p.items.map((i) => el("tr", { "data-category": i.category },
            el("td", {}, i.category), el("td", {}, i.visibility),
            el("td", { class: i.allowed ? "allowed" : "denied" }, i.allowed ? i.form : "not used"),
            el("td", { class: "muted" }, i.reason)))));
    }));
  show(el("h1", {}, "Privacy center"), settingsCard, useCard);
}

async function policyView() {
  const out = el("div", { id: "explanation" });
  const form = el("form", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams(new FormData(ev.target));
      try {
        const e = await api("GET", `/api/v1/policy/explain?${q}`);
        out.replaceChildren(el("p", { class: e.allowed ? "allowed" : "denied" }, e.allowed ? `Allowed as ${e.form}` : "Denied"), el("p", {}, e.reason));
      } catch (err) { out.replaceChildren(failure(err)); }
    },
  },
    el("label", {}, "Purpose ", el("input", { name: "purpose", value: "ai.training", required: "" })), " ",
    el("label", {}, "Category ", el("input", { name: "category", value: "member.profile.skills", required: "" })), " ",
    el("label", {}, "Jurisdiction ", el("input", { name: "jurisdiction", value: "US", size: "3" })), " ",
    el("button", { type: "submit" }, "Explain"));
  show(el("h1", {}, "Policy"), el("section", { class: "card" }, el("h2", {}, "Explain a decision"), form, out));
}

const routes = { "#/privacy": privacyCenter, "#/policy": policyView };

async function route() {
  const hash = location.hash.startsWith("#/") ? location.hash : "#/privacy";
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === hash));
  try { await (routes[hash] || privacyCenter)(); } catch (e) { show(failure(e)); }
}

async function start() {
  const m = location.hash.match(/^#token=(stw_[0-9a-f]{64})$/);
  if (m) {
    sessionStorage.setItem("steward.token", m[1]);
    state.token = m[1];
    history.replaceState(null, "", "/#/");
  }
  document.getElementById("nav").replaceChildren(
    el("a", { href: "#/privacy" }, "Privacy center"),
    el("a", { href: "#/policy" }, "Policy"));
  if (!state.token) {
    return show(el("h1", {}, "Steward"), el("p", {}, "Open the sign-in link that `steward demo` or `steward tokens create` printed."));
  }
  try {
    state.me = await api("GET", "/api/v1/whoami");
    document.getElementById("who").textContent = state.me.member_id === null ? state.me.role : `${state.me.role} · member ${state.me.member_id}`;
  } catch (e) {
    sessionStorage.removeItem("steward.token");
    return show(failure(e));
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
