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
  show(el("h1", {}, "Privacy center"), settingsCard, useCard, adsCard(id), datasetsCard(id), conversationsCard(id), historyCard(id), rightsCard(id));
}

// "Datasets that included me": every AI-training dataset built with this member's data, and
// whether it went stale (someone in it withdrew consent or was erased).
function datasetsCard(id) {
  const card = el("section", { class: "card", id: "datasets" }, el("h2", {}, "Datasets that included me"), el("p", { class: "muted" }, "Loading…"));
  (async () => {
    let list;
    try { list = await api("GET", `/api/v1/members/${id}/datasets`); } catch (e) { return card.replaceChildren(el("h2", {}, "Datasets that included me"), failure(e)); }
    card.replaceChildren(
      el("h2", {}, "Datasets that included me"),
      el("p", { class: "hint" }, "Training datasets are built only from members whose settings allow that use, pseudonymized and checked for anonymity. If you turn AI training off or delete your account, every dataset that included you is marked stale and is not used again."),
      list.length ? el("table", { id: "dataset-list" },
        el("tr", {}, el("th", {}, "Dataset"), el("th", {}, "Purpose"), el("th", {}, "Built"), el("th", {}, "Members"), el("th", {}, "Status")),
        list.map((d) => el("tr", { "data-dataset": d.dataset_id },
          el("td", {}, d.name, el("div", { class: "muted" }, d.dataset_id)),
          el("td", {}, d.purpose), el("td", {}, when(d.created_at_ms)), el("td", {}, String(d.member_count)),
          el("td", { class: d.status === "published" ? "allowed" : "denied" }, d.status + (d.stale_since_ms ? ` since ${when(d.stale_since_ms)}` : ""))))) :
        el("p", { id: "no-datasets" }, "No dataset has included your data."));
  })();
  return card;
}

// "My conversations": read as a participant (never ledgered), report a message to trust &
// safety with a reason.
function conversationsCard(id) {
  const card = el("section", { class: "card", id: "conversations" }, el("h2", {}, "My conversations"), el("p", { class: "muted" }, "Loading…"));
  const viewer = el("div", { id: "conversation" });
  const openConversation = async (c) => {
    let msgs;
    try { msgs = await api("GET", `/api/v1/members/${id}/conversations/${c.conversation_id}`); } catch (e) { return viewer.replaceChildren(failure(e)); }
    viewer.replaceChildren(
      el("h3", {}, `Conversation with ${c.participants.filter((p) => p !== id).map((p) => `member ${p}`).join(", ")}`),
      ...msgs.map((m) => {
        const status = el("span", { class: "muted" });
        const reason = el("select", { "aria-label": "reason" }, ["spam", "harassment", "scam or phishing", "other"].map((r) => el("option", { value: r }, r)));
        const mine = m.author_id === id;
        return el("div", { class: "message", "data-message": String(m.message_id) },
          el("div", { class: "meta" }, `${mine ? "You" : `member ${m.author_id}`} · ${when(m.sent_at_ms)}${m.verdict && m.verdict !== "clean" ? ` · flagged ${m.verdict}` : ""}`),
          el("div", { class: "text" }, m.text !== null ? m.text : `(${m.notice})`),
          mine ? null : el("div", { class: "actions" }, reason, el("button", {
            class: "report",
            onclick: async (ev) => {
              ev.target.disabled = true;
              try {
                const r = await api("POST", `/api/v1/members/${id}/messages/${m.message_id}/report`, { reason: reason.value });
                status.textContent = `Reported to trust & safety (case #${r.case_id}). A reviewer may read this message and the few before it; each reading will appear in your access history.`;
                ev.target.closest(".message").classList.add("reported");
              } catch (e) { status.replaceChildren(failure(e)); ev.target.disabled = false; }
            },
          }, "Report"), status));
      }));
  };
  (async () => {
    let list;
    try { list = await api("GET", `/api/v1/members/${id}/conversations`); } catch (e) { return card.replaceChildren(el("h2", {}, "My conversations"), failure(e)); }
    card.replaceChildren(
      el("h2", {}, "My conversations"),
      el("p", { class: "hint" }, "Your private messages are sealed: only you and the people you write with can read them, never AI training or ads. Trust & safety reads a message only if someone reports it, with a time-limited grant another staff member approved."),
      list.length ? el("ul", { id: "conversation-list" }, list.map((c) => el("li", { "data-conversation": String(c.conversation_id) },
        el("button", { class: "open-conversation", onclick: () => openConversation(c) }, "Open"), " ",
        `with ${c.participants.filter((p) => p !== id).map((p) => `member ${p}`).join(", ")} — ${c.messages} message${c.messages === 1 ? "" : "s"}` + (c.last_message_at_ms ? `, last ${when(c.last_message_at_ms)}` : "")))) : el("p", {}, "No conversations yet."),
      viewer);
  })();
  return card;
}

