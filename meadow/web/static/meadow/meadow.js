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
document.addEventListener("input", (event) => {
  if (event.target.matches("textarea[data-counter]")) updateCounter(event.target);
});
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("textarea[data-counter]").forEach(updateCounter);
});

// --- the waterfall: cards go into the shortest column (their heights are known from the cover's ratio, so
// nothing jumps while images load); the next page loads when the "More" link scrolls into view.
(() => {
  const columnsFor = (width) => (width >= 1280 ? 5 : width >= 960 ? 4 : width >= 700 ? 3 : 2);
  const ratio = (card) => {
    const [h, w] = (card.dataset.ratio || "4/3").split("/").map(Number);
    return Math.min(Math.max(h / w || 1.33, 0.75), 1.333);
  };
  function layout(grid) {
    const cards = [...grid.querySelectorAll(".note-card")];
    const more = grid.querySelector(".grid-more");
    const n = columnsFor(grid.clientWidth || window.innerWidth);
    const cols = Array.from({ length: n }, () => Object.assign(document.createElement("div"), { className: "wf-col" }));
    const heights = new Array(n).fill(0);
    for (const card of cards) {
      const i = heights.indexOf(Math.min(...heights));
      cols[i].appendChild(card);
      heights[i] += ratio(card) + 0.35; // the caption under the cover
    }
    grid.replaceChildren(...cols);
    grid.classList.add("js-columns");
    grid.dataset.columns = n;
    if (more) { grid.after(more); watch(grid, more); }
  }
  function watch(grid, more) {
    const io = new IntersectionObserver(async (entries) => {
      if (!entries.some((e) => e.isIntersecting) || more.dataset.loading) return;
      more.dataset.loading = "1";
      io.disconnect();
      const url = new URL(more.href, location.href);
      url.searchParams.set("fragment", "1");
      const res = await fetch(url, { headers: { "HX-Request": "true" } });
      if (!res.ok) { delete more.dataset.loading; return; }
      const tpl = document.createElement("template");
      tpl.innerHTML = await res.text();
      const cards = [...tpl.content.querySelectorAll(".note-card")];
      const next = tpl.content.querySelector(".grid-more");
      const cols = [...grid.querySelectorAll(".wf-col")];
      const heights = cols.map((c) => [...c.children].reduce((s, card) => s + ratio(card) + 0.35, 0));
      for (const card of cards) { const i = heights.indexOf(Math.min(...heights)); cols[i].appendChild(card); heights[i] += ratio(card) + 0.35; }
      more.remove();
      if (next) { grid.after(next); watch(grid, next); }
    }, { rootMargin: "800px 0px" });
    io.observe(more);
  }
  const init = () => document.querySelectorAll("[data-waterfall]").forEach((grid) => {
    const more = grid.querySelector(".grid-more");
    if (more) grid.after(more);
    layout(grid);
    let last = grid.dataset.columns;
    window.addEventListener("resize", () => {
      if (columnsFor(grid.clientWidth) === Number(last)) return;
      const cards = [...grid.querySelectorAll(".note-card")];
      grid.replaceChildren(...cards);
      const m = grid.nextElementSibling?.classList.contains("grid-more") ? grid.nextElementSibling : null;
      if (m) grid.appendChild(m);
      layout(grid);
      last = grid.dataset.columns;
    });
  });
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
document.addEventListener("click", async (event) => {
  const link = event.target.closest("a[data-note-link]");
  if (!link || window.innerWidth < 960 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  const res = await fetch(link.href, { headers: { "HX-Request": "true" } });
  if (!res.ok) { location.href = link.href; return; }
  const dialog = document.createElement("dialog");
  dialog.className = "note-dialog";
  dialog.innerHTML = await res.text();
  const close = Object.assign(document.createElement("button"), { className: "dialog-close", type: "button", textContent: "×" });
  close.setAttribute("aria-label", "Close");
  dialog.prepend(close);
  document.body.appendChild(dialog);
  if (window.htmx) htmx.process(dialog);
  initCarousels(dialog);
  const back = location.href;
  history.pushState({ note: true }, "", link.href);
  const shut = () => { dialog.close(); dialog.remove(); if (location.href !== back) history.pushState({}, "", back); };
  close.addEventListener("click", shut);
  dialog.addEventListener("click", (e) => { if (e.target === dialog) shut(); });
  dialog.addEventListener("cancel", (e) => { e.preventDefault(); shut(); });
  window.addEventListener("popstate", () => { if (dialog.open) { dialog.close(); dialog.remove(); } }, { once: true });
  dialog.showModal();
});
