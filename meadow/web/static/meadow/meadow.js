// Meadow's small progressive enhancements; every page works without them.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) el.form.submit();
});
function updateCounter(textarea) {
  const out = document.querySelector(`output[data-for="${textarea.id}"]`);
  if (!out) return;
  const max = Number(textarea.dataset.counter);
  // count as a person counts: grapheme clusters
  const seg = window.Intl && Intl.Segmenter ? new Intl.Segmenter() : null;
  const n = seg ? [...seg.segment(textarea.value)].length : [...textarea.value].length;
  out.textContent = `${n}/${max}`;
  out.classList.toggle("over", n > max);
}
// Forms that ask first (data-confirm: the question, already translated); no inline handlers under the CSP.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
document.addEventListener("input", (event) => {
  if (event.target.matches("textarea[data-counter]")) updateCounter(event.target);
});
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("textarea[data-counter]").forEach(updateCounter);
});

// --- the waterfall: cards go into the shortest column (their heights are known from the cover's ratio, so
// nothing jumps while images load); the next page loads as the reader nears the "More" link (infinite scroll),
// with placeholder cards while it loads. The pages loaded and the scroll position are kept in sessionStorage, so
// coming back to the feed shows the same cards at the same place. Without JavaScript "More" is a plain link.
(() => {
  const columnsFor = (width) => (width >= 1280 ? 5 : width >= 960 ? 4 : width >= 700 ? 3 : 2);
  const ratio = (card) => {
    const [h, w] = (card.dataset.ratio || "4/3").split("/").map(Number);
    return Math.min(Math.max(h / w || 1.33, 0.75), 1.333);
  };
  const memoryKey = () => `meadow:feed:${location.pathname}${location.search}`;
  const remember = (change) => {
    try {
      const saved = JSON.parse(sessionStorage.getItem(memoryKey()) || "{}");
      sessionStorage.setItem(memoryKey(), JSON.stringify({ ...saved, ...change(saved) }));
    } catch (e) { /* private mode or full: the feed simply starts at the top */ }
  };
  const recalled = () => {
    try { return JSON.parse(sessionStorage.getItem(memoryKey()) || "null"); } catch (e) { return null; }
  };
  const moreOf = (grid) => grid.querySelector(".grid-more") ||
    (grid.nextElementSibling?.classList.contains("grid-more") ? grid.nextElementSibling : null);
  let seq = 0;
  function place(grid, cards) {
    for (const card of cards) if (!card.dataset.seq) card.dataset.seq = String(seq++);
    const cols = [...grid.querySelectorAll(".wf-col")];
    const heights = cols.map((c) => [...c.children].reduce((s, card) => s + ratio(card) + 0.35, 0));
    for (const card of cards) { const i = heights.indexOf(Math.min(...heights)); cols[i].appendChild(card); heights[i] += ratio(card) + 0.35; }
  }
  const bySeq = (x, y) => Number(x.dataset.seq) - Number(y.dataset.seq);
  function layout(grid) {
    const cards = [...grid.querySelectorAll(".note-card")].sort(bySeq);
    const more = moreOf(grid);
    const n = columnsFor(grid.clientWidth || window.innerWidth);
    const cols = Array.from({ length: n }, () => Object.assign(document.createElement("div"), { className: "wf-col" }));
    grid.replaceChildren(...cols);
    place(grid, cards);
    grid.classList.add("js-columns");
    grid.dataset.columns = n;
    if (more) grid.after(more);
  }
  function placeholders(grid, more) {
    const box = Object.assign(document.createElement("div"), { className: "grid-loading" });
    box.setAttribute("aria-hidden", "true");
    box.dataset.testid = "grid-loading";
    for (let i = 0; i < columnsFor(grid.clientWidth || window.innerWidth); i++) {
      box.appendChild(Object.assign(document.createElement("div"), { className: "card-skeleton" }));
    }
    more.before(box);
    return box;
  }
  // Fetch the page behind ``more`` and add its cards; returns the next "More" link (or null at the end).
  async function loadNext(grid, more) {
    const url = new URL(more.href, location.href);
    url.searchParams.set("fragment", "1");
    const res = await fetch(url, { headers: { "HX-Request": "true" } });
    if (!res.ok) return more;
    const tpl = document.createElement("template");
    tpl.innerHTML = await res.text();
    place(grid, [...tpl.content.querySelectorAll(".note-card")]);
    const next = tpl.content.querySelector(".grid-more");
    more.replaceWith(...(next ? [next] : []));
    if (window.htmx) htmx.process(grid);
    return next;
  }
  function watch(grid, more) {
    if (!more) return;
    const io = new IntersectionObserver(async (entries) => {
      if (!entries.some((e) => e.isIntersecting) || more.dataset.loading) return;
      more.dataset.loading = "1";
      io.disconnect();
      const box = placeholders(grid, more);
      const next = await loadNext(grid, more).catch(() => more);
      box.remove();
      if (next === more) { delete more.dataset.loading; watch(grid, more); return; }
      rememberGrid(grid);
      watch(grid, next);
    }, { rootMargin: "800px 0px" });
    io.observe(more);
  }
  // What a reader has scrolled through: every card (in order) and the next "More" link, saved after each page.
  function rememberGrid(grid) {
    const cards = [...grid.querySelectorAll(".note-card")].sort(bySeq).map((c) => c.outerHTML);
    const more = moreOf(grid);
    remember(() => ({ cards, more: more ? more.outerHTML : "" }));
  }
  // Coming back (the back button) to a feed that had loaded more: the same cards and the same place.
  function restore(grid) {
    const nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
    const saved = recalled();
    if (!nav || nav.type !== "back_forward") { try { sessionStorage.removeItem(memoryKey()); } catch (e) { /* */ } return moreOf(grid); }
    if (saved && saved.cards && saved.cards.length) {
      const tpl = document.createElement("template");
      tpl.innerHTML = saved.cards.join("") + (saved.more || "");
      const old = moreOf(grid);
      [...grid.querySelectorAll(".wf-col")].forEach((c) => c.replaceChildren());
      const cards = [...tpl.content.querySelectorAll(".note-card")];
      place(grid, cards);
      seq = Math.max(seq, ...cards.map((c) => Number(c.dataset.seq) + 1));
      const more = tpl.content.querySelector(".grid-more");
      if (old) old.remove();
      if (more) grid.after(more);
      if (window.htmx) htmx.process(grid);
    }
    if (saved && saved.y) requestAnimationFrame(() => window.scrollTo(0, saved.y));
    return moreOf(grid);
  }
  const init = () => {
    const grids = document.querySelectorAll("[data-waterfall]");
    if (!grids.length) return;
    if ("scrollRestoration" in history) history.scrollRestoration = "manual";
    let ticking = false;
    window.addEventListener("scroll", () => {
      if (ticking) return;
      ticking = true;
      setTimeout(() => { ticking = false; remember(() => ({ y: Math.round(window.scrollY) })); }, 200);
    }, { passive: true });
    grids.forEach((grid) => {
      layout(grid);
      let last = grid.dataset.columns;
      window.addEventListener("resize", () => {
        if (columnsFor(grid.clientWidth) === Number(last)) return;
        layout(grid);
        last = grid.dataset.columns;
      });
      watch(grid, restore(grid));
    });
  };
  document.addEventListener("DOMContentLoaded", init);
})();