// "Download my data": the zip arrives through fetch (the token never goes in a URL) and is
// handed to the browser as a download.
function rightsCard(id) {
  const status = el("p", { class: "muted", id: "download-status" });
  return el("section", { class: "card", id: "rights" },
    el("h2", {}, "Your data"),
    el("p", { class: "hint" }, "Download everything the network stores about you, as a zip of JSON files. The download itself is recorded in your access history."),
    el("button", {
      id: "download",
      onclick: async (ev) => {
        ev.target.disabled = true;
        status.textContent = "Preparing your download…";
        try {
          const res = await fetch(`/api/v1/members/${id}/export`, { headers: { Authorization: "Bearer " + state.token } });
          if (!res.ok) {
            const data = await res.json().catch(() => null);
            throw new Error(data && data.error ? `${data.error.message} (${data.error.code})` : res.statusText);
          }
          const blob = await res.blob();
          const url = URL.createObjectURL(blob);
          const a = el("a", { href: url, download: `steward-member-${id}.zip` });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10000);
          status.textContent = `Downloaded ${Math.round(blob.size / 1024)} KiB.`;
        } catch (e) { status.replaceChildren(failure(e)); }
        ev.target.disabled = false;
      },
    }, "Download my data"),
    status,
    el("h3", {}, "Delete my account"),
    el("p", { class: "hint" }, "Deletes your profile and everything you posted or did; your private messages become unreadable for good, because the key that sealed them is destroyed. Other members keep their side of your conversations as \"message from a deleted member\". The deletion is recorded without your name."),
    el("label", {}, "Type DELETE to confirm ", el("input", { id: "erase-confirm", autocomplete: "off", size: "8" })), " ",
    el("button", {
      id: "erase",
      class: "danger",
      onclick: async (ev) => {
        if (document.getElementById("erase-confirm").value !== "DELETE") {
          return status.replaceChildren(failure(new Error("type DELETE to confirm")));
        }
        ev.target.disabled = true;
        try {
          const r = await api("DELETE", `/api/v1/members/${id}`);
          sessionStorage.removeItem("steward.token");
          state.token = null;
          show(el("h1", {}, "Your account has been deleted"),
            el("p", { id: "erased" }, `Receipt ${r.erasure_id || "(already deleted)"}: ${r.rows_deleted} records deleted, ${r.messages_tombstoned} messages kept for the other participants without their content, your content key ${r.key_destroyed ? "destroyed" : "absent"}.`));
        } catch (e) { status.replaceChildren(failure(e)); ev.target.disabled = false; }
      },
    }, "Delete my account"));
}

