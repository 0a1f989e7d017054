// Search: suggestions while typing under the search boxes (popular searches, topics, people from
// /api/v1/search/suggest, debounced), recent and trending searches (热搜) when a box is empty, the
// search page's filters (applied on change) and "clear recent searches".
(() => {
  "use strict";
  const API = "/api/v1/search";
  // The dropdown's rules are in search.css (a <style> added from here would need the CSP nonce).

  const csrf = () => {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch { return ""; }
  };
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const hl = (text, q) => {
    const i = q ? text.toLowerCase().indexOf(q.toLowerCase()) : -1;
    if (i < 0) return esc(text);
    return esc(text.slice(0, i)) + "<mark>" + esc(text.slice(i, i + q.length)) + "</mark>" + esc(text.slice(i + q.length));
  };
  const getJSON = async (url) => {
    const res = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    return res.ok ? res.json() : null;
  };
  const searchUrl = (q) => "/search/?q=" + encodeURIComponent(q);

  let boxes = 0;
  function attach(input, box) {
    const labels = box.dataset;
    let timer = 0, seq = 0, active = -1;
    const links = () => [...box.querySelectorAll("a")];
    // closing also cancels the pending keystroke and drops answers still on their way (a slow answer to an
    // earlier keystroke must not reopen the list after Escape)
    const close = () => {
      clearTimeout(timer); seq++;
      box.hidden = true; active = -1; input.setAttribute("aria-expanded", "false");
    };
    const open = (html) => {
      box.innerHTML = html;
      box.hidden = !html;
      active = -1;
      input.setAttribute("aria-expanded", String(!!html));
    };
    const section = (title, items, extra = "") => items.length ? `<h3>${esc(title)}${extra}</h3>` + items.join("") : "";

    async function showEmpty() {
      const id = ++seq;
      const [recent, trending] = await Promise.all([
        document.querySelector("form[action$=\"/logout/\"]") ? getJSON(API + "/recent") : null,
        getJSON(API + "/trending"),
      ]);
      if (id !== seq || input.value.trim()) return;
      const r = (recent && recent.items || []).slice(0, 8).map((q) =>
        `<a href="${searchUrl(q)}"><span class="sg-ico">↺</span><span>${esc(q)}</span></a>`);
      const t = (trending && trending.items || []).slice(0, 10).map((item, i) =>
        `<a href="${searchUrl(item.query)}"><span class="sg-ico${i < 3 ? " hot" : ""}">${i + 1}</span><span>${esc(item.query)}</span></a>`);
      const clear = r.length ? `<button type="button" data-sg-clear>${esc(labels.clearLabel || "Clear")}</button>` : "";
      open(section(labels.recentLabel || "Recent", r, clear) + section(labels.trendingLabel || "Trending", t));
    }

    async function suggest(q) {
      const id = ++seq;
      const data = await getJSON(API + "/suggest?q=" + encodeURIComponent(q));
      if (id !== seq || !data) return;
      const queries = data.queries.map((s) =>
        `<a href="${searchUrl(s)}"><span class="sg-ico">⌕</span><span>${hl(s, q)}</span></a>`);
      const topics = data.hashtags.map((h) =>
        `<a href="/topics/${encodeURIComponent(h.name)}/"><span class="sg-ico hot">#</span><span>${hl(h.display_name, q)}</span><span class="sg-meta">${h.count}</span></a>`);
      const people = data.users.map((u) =>
        `<a href="/@${encodeURIComponent(u.handle)}/">${u.avatar ? `<img class="sg-ico" src="${esc(u.avatar)}" alt="">` : `<span class="sg-ico">${esc((u.display_name || u.handle).slice(0, 1))}</span>`}<span>${hl(u.display_name, q)}</span><span class="sg-meta">@${esc(u.handle)}</span></a>`);
      open(section(labels.queriesLabel || "Searches", queries) + section(labels.topicsLabel || "Topics", topics)
        + section(labels.peopleLabel || "People", people));
    }

    const update = () => {
      clearTimeout(timer);
      const q = input.value.trim();
      timer = setTimeout(() => (q ? suggest(q) : showEmpty()), q ? 180 : 0);
    };
    input.setAttribute("autocomplete", "off");
    // A search box with a list of suggestions is a combobox (aria-expanded is not allowed on a plain searchbox).
    if (!box.id) box.id = `search-suggest-${++boxes}`;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", box.id);
    input.setAttribute("aria-expanded", "false");
    input.addEventListener("input", update);
    input.addEventListener("focus", update);
    input.addEventListener("keydown", (e) => {
      const items = links();
      if (e.key === "Escape") { // first Escape closes the list (and keeps the text a search box would clear)
        if (!box.hidden) { e.preventDefault(); close(); }
        return;
      }
      if (box.hidden || !items.length) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        active = (active + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
        items.forEach((a, i) => a.classList.toggle("on", i === active));
        items[active].scrollIntoView({ block: "nearest" });
      } else if (e.key === "Enter" && active >= 0) {
        e.preventDefault();
        location.href = items[active].href;
      }
    });
    box.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus while clicking a suggestion
    box.addEventListener("click", async (e) => {
      if (!e.target.closest("[data-sg-clear]")) return;
      await fetch(API + "/recent", { method: "DELETE", headers: { "X-CSRFToken": csrf() }, credentials: "same-origin" });
      showEmpty();
    });
    input.addEventListener("blur", () => setTimeout(close, 120));
  }

  function init() {
    document.querySelectorAll(".top-search, .search-box").forEach((form) => {
      const input = form.querySelector("input[name=q]");
      if (!input) return;
      let box = form.querySelector("[data-suggest-box]");
      if (!box) {
        const template = document.querySelector("[data-suggest-box]");
        box = document.createElement("div");
        box.className = "search-suggest";
        box.hidden = true;
        box.dataset.suggestBox = "";
        if (template) Object.assign(box.dataset, template.dataset);
        form.appendChild(box);
      }
      attach(input, box);
    });
    // the search page's filters apply as soon as they change
    document.querySelectorAll("[data-search-filters]").forEach((form) => {
      form.addEventListener("change", () => form.requestSubmit ? form.requestSubmit() : form.submit());
    });
    document.querySelectorAll("[data-clear-recent]").forEach((button) => {
      button.addEventListener("click", async () => {
        const res = await fetch(button.dataset.url, { method: "DELETE", headers: { "X-CSRFToken": csrf() }, credentials: "same-origin" });
        if (res.ok) button.closest("[data-recent]").remove();
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