// --- carousels: arrows and dots follow the scroll-snap track.
function initCarousels(root) {
  root.querySelectorAll("[data-carousel]").forEach((c) => {
    const track = c.querySelector(".carousel-track");
    const dots = [...c.querySelectorAll(".carousel-dots span")];
    c.querySelectorAll(".carousel-nav").forEach((b) => b.addEventListener("click", () =>
      track.scrollBy({ left: Number(b.dataset.dir) * track.clientWidth, behavior: "smooth" })));
    track.addEventListener("scroll", () => {
      const i = Math.round(track.scrollLeft / track.clientWidth);
      dots.forEach((d, j) => d.classList.toggle("active", i === j));
    }, { passive: true });
  });
}
document.addEventListener("DOMContentLoaded", () => initCarousels(document));

// --- on desktop a note opens as a sheet over the feed (its own URL in the address bar); on phones, a page.
// Keyboard: a card's links open it with Enter; in the open sheet Tab and Shift+Tab go round its own controls
// (a modal dialog: the page behind is inert), and Escape closes it and puts the focus back on the card's link.
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), summary, video[controls], [tabindex]:not([tabindex="-1"])';
const focusables = (root) => [...root.querySelectorAll(FOCUSABLE)].filter((el) => el.getClientRects().length && !el.closest("[hidden], details:not([open]) > :not(summary)"));
document.addEventListener("click", async (event) => {
  const link = event.target.closest("a[data-note-link]");
  if (!link || window.innerWidth < 960 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  const res = await fetch(link.href, { headers: { "HX-Request": "true" } });
  if (!res.ok) { location.href = link.href; return; }
  const dialog = document.createElement("dialog");
  dialog.className = "note-dialog";
  dialog.dataset.testid = "note-dialog";
  dialog.innerHTML = await res.text();
  const heading = dialog.querySelector(".note-heading");
  if (heading) { heading.id = heading.id || `note-heading-${Date.now()}`; dialog.setAttribute("aria-labelledby", heading.id); }
  else dialog.setAttribute("aria-label", link.textContent.trim() || document.title);
  const close = Object.assign(document.createElement("button"), { className: "dialog-close", type: "button", textContent: "×" });
  close.setAttribute("aria-label", document.body.dataset.closeLabel || "Close");
  close.dataset.testid = "dialog-close";
  dialog.prepend(close);
  document.body.appendChild(dialog);
  if (window.htmx) htmx.process(dialog);
  initCarousels(dialog);
  const back = location.href;
  history.pushState({ note: true }, "", link.href);
  const done = () => { dialog.close(); dialog.remove(); if (link.isConnected) link.focus(); };
  const shut = () => { done(); if (location.href !== back) history.pushState({}, "", back); };
  close.addEventListener("click", shut);
  dialog.addEventListener("click", (e) => { if (e.target === dialog) shut(); });
  dialog.addEventListener("cancel", (e) => { e.preventDefault(); shut(); });
  dialog.addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const items = focusables(dialog);
    if (!items.length) return;
    const first = items[0], last = items[items.length - 1];
    if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  });
  window.addEventListener("popstate", () => { if (dialog.open) done(); }, { once: true });
  dialog.showModal();
  close.focus();
});

