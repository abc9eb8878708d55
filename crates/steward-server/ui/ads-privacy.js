// The privacy center's ads card: which of the member's professional attributes ads may use
// right now (the policy, their switches and the visibility they chose), with a switch for each.
// Loaded before app.js and called from its privacy center; uses its el(), api() and failure().
"use strict";

// eslint-disable-next-line no-unused-vars
function adsCard(id) {
  const card = el("section", { class: "card", id: "ads-attributes" }, el("h2", {}, "What ads may use"), el("p", { class: "muted" }, "Loading…"));
  const render = async () => {
    let ads;
    try { ads = await api("GET", `/api/v1/members/${id}/ads`); } catch (e) { return card.replaceChildren(el("h2", {}, "What ads may use"), failure(e)); }
    const toggle = (key, on) => el("button", {
      class: on ? "on" : "",
      "data-ads-key": key,
      "aria-pressed": String(on),
      onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          await api("PUT", `/api/v1/members/${id}/settings`, { key, value: on ? "off" : "on" });
          await render();
          // Keep the settings card above in step with the change.
          const other = document.querySelector(`#settings button[data-key="${key}"]`);
          if (other) { other.classList.toggle("on", !on); other.setAttribute("aria-pressed", String(!on)); other.textContent = on ? "Off" : "On"; }
        } catch (e) { ev.target.after(failure(e)); ev.target.disabled = false; }
      },
    }, on ? "On" : "Off");
    card.replaceChildren(
      el("h2", {}, "What ads may use"),
      el("p", { class: "hint" }, "Advertisers choose audiences by professional attributes only — never your messages or private content — and see only rounded, noised sizes and aggregate reports, never who you are. Switch off any attribute and no audience matches you on it; switch off personalized ads and only untargeted ads are shown to you."),
      el("div", { class: "setting", "data-ads-row": "ads.personalized" },
        el("div", {}, el("strong", {}, "Personalized ads"), el("div", { class: "muted" }, "ads.personalized")),
        toggle("ads.personalized", ads.personalized)),
      el("table", {},
        el("tr", {}, el("th", {}, "Attribute"), el("th", {}, "Your profile says"), el("th", {}, "Ads"), el("th", {}, "Your switch")),
        ads.attributes.map((a) => el("tr", { "data-ads-attribute": a.attribute },
          el("td", {}, el("strong", {}, a.attribute.replace("_", " ")), el("div", { class: "muted" }, a.consent_key)),
          el("td", {}, a.value === null ? el("span", { class: "muted" }, "(empty)") : a.value),
          el("td", { class: a.used ? "allowed ads-used" : "denied ads-used" }, a.used ? "may use" : "not used"),
          el("td", {}, toggle(a.consent_key, a.switched_on))))));
  };
  render();
  return card;
}