function when(ms) {
  return new Date(Number(ms)).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

// Access history: every ledger entry that names the member, with a Verify button that checks
// every proof in this browser (verify.js), not on the server.
function historyCard(id) {
  const card = el("section", { class: "card", id: "access-history" }, el("h2", {}, "Access history"), el("p", { class: "muted" }, "Loading…"));
  (async () => {
    let h;
    try { h = await api("GET", `/api/v1/members/${id}/access-history`); } catch (e) { return card.replaceChildren(el("h2", {}, "Access history"), failure(e)); }
    const result = el("div", { id: "verify-result", role: "status" });
    const rows = h.entries.map((item) => {
      const e = item.entry;
      return el("tr", { "data-seq": String(e.seq) },
        el("td", {}, `#${e.seq}`),
        el("td", {}, when(e.time_ms)),
        el("td", {}, e.actor, el("div", { class: "muted" }, e.role)),
        el("td", {}, e.action, el("div", { class: "muted" }, e.purpose)),
        el("td", { class: "muted" }, [e.categories.join(", "), e.justification ? ` — ${e.justification}` : "", e.details ? ` — ${e.details}` : ""].join("")),
        el("td", { class: "proof" }, item.inclusion_proof ? "proof" : "pending"));
    });
    const button = el("button", {
      id: "verify",
      onclick: async () => {
        button.disabled = true;
        result.replaceChildren(el("p", { class: "muted" }, "Verifying in your browser…"));
        const v = await window.StewardVerify.verifyHistory(h);
        for (const r of v.results) {
          const cell = card.querySelector(`tr[data-seq="${r.seq}"] td.proof`);
          if (cell) {
            cell.className = `proof ${r.status}`;
            cell.textContent = r.status === "ok" ? "✓ verified" : r.status === "pending" ? "pending" : "✗ failed";
            cell.title = r.detail;
          }
        }
        const verified = v.results.filter((r) => r.status === "ok").length;
        const pending = v.results.filter((r) => r.status === "pending").length;
        const failed = v.results.filter((r) => r.status === "failed");
        const cp = v.checkpoint;
        const sig = !cp ? "" : cp.signature === "verified"
          ? `its Ed25519 signature by ${cp.keyName} verified in your browser`
          : "its signature could not be checked: this browser has no Ed25519 in WebCrypto";
        if (v.ok) {
          result.replaceChildren(el("p", { class: "allowed", id: "verify-summary", "data-ok": "true" },
            `Verified: ${verified} of ${v.results.length} entries are in the signed log` + (cp ? ` of ${cp.size} entries; ${sig}.` : ".") + (pending ? ` ${pending} newer entries await the next checkpoint.` : "")));
        } else {
          result.replaceChildren(el("p", { class: "denied", id: "verify-summary", "data-ok": "false" },
            "Verification FAILED: " + (v.error || failed.map((r) => `entry #${r.seq}: ${r.detail}`).join("; "))));
        }
        button.disabled = false;
      },
    }, "Verify");
    card.replaceChildren(
      el("h2", {}, "Access history"),
      el("p", { class: "hint" }, "Every recorded use of your data that names you: who, why, and when. Each entry comes with a cryptographic proof that it is in the network's tamper-evident log; Verify checks those proofs here in your browser, trusting nothing the server computed."),
      el("p", { class: "muted" }, h.checkpoint ? `Signed checkpoint: ${h.checkpoint.size} entries, root ${h.checkpoint.root.slice(0, 16)}…, key ${h.verifier_key.split("+")[0]}` : "No signed checkpoint yet."),
      el("div", { class: "actions" }, button, result),
      h.total > h.entries.length ? el("p", { class: "muted", id: "history-count" }, `Showing the newest ${h.entries.length} of ${h.total} entries.`) : null,
      h.entries.length
        ? el("table", { id: "history" }, el("tr", {}, el("th", {}, "Entry"), el("th", {}, "When"), el("th", {}, "Who"), el("th", {}, "What"), el("th", {}, "Data"), el("th", {}, "Proof")), rows)
        : el("p", {}, "Nothing has been recorded about you yet."));
  })();
  return card;
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

// The auditor's view: the policy matrix, a candidate policy compared with the active one,
// and the ledger — a full verification and the signed checkpoints.
async function auditorView() {
  const [matrix, source] = await Promise.all([api("GET", "/api/v1/policy/matrix"), api("GET", "/api/v1/policy/source")]);
  // Rows: categories any rule covers; columns: purposes any rule covers; a cell lists the
  // forms by visibility, with the consent each needs.
  const purposes = matrix.purposes.filter((p) => matrix.cells.some((c) => c.purpose === p));
  const categories = matrix.categories.filter((c) => matrix.cells.some((x) => x.category === c));
  const cellText = (cat, pu) => {
    const cells = matrix.cells.filter((c) => c.category === cat && c.purpose === pu);
    const forms = new Map();
    for (const c of cells) {
      const r = c.rules[0];
      const key = r.form + (r.consent.length ? ` if ${r.consent.join(", ")}` : "");
      forms.set(key, [...(forms.get(key) || []), c.visibility]);
    }
    return [...forms.entries()].map(([k, vs]) => `${k} (${vs.join(", ")})`).join("; ");
  };
  const matrixCard = el("section", { class: "card", id: "matrix" },
    el("h2", {}, "Policy matrix"),
    el("p", { class: "hint" }, `Active policy ${matrix.version}. Every cell not listed is denied; a cell shows the form a purpose may receive, for which visibilities, and the consent it needs.`),
    el("div", { class: "scroll" }, el("table", { class: "matrix" },
      el("tr", {}, el("th", {}, "Category"), purposes.map((p) => el("th", {}, p))),
      categories.map((c) => el("tr", {}, el("th", {}, c), purposes.map((p) => {
        const t = cellText(c, p);
        return el("td", { class: t ? "allowed-cell" : "denied-cell" }, t || "—");
      }))))));

  const diffOut = el("div", { id: "diff-result" });
  const candidate = el("textarea", { id: "candidate", rows: "14", spellcheck: "false" });
  candidate.value = source.source;
  const diffCard = el("section", { class: "card", id: "diff" },
    el("h2", {}, "Policy diff"),
    el("p", { class: "hint" }, "Paste or edit a candidate policy and compare it with the active one: which cells open, close or change, and for how many members. A candidate that breaks a built-in invariant is refused."),
    candidate,
    el("div", { class: "actions" }, el("button", {
      id: "compare",
      onclick: async () => {
        try {
          const d = await api("POST", "/api/v1/policy/diff", { new: candidate.value });
          diffOut.replaceChildren(
            el("p", { id: "diff-summary" }, d.cells_changed === 0 ? "No change: the candidate decides exactly like the active policy." :
              `${d.cells_changed} cells change (${d.opened} opened, ${d.closed} closed, ${d.changed} changed)` + (d.members_affected !== null ? `; ${d.members_affected} of ${d.population} members affected.` : ".")),
            d.changes.length ? el("table", {},
              el("tr", {}, el("th", {}, "Change"), el("th", {}, "Purpose"), el("th", {}, "Category"), el("th", {}, "Visibility"), el("th", {}, "Before"), el("th", {}, "After"), el("th", {}, "Members")),
              d.changes.map((c) => el("tr", {},
                el("td", { class: c.kind === "opened" ? "denied" : c.kind === "closed" ? "allowed" : "" }, c.kind),
                el("td", {}, c.purpose), el("td", {}, c.category), el("td", {}, c.visibilities.join(", ")),
                el("td", {}, c.before.map((r) => r.form).join(", ") || "denied"),
                el("td", {}, c.after.map((r) => r.form).join(", ") || "denied"),
                el("td", {}, c.affected_members === null ? "" : String(c.affected_members))))) : "");
        } catch (e) { diffOut.replaceChildren(failure(e)); }
      },
    }, "Compare with the active policy")),
    diffOut);

  const verifyOut = el("div", { id: "ledger-result", role: "status" });
  const checkpointsBox = el("div", { id: "checkpoints" });
  const loadCheckpoints = async () => {
    try {
      const list = await api("GET", "/api/v1/ledger/checkpoints");
      checkpointsBox.replaceChildren(
        el("p", { class: "muted" }, `Verifier key: ${list.verifier_key}`),
        el("table", {}, el("tr", {}, el("th", {}, "Entries"), el("th", {}, "Root"), el("th", {}, "Signed"), el("th", {}, "Signature")),
          list.checkpoints.slice().reverse().map((c) => el("tr", {},
            el("td", {}, String(c.size)), el("td", { class: "mono" }, c.root.slice(0, 24) + "…"), el("td", {}, when(c.time_ms)),
            el("td", { class: c.signature_ok ? "allowed" : "denied" }, c.signature_ok ? "valid" : "INVALID")))));
    } catch (e) { checkpointsBox.replaceChildren(failure(e)); }
  };
  const ledgerCard = el("section", { class: "card", id: "ledger" },
    el("h2", {}, "Ledger"),
    el("p", { class: "hint" }, "Recompute every entry's hash and the whole Merkle tree from the stored entries, check every checkpoint's signature and root, and the indexes members' histories are read from."),
    el("div", { class: "actions" }, el("button", {
      id: "verify-ledger",
      onclick: async (ev) => {
        ev.target.disabled = true;
        verifyOut.replaceChildren(el("p", { class: "muted" }, "Verifying…"));
        try {
          const r = await api("POST", "/api/v1/ledger/verify");
          verifyOut.replaceChildren(r.ok
            ? el("p", { class: "allowed", id: "ledger-summary" }, `Intact: ${r.entries} entries, root ${r.root.slice(0, 16)}…, ${r.checkpoints_ok} checkpoints verified.`)
            : el("div", {}, el("p", { class: "denied", id: "ledger-summary" }, `TAMPERED: first bad entry #${r.first_bad_seq}`),
              el("ul", {}, r.problems.map((p) => el("li", {}, `${p.code} at ${p.first_bad}: ${p.detail}`)))));
        } catch (e) { verifyOut.replaceChildren(failure(e)); }
        ev.target.disabled = false;
        loadCheckpoints();
      },
    }, "Verify the ledger")),
    verifyOut,
    el("h3", {}, "Signed checkpoints"),
    checkpointsBox);
  loadCheckpoints();
  show(el("h1", {}, "Auditor"), ledgerCard, diffCard, matrixCard);
}

// The reviewer console: the case queue, then one case — grant request with a justification,
// approval by another staff member (the library refuses self-approval), the scoped message
// view with its expiry, and the decision.
const STAFF = ["reviewer", "approver", "auditor", "admin"];

async function reviewerConsole() {
  const cases = await api("GET", "/api/v1/cases");
  const detail = el("div", { id: "case-detail" });
  const queue = el("section", { class: "card", id: "case-queue" },
    el("h2", {}, "Case queue"),
    el("p", { class: "hint" }, "Reported messages. Reading one needs a grant: a justification, another staff member's approval, a scope (the reported message and a few before it) and an expiry. Every reading is ledgered where the members see it."),
    cases.length ? el("table", {},
      el("tr", {}, el("th", {}, "Case"), el("th", {}, "Status"), el("th", {}, "Reason"), el("th", {}, "Scanner"), el("th", {}, "Opened"), el("th", {}, "")),
      cases.map((c) => el("tr", { "data-case": String(c.case_id) },
        el("td", {}, `#${c.case_id}`), el("td", {}, c.status + (c.decision ? ` (${c.decision})` : "")), el("td", {}, c.reason),
        el("td", {}, c.verdict || "—"), el("td", {}, when(c.opened_at_ms)),
        el("td", {}, el("button", { class: "show-case", onclick: () => showCase(c.case_id, detail) }, "Review"))))) : el("p", {}, "No reported messages."));
  show(el("h1", {}, "Reviewer console"), queue, detail);
  if (state.caseId) showCase(state.caseId, detail);
}

function remaining(ms) {
  const left = Math.max(0, ms - Date.now());
  const h = Math.floor(left / 3600000), m = Math.floor((left % 3600000) / 60000);
  return `${h} h ${m} min`;
}

async function showCase(caseId, box) {
  state.caseId = caseId;
  let d;
  try { d = await api("GET", `/api/v1/cases/${caseId}`); } catch (e) { return box.replaceChildren(failure(e)); }
  const role = state.me.role;
  const out = el("div", { id: "case-output" });
  const refresh = () => showCase(caseId, box);
  const grants = d.grants.map((g) => {
    const mine = d.you === g.requester;
    const actions = [];
    if (role === "approver" && g.status === "pending" && !mine && !g.approvers.includes(d.you)) {
      actions.push(el("button", { class: "approve", onclick: async (ev) => {
        ev.target.disabled = true;
        try { await api("POST", `/api/v1/grants/${g.grant_id}/approve`); await refresh(); } catch (e) { out.replaceChildren(failure(e)); ev.target.disabled = false; }
      } }, "Approve"));
    }
    if (role === "reviewer" && mine && g.status === "active") {
      actions.push(el("button", { class: "open-scope", onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          const o = await api("POST", `/api/v1/grants/${g.grant_id}/open`);
          out.replaceChildren(el("section", { class: "card", id: "scoped-view" },
            el("h3", {}, `Messages under grant #${o.grant_id}`),
            el("p", { class: "expiry", id: "expiry" }, o.expires_at_ms ? `Access expires ${when(o.expires_at_ms)} (in ${remaining(o.expires_at_ms)}); after that, or once the case is decided, these messages close again.` : ""),
            o.items.map((i) => el("div", { class: "message" + (i.item_id === d.case.message_id ? " reported" : ""), "data-message": String(i.item_id) },
              el("div", { class: "meta" }, `${i.kind} #${i.item_id} by member ${i.author_id}${i.item_id === d.case.message_id ? " · reported" : ""} · ledger entry #${i.ledger_seq}`),
              el("div", { class: "text" }, i.text)))));
        } catch (e) { out.replaceChildren(failure(e)); }
        ev.target.disabled = false;
      } }, "Open the scoped messages"));
    }
    return el("tr", { "data-grant": String(g.grant_id), "data-status": g.status },
      el("td", {}, `#${g.grant_id}`), el("td", {}, g.requester + (mine ? " (you)" : "")), el("td", {}, g.justification),
      el("td", { class: "grant-status" }, g.status + (g.approvers.length ? ` — approved by ${g.approvers.join(", ")}` : "")),
      el("td", {}, g.expires_at_ms ? `until ${when(g.expires_at_ms)}` : `${g.duration_ms / 3600000} h once approved`),
      el("td", {}, actions));
  });
  const parts = [
    el("h2", {}, `Case #${d.case.case_id}`),
    el("p", {}, `Reported message #${d.case.message_id} in conversation #${d.case.conversation_id}, by member ${d.case.member_id}. Reason: ${d.case.reason}. Status: ${d.case.status}${d.case.decision ? ` (${d.case.decision})` : ""}.`),
    el("p", { class: "muted" }, `You act as ${d.you}.`),
    d.grants.length ? el("table", { id: "grants" }, el("tr", {}, el("th", {}, "Grant"), el("th", {}, "Requested by"), el("th", {}, "Justification"), el("th", {}, "Status"), el("th", {}, "Expiry"), el("th", {}, "")), grants) : el("p", {}, "No grant requested yet."),
  ];
  if (role === "reviewer" && d.case.status !== "decided") {
    const justification = el("textarea", { id: "justification", rows: "2", placeholder: "Why you need to read this message" });
    const hours = el("input", { id: "hours", type: "number", min: "1", max: "72", value: "24", size: "3" });
    parts.push(el("h3", {}, "Request a grant"), justification, el("div", { class: "actions" },
      el("label", {}, "Hours ", hours),
      el("button", { id: "request-grant", onclick: async (ev) => {
        ev.target.disabled = true;
        try { await api("POST", `/api/v1/cases/${caseId}/grants`, { justification: justification.value, hours: Number(hours.value) }); await refresh(); } catch (e) { out.replaceChildren(failure(e)); ev.target.disabled = false; }
      } }, "Request grant")));
    const decision = el("select", { id: "decision" }, ["no_violation", "warn", "remove_message", "restrict_account"].map((x) => el("option", { value: x }, x)));
    const note = el("input", { id: "note", placeholder: "Note (not ledgered)", size: "30" });
    parts.push(el("h3", {}, "Decide"), el("div", { class: "actions" }, decision, note,
      el("button", { id: "decide", onclick: async (ev) => {
        ev.target.disabled = true;
        try { const r = await api("POST", `/api/v1/cases/${caseId}/decision`, { decision: decision.value, note: note.value }); await refresh(); box.querySelector("#case-output")?.replaceChildren(el("p", { class: "allowed", id: "decided" }, `Decided: ${r.decision}. The case is closed and its grants ended.`)); } catch (e) { out.replaceChildren(failure(e)); ev.target.disabled = false; }
      } }, "Record decision")));
  }
  parts.push(out);
  box.replaceChildren(el("section", { class: "card", id: "case" }, parts));
}