// --- engagement: impressions in batches, reads and video completion, hearts on cards, "not interested",
// copy share links, reply targets, and the real-time unread badge.
(() => {
  const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";
  const post = (url, body) => fetch(url, {
    method: "POST", credentials: "same-origin", keepalive: true,
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: body ? JSON.stringify(body) : undefined,
  });
  const source = () => (location.pathname === "/" ? (new URLSearchParams(location.search).get("tab") === "following" ? "following" : "discover")
    : location.pathname.startsWith("/topics/") ? "topic" : location.pathname.startsWith("/search") ? "search"
    : location.pathname.startsWith("/@") ? "profile" : "direct");

  // Impressions: cards at least half visible, sent in batches of up to 100 (one request, one bulk write).
  // Feed cards carry a signed impression token (distribution) that is echoed instead of the bare id.
  const seen = new Set(); let queue = []; let timer = null;
  const flush = () => {
    timer = null; if (!queue.length) return;
    const batch = queue.splice(0, 100);
    const data = { note_ids: batch.filter((c) => !c.token).map((c) => c.id), tokens: batch.filter((c) => c.token).map((c) => c.token), source: source() };
    // fetch with keepalive (not sendBeacon): it outlives the page like a beacon, and it can carry the CSRF
    // header the API requires of every write a signed-in session makes (a beacon cannot set headers).
    post("/api/v1/impressions", data);
    if (queue.length) timer = setTimeout(flush, 0);
  };
  // Automated browsers (navigator.webdriver) are not readers: their impressions are not counted.
  const io = "IntersectionObserver" in window && !navigator.webdriver ? new IntersectionObserver((entries) => {
    for (const e of entries) {
      const id = Number(e.target.dataset.noteId);
      if (e.isIntersecting && id && !seen.has(id)) { seen.add(id); queue.push({ id, token: e.target.dataset.impression || "" }); io.unobserve(e.target); }
    }
    if (queue.length >= 100) flush(); else if (queue.length && !timer) timer = setTimeout(flush, 2000);
  }, { threshold: 0.5 }) : null;
  const observeCards = (root) => io && root.querySelectorAll(".note-card[data-note-id]").forEach((c) => io.observe(c));
  addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(); });
  new MutationObserver((muts) => muts.forEach((m) => m.addedNodes.forEach((n) => n.nodeType === 1 && observeCards(n))))
    .observe(document.documentElement, { childList: true, subtree: true });

  // Reads (a note opened, on its page or as a sheet) and video completion (≥ 90 % watched, once).
  const reported = new WeakSet();
  const initSheets = (root) => root.querySelectorAll(".note-sheet[data-read-url]").forEach((sheet) => {
    if (reported.has(sheet)) return; reported.add(sheet);
    post(sheet.dataset.readUrl);
    const video = sheet.querySelector("video"); const url = sheet.dataset.completionUrl;
    if (video && url) {
      let done = false;
      video.addEventListener("timeupdate", () => {
        if (!done && video.duration && video.currentTime / video.duration >= 0.9) { done = true; post(url); }
      });
    }
  });
  document.addEventListener("DOMContentLoaded", () => { observeCards(document); initSheets(document); });
  new MutationObserver(() => initSheets(document)).observe(document.documentElement, { childList: true, subtree: true });

  // A click on a Spotlight ad (its cover, title or author) is charged once: the signed token names the impression,
  // and the server charges a token once whatever the browser sends. Capture phase: before the sheet opens.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a");
    const ad = link && link.closest(".note-card[data-ad-token]");
    if (!ad) return;
    const token = ad.dataset.adToken; delete ad.dataset.adToken;
    post("/api/v1/ads/clicks", { token });
  }, true);

  document.addEventListener("click", async (event) => {
    const heart = event.target.closest("[data-card-like]");
    if (heart) {
      event.preventDefault();
      const on = heart.classList.contains("on");
      const res = await fetch(heart.dataset.cardLike + "?source=" + source(), {
        method: on ? "DELETE" : "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf() } });
      if (res.ok) {
        const data = await res.json();
        heart.classList.toggle("on", data.liked); heart.setAttribute("aria-pressed", String(data.liked));
        heart.querySelector("span").textContent = data.counts.likes;
      }
      return;
    }
    const hide = event.target.closest("[data-not-interested]");
    if (hide) {
      event.preventDefault();
      const url = hide.dataset.notInterested + "?source=" + source();
      const res = await post(url);
      if (res.ok) {
        // The card gives way to a small notice with Undo; undoing puts the same card back in its place.
        const card = hide.closest(".note-card");
        const menu = hide.closest("details"); if (menu) menu.open = false;
        const notice = document.createElement("div");
        notice.className = "note-card hidden-note"; notice.dataset.testid = "hidden-note";
        notice.setAttribute("role", "status");
        const text = document.createElement("p"); text.textContent = hide.dataset.hiddenLabel;
        const undo = document.createElement("button"); undo.type = "button"; undo.className = "btn btn-ghost small";
        undo.textContent = hide.dataset.undoLabel; undo.dataset.testid = "undo-hide";
        undo.addEventListener("click", async () => {
          const back = await fetch(url, { method: "DELETE", credentials: "same-origin", headers: { "X-CSRFToken": csrf() } });
          if (back.ok) notice.replaceWith(card);
        });
        notice.append(text, undo);
        card.replaceWith(notice);
      }
      return;
    }
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const input = copy.parentElement.querySelector("[data-share-url]");
      input.select();
      try { await navigator.clipboard.writeText(input.value); } catch { document.execCommand && document.execCommand("copy"); }
      copy.textContent = "✓";
      return;
    }
    const reply = event.target.closest("[data-reply-to]");
    if (reply) {
      const section = reply.closest(".comments"); const form = section && section.querySelector(".comment-form");
      if (!form) return;
      form.querySelector("[data-reply-parent]").value = reply.dataset.replyTo;
      const hint = form.querySelector("[data-replying]"); hint.hidden = false;
      hint.querySelector("span").textContent = "↪ " + reply.dataset.replyName;
      form.querySelector("textarea").focus();
      return;
    }
    const cancel = event.target.closest("[data-reply-cancel]");
    if (cancel) {
      const form = cancel.closest(".comment-form");
      form.querySelector("[data-reply-parent]").value = ""; form.querySelector("[data-replying]").hidden = true;
    }
  });

  // The unread badge follows the server in real time (Channels), reconnecting with a back-off.
  const badge = (counts) => document.querySelectorAll("[data-unread-badge]").forEach((b) => {
    b.textContent = counts.total > 99 ? "99+" : String(counts.total); b.hidden = !counts.total;
  });
  let delay = 1000;
  const connect = () => {
    const path = document.body.dataset.notificationsWs; if (!path || !("WebSocket" in window)) return;
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
    ws.onmessage = (m) => { try { const d = JSON.parse(m.data); if (d.type === "unread") badge(d.counts); } catch {} };
    ws.onopen = () => { delay = 1000; };
    ws.onclose = (e) => { if (e.code !== 4401) setTimeout(connect, delay = Math.min(delay * 2, 30000)); };
  };
  document.addEventListener("DOMContentLoaded", connect);
})();

