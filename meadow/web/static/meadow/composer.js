// The composer: image picking (drop, reorder, remove), live counters, topics with the 5-3-2 helper and live
// moderation findings. The form posts as a normal multipart form; this script only keeps it in sync.
(() => {
  const form = document.querySelector("[data-composer]");
  if (!form) return;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const seg = window.Intl && Intl.Segmenter ? new Intl.Segmenter() : null;
  const length = (s) => (seg ? [...seg.segment(s)].length : [...s].length);
  const maxImages = Number(form.dataset.maxImages);
  const maxTags = Number(form.dataset.maxTags);

  // --- media -------------------------------------------------------------------------------------------------
  const input = form.querySelector("[data-images]");
  const thumbs = form.querySelector("[data-thumbs]");
  const previewCover = form.querySelector("[data-preview-cover]");
  let files = [];
  let alts = []; // what each new image shows (its alt text), beside ``files``
  // Images kept by the server from a refused attempt: shown as thumbnails, reordered by dragging, left out with ×
  // (a ticked box the server reads, so it works without this script too).
  const kept = form.querySelector("[data-kept]");
  const keptItems = () => (kept ? [...kept.querySelectorAll("li[data-upload]:not([hidden])")] : []);
  const renumber = () => keptItems().forEach((li, i) => { li.querySelector(".pos").textContent = i === 0 ? "★" : i + 1; });
  if (kept) {
    kept.querySelectorAll("li[data-upload]").forEach((li) => {
      li.querySelector("input[type=checkbox]").addEventListener("change", () => { li.hidden = true; renumber(); sync(); });
      li.addEventListener("dragstart", (e) => e.dataTransfer.setData("text/x-upload", li.dataset.upload));
      li.addEventListener("dragover", (e) => e.preventDefault());
      li.addEventListener("drop", (e) => {
        const id = e.dataTransfer.getData("text/x-upload");
        if (!id) return;
        e.preventDefault(); e.stopPropagation();
        const moved = kept.querySelector(`li[data-upload="${id}"]`);
        if (moved && moved !== li) kept.insertBefore(moved, li);
        renumber(); sync();
      });
    });
  }
  const sync = () => {
    const dt = new DataTransfer();
    files.forEach((f) => dt.items.add(f));
    input.files = dt.files;
    thumbs.innerHTML = "";
    files.forEach((file, i) => {
      const li = document.createElement("li");
      li.draggable = true;
      li.dataset.index = i;
      const url = URL.createObjectURL(file);
      const at = keptItems().length + i;
      li.innerHTML = `<img src="${url}" alt=""><span class="pos">${at === 0 ? "★" : at + 1}</span>
        <button type="button" class="rm">×</button><label class="alt-field"><span class="visually-hidden"></span><input name="alts" maxlength="250" data-testid="alt-input"></label>`;
      const rm = li.querySelector(".rm");
      rm.setAttribute("aria-label", thumbs.dataset.removeLabel || "Remove");
      li.querySelector(".alt-field span").textContent = (thumbs.dataset.altLabel || "%(n)s").replace("%(n)s", String(at + 1));
      const alt = li.querySelector("input[name=alts]");
      alt.placeholder = thumbs.dataset.altPlaceholder || "";
      alt.value = alts[i] || "";
      alt.addEventListener("input", () => { alts[i] = alt.value; });
      rm.addEventListener("click", () => { files.splice(i, 1); alts.splice(i, 1); sync(); });
      li.addEventListener("dragstart", (e) => e.dataTransfer.setData("text/x-index", String(i)));
      li.addEventListener("dragover", (e) => e.preventDefault());
      li.addEventListener("drop", (e) => {
        e.preventDefault(); e.stopPropagation();
        const from = Number(e.dataTransfer.getData("text/x-index"));
        if (Number.isNaN(from)) return;
        const [moved] = files.splice(from, 1);
        files.splice(i, 0, moved);
        const [movedAlt] = alts.splice(from, 1);
        alts.splice(i, 0, movedAlt || "");
        sync();
      });
      thumbs.appendChild(li);
    });
    const first = keptItems()[0];
    previewCover.style.backgroundImage = first ? `url(${first.querySelector("img").src})`
      : files[0] ? `url(${URL.createObjectURL(files[0])})` : "";
  };
  const add = (list) => {
    for (const f of list) if (keptItems().length + files.length < maxImages) files.push(f);
    sync();
  };
  if (kept) sync(); // the feed preview shows the kept cover
  input.addEventListener("change", () => { const picked = [...input.files]; files = []; alts = []; add(picked); });
  const zone = form.querySelector("[data-dropzone]");
  zone.addEventListener("dragover", (e) => { if (e.dataTransfer.types.includes("Files")) { e.preventDefault(); zone.classList.add("over"); } });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    if (!e.dataTransfer.files.length) return;
    e.preventDefault(); zone.classList.remove("over");
    add([...e.dataTransfer.files].filter((f) => f.type.startsWith("image/") || /\.hei[cf]$/i.test(f.name)));
  });
  form.querySelectorAll("input[name=media_kind]").forEach((radio) => radio.addEventListener("change", () => {
    const video = form.querySelector("input[name=media_kind]:checked").value === "video";
    form.querySelector(".media-images").hidden = video;
    form.querySelector(".media-video").hidden = !video;
    if (video) { files = []; alts = []; sync(); } else { form.querySelector("#id_video").value = ""; }
  }));

  // --- counters ----------------------------------------------------------------------------------------------
  const counters = () => form.querySelectorAll("[data-count]").forEach((el) => {
    const out = form.querySelector(`output[data-for="${el.id}"]`);
    const n = length(el.value), max = Number(el.dataset.count);
    out.textContent = `${n}/${max}`;
    out.classList.toggle("over", n > max);
  });
  const title = form.querySelector("#id_title"), body = form.querySelector("#id_body");
  const previewTitle = form.querySelector("[data-preview-title]");
  const placeholderTitle = previewTitle.textContent;
  const syncPreviewTitle = () => {
    previewTitle.textContent = title.value || body.value.slice(0, 40) || placeholderTitle;
  };
  title.addEventListener("input", syncPreviewTitle);
  body.addEventListener("input", syncPreviewTitle);
  // A refused or re-opened note comes back with its title and text: the preview shows them, not the placeholder.
  if (title.value || body.value) syncPreviewTitle();

  // --- topics ------------------------------------------------------------------------------------------------
  const chips = form.querySelector("[data-chips]");
  const tagInput = form.querySelector("[data-tag-input]");
  const norm = (t) => t.normalize("NFKC").toLowerCase().replace(/^#/, "").trim();
  const bodyTags = () => [...body.value.matchAll(/#([\p{L}\p{N}\p{M}_][\p{L}\p{N}\p{M}_·\-]*)/gu)].map((m) => norm(m[1]));
  const chipTags = () => [...chips.querySelectorAll("input[name=hashtags]")].map((i) => norm(i.value));
  const tagCount = () => {
    const n = new Set([...bodyTags(), ...chipTags()]).size;
    const out = form.querySelector("[data-tag-count]");
    out.textContent = `${n}/${maxTags}`;
    out.classList.toggle("over", n > maxTags);
    return n;
  };
  const addTag = (raw) => {
    const tag = raw.replace(/^#/, "").trim();
    if (!tag || chipTags().includes(norm(tag)) || bodyTags().includes(norm(tag))) return;
    if (tagCount() >= maxTags) { tagInput.setCustomValidity(`max ${maxTags}`); tagInput.reportValidity(); return; }
    const chip = document.createElement("span");
    chip.className = "chip chip-removable";
    chip.textContent = `#${tag}`;
    const hidden = Object.assign(document.createElement("input"), { type: "hidden", name: "hashtags", value: tag });
    const rm = Object.assign(document.createElement("button"), { type: "button", textContent: "×" });
    chip.append(hidden, rm);
    chips.appendChild(chip);
    tagCount();
  };
  // Hashtags typed in the body are topics too: shown as chips (they go with the text, so no ×) and counted.
  const bodyChips = Object.assign(document.createElement("span"), { className: "body-chips" });
  bodyChips.dataset.bodyChips = "";
  chips.before(bodyChips);
  const showBodyTags = () => {
    const seen = new Set();
    bodyChips.replaceChildren(...[...body.value.matchAll(/#([\p{L}\p{N}\p{M}_][\p{L}\p{N}\p{M}_·\-]*)/gu)]
      .filter((m) => !seen.has(norm(m[1])) && seen.add(norm(m[1])))
      .map((m) => Object.assign(document.createElement("span"), { className: "chip chip-body", textContent: `#${m[1]}` })));
    tagCount();
  };
  body.addEventListener("input", showBodyTags);
  showBodyTags();
  chips.addEventListener("click", (e) => { if (e.target.matches("button")) { e.target.parentElement.remove(); tagCount(); } });
  tagInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === ",") { e.preventDefault(); addTag(tagInput.value); tagInput.value = ""; }
  });
  tagInput.addEventListener("input", () => tagInput.setCustomValidity(""));
  form.querySelector("[data-suggest]").addEventListener("click", async () => {
    const params = new URLSearchParams({ title: title.value, text: body.value });
    const res = await fetch(`${form.dataset.suggestUrl}?${params}`, { headers: { Accept: "application/json" } });
    if (!res.ok) return;
    const data = await res.json();
    const box = form.querySelector("[data-suggestions]");
    for (const group of ["core", "derived", "trending"]) {
      const slot = box.querySelector(`[data-group=${group}]`);
      slot.innerHTML = "";
      for (const tag of data[group].filter((t) => !chipTags().includes(norm(t)) && !bodyTags().includes(norm(t)))) {
        const b = Object.assign(document.createElement("button"), { type: "button", className: "chip chip-add", textContent: `#${tag}` });
        b.addEventListener("click", () => { addTag(tag); b.disabled = true; });
        slot.appendChild(b);
      }
      slot.parentElement.hidden = !slot.children.length; // no empty "Trending" row when no trend fits
    }
    box.hidden = false;
  });

  // --- live moderation -----------------------------------------------------------------------------------------
  const panel = form.querySelector("[data-moderation]");
  let timer = null, seq = 0;
  const escape = (s) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const moderate = async () => {
    const text = `${title.value}\n${body.value}`;
    if (!text.trim()) { panel.hidden = true; return; }
    const mine = ++seq;
    const res = await fetch(form.dataset.checkUrl, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ text, field: "note" }),
    });
    if (!res.ok || mine !== seq) return;
    const result = await res.json();
    if (!result.hits.length) { panel.hidden = true; return; }
    let marked = "", last = 0;
    for (const h of [...result.hits].sort((a, b) => a.start - b.start)) {
      if (h.start < last) continue;
      marked += escape(text.slice(last, h.start)) + `<mark class="sev-${h.severity}">${escape(text.slice(h.start, h.end))}</mark>`;
      last = h.end;
    }
    marked += escape(text.slice(last));
    panel.className = `moderation verdict-${result.verdict}`;
    panel.innerHTML = `<p class="moderation-head">${escape(panel.dataset[result.verdict] || result.verdict)}</p>
      <ul>${result.hits.map((h) => `<li><span class="cat" title="${escape(h.category)}">${escape(h.label || h.category)}</span> «${escape(h.match)}»${h.suggestion ? ` → <em>${escape(h.suggestion)}</em>` : ""}</li>`).join("")}</ul>
      <div class="moderation-text">${marked}</div>`;
    panel.hidden = false;
  };
  form.querySelectorAll("[data-moderate]").forEach((el) => el.addEventListener("input", () => {
    counters(); tagCount();
    clearTimeout(timer); timer = setTimeout(moderate, 500);
  }));
  counters(); tagCount();
  if (title.value || body.value) moderate();
})();