const routes = { "#/privacy": privacyCenter, "#/policy": policyView, "#/auditor": auditorView, "#/reviewer": reviewerConsole };

function defaultRoute() {
  if (!state.me) return "#/privacy";
  if (state.me.role === "auditor" || state.me.role === "admin") return "#/auditor";
  if (state.me.role === "reviewer" || state.me.role === "approver") return "#/reviewer";
  return "#/privacy";
}

async function route() {
  const hash = location.hash.startsWith("#/") && routes[location.hash] ? location.hash : defaultRoute();
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === hash));
  try { await routes[hash](); } catch (e) { show(failure(e)); }
}

async function start() {
  const m = location.hash.match(/^#token=(stw_[0-9a-f]{64})$/);
  if (m) {
    sessionStorage.setItem("steward.token", m[1]);
    state.token = m[1];
    history.replaceState(null, "", "/#/");
  }
  if (!state.token) {
    return show(el("h1", {}, "Steward"), el("p", {}, "Open the sign-in link that `steward demo` or `steward tokens create` printed."));
  }
  try {
    state.me = await api("GET", "/api/v1/whoami");
    document.getElementById("who").textContent = state.me.member_id === null ? state.me.role : `${state.me.role} · member ${state.me.member_id}`;
    const links = [];
    if (state.me.member_id !== null) links.push(el("a", { href: "#/privacy" }, "Privacy center"));
    if (STAFF.includes(state.me.role)) links.push(el("a", { href: "#/reviewer" }, "Reviewer console"));
    if (state.me.role === "auditor" || state.me.role === "admin") links.push(el("a", { href: "#/auditor" }, "Auditor"));
    if (state.me.role === "advertiser") links.push(el("a", { href: "/ui/advertiser.html", id: "advertiser-console" }, "Advertiser console"));
    links.push(el("a", { href: "#/policy" }, "Policy"));
    document.getElementById("nav").replaceChildren(...links);
  } catch (e) {
    sessionStorage.removeItem("steward.token");
    return show(failure(e));
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