// --- Nearby: the browser's position when the reader allows it, else the place on the profile ---------------------
document.addEventListener("DOMContentLoaded", () => {
  const marker = document.querySelector("[data-geo-nearby='ask']");
  if (!marker || !navigator.geolocation || sessionStorage.getItem("meadow-geo") === "denied") return;
  navigator.geolocation.getCurrentPosition((pos) => {
    const url = new URL(location.href);
    url.searchParams.set("lat", pos.coords.latitude.toFixed(2)); url.searchParams.set("lng", pos.coords.longitude.toFixed(2));
    location.replace(url.toString());
  }, () => sessionStorage.setItem("meadow-geo", "denied"), { maximumAge: 600000, timeout: 8000 });
});
// "Use my position" asks again, even after an earlier refusal (the browser says why it cannot)
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("[data-geo-use]");
  if (!button || !navigator.geolocation) return;
  sessionStorage.removeItem("meadow-geo");
  navigator.geolocation.getCurrentPosition((pos) => {
    const url = new URL(location.href);
    url.searchParams.set("lat", pos.coords.latitude.toFixed(2)); url.searchParams.set("lng", pos.coords.longitude.toFixed(2));
    location.replace(url.toString());
  }, () => { sessionStorage.setItem("meadow-geo", "denied"); button.disabled = true; }, { maximumAge: 600000, timeout: 8000 });
});

// --- file pickers: the chosen files' names and, for images, preview thumbnails (avatar, cover, licence …).
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!input.matches || !input.matches("[data-file-pick] input[type=file]")) return;
  const pick = input.closest("[data-file-pick]");
  const name = pick.querySelector("[data-file-name]");
  const thumbs = pick.querySelector("[data-file-thumbs]");
  const files = [...input.files];
  if (!name.dataset.empty) name.dataset.empty = name.textContent;
  name.textContent = files.length ? files.map((f) => f.name).join(", ") : name.dataset.empty;
  thumbs.replaceChildren(...files.filter((f) => f.type.startsWith("image/")).slice(0, 9).map((f) => {
    const img = Object.assign(document.createElement("img"), { src: URL.createObjectURL(f), alt: "" });
    img.dataset.testid = "file-preview";
    return img;
  }));
});

// --- menus (card "···", note menus): opening one closes the others. The click (mouse, or Enter/Space on the
// summary) closes them at once; the toggle event, which the browser fires later, only covers menus opened some
// other way. Closing from the toggle alone lost a race: two quick clicks queue two toggles, and the first one's
// handler closed the menu the second click had just opened.
let lastMenu = null;
const closeOtherMenus = (keep) => document.querySelectorAll("details.menu[open]").forEach((other) => { if (other !== keep) other.open = false; });
document.addEventListener("click", (event) => {
  const summary = event.target instanceof Element ? event.target.closest("details.menu > summary") : null;
  if (!summary || summary.parentElement.open) return;
  lastMenu = summary.parentElement;
  closeOtherMenus(lastMenu);
}, true);
document.addEventListener("toggle", (event) => {
  const opened = event.target;
  if (!(opened instanceof HTMLDetailsElement) || !opened.open || !opened.classList.contains("menu")) return;
  if (lastMenu && lastMenu !== opened && lastMenu.open) return;  // a later click already opened another one
  lastMenu = opened;
  closeOtherMenus(opened);
}, true);

// --- the installable web app: register the service worker (meadow/web/pwa.py) for the whole site. It caches
// the shell and shows the offline page when a navigation fails; without it every page works as before.
(() => {
  const url = document.documentElement.dataset.serviceWorker;
  if (!url || !("serviceWorker" in navigator) || !window.isSecureContext) return;
  window.addEventListener("load", () => {
    navigator.serviceWorker.register(url, { scope: "/" }).catch(() => { /* an old browser: no offline page */ });
  });
})();
