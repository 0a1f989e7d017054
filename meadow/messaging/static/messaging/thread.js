// One open conversation: sends through the API (a client_id per message, so a retry never doubles it), shows
// messages arriving live, "Seen", "typing…", and the moderation finding when a message is refused. Without this
// module the send box is a plain form post.
(() => {
  "use strict";
  const thread = document.querySelector("[data-dm-thread]");
  if (!thread) return;
  const id = Number(thread.dataset.conversation);
  const me = thread.dataset.me;
  const list = thread.querySelector("[data-dm-list]");
  const seen = thread.querySelector("[data-dm-seen]");
  const typing = thread.querySelector("[data-dm-typing]");
  const error = thread.querySelector("[data-dm-error]");
  const form = thread.querySelector("[data-dm-send]");
  const isGroup = thread.dataset.group === "1";
  const seenBy = thread.querySelector("[data-dm-seen-by]");
  const preview = thread.querySelector("[data-dm-preview]");
  // a group's read positions by handle (members who have not accepted the group are absent)
  const reads = (() => { try { return JSON.parse(document.getElementById("dm-reads")?.textContent || "{}"); } catch { return {}; } })();
  const csrf = (() => { try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch { return ""; } })();
  let lastSeq = Number(thread.dataset.lastSeq || 0);
  const unsendMs = Number(thread.dataset.unsendSeconds || 120) * 1000;
  let seenSeq = Number(seen.dataset.seenSeq || -1);

  const scrollDown = () => { list.lastElementChild?.scrollIntoView({ block: "end" }); };
  const showSeen = () => {
    const last = list.lastElementChild;
    if (isGroup) {
      const mine = [...list.querySelectorAll("li.mine:not(.withdrawn)")].pop();
      const n = mine ? Object.entries(reads).filter(([h, s]) => h !== me && s >= Number(mine.dataset.seq)).length : 0;
      if (seenBy) { seenBy.textContent = thread.dataset.labelSeenBy.replace("%(n)s", String(n)); seenBy.hidden = n === 0; }
      return;
    }
    seen.hidden = !(last && last.classList.contains("mine") && seenSeq >= Number(last.dataset.seq));
  };
  // a card as this reader may see it (the server resolved it for them): a link, or "unavailable"
  const card = (c) => {
    if (!c.available) {
      const p = document.createElement("p"); p.className = "dm-card unavailable"; p.dataset.testid = "dm-card";
      p.textContent = thread.dataset.labelUnavailable; return p;
    }
    const a = document.createElement("a"); a.className = "dm-card"; a.href = c.url; a.dataset.testid = "dm-card";
    const title = document.createElement("strong"); title.textContent = c.title; a.appendChild(title);
    if (c.status) { const s = document.createElement("span"); s.className = "muted"; s.textContent = c.status; a.appendChild(s); }
    return a;
  };
  const bubble = (m) => {
    let li = list.querySelector(`li[data-id="${m.id}"]`);
    if (!li) {
      li = document.createElement("li");
      li.dataset.id = String(m.id); li.dataset.seq = String(m.seq); li.dataset.testid = "dm-message";
      const p = document.createElement("p"); p.className = "dm-bubble"; p.dir = "auto"; li.appendChild(p);
      // keep seq order even if events arrive out of order
      const after = [...list.children].find((x) => Number(x.dataset.seq) > m.seq);
      list.insertBefore(li, after || null);
    }
    li.className = "dm " + (m.sender.handle === me ? "mine" : "theirs") + (m.withdrawn ? " withdrawn" : "");
    const text = li.querySelector(".dm-bubble");
    text.textContent = m.withdrawn ? thread.dataset.labelWithdrawn : m.text;
    text.hidden = !m.withdrawn && !m.text;
    li.querySelector(".dm-card")?.remove();
    if (m.card && !m.withdrawn) li.appendChild(card(m.card));
    li.querySelector(".dm-images")?.remove();
    if (!m.withdrawn && m.images && m.images.length) {
      const box = document.createElement("div"); box.className = "dm-images";
      m.images.forEach((im) => {
        const a = document.createElement("a"); a.href = im.url; a.target = "_blank"; a.rel = "noopener";
        const img = document.createElement("img"); img.src = im.url; img.width = im.width; img.height = im.height;
        img.loading = "lazy"; img.alt = ""; img.dataset.testid = "dm-image"; a.appendChild(img); box.appendChild(a);
      });
      li.insertBefore(box, text);
    }
    if (m.withdrawn) li.querySelector("[data-unsend]")?.remove();
    else if (m.sender.handle === me && !li.querySelector("[data-unsend]")) {
      const left = unsendMs - (Date.now() - Date.parse(m.created_at));
      if (left > 0) {
        const b = document.createElement("button"); b.type = "button"; b.className = "dm-unsend";
        b.dataset.unsend = String(m.id); b.dataset.testid = "dm-unsend"; b.textContent = thread.dataset.labelUnsend;
        li.appendChild(b); setTimeout(() => b.remove(), left);
      }
    }
    lastSeq = Math.max(lastSeq, m.seq);
    return li;
  };
  const markRead = () => {
    if (document.visibilityState !== "visible") return;
    fetch(`/api/v1/conversations/${id}/read`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify({ seq: lastSeq }),
    }).catch(() => {});
  };
  let typingTimer = null;
  document.addEventListener("meadow:dm", (e) => {
    const d = e.detail;
    if (d.type === "message" && d.message.conversation === id && d.message.system) {
      location.reload(); // a system line (the group renamed): the header and the translated line come from the page
    } else if ((d.type === "message" || d.type === "withdrawn") && d.message.conversation === id) {
      bubble(d.message); scrollDown();
      if (d.type === "message" && d.message.sender.handle !== me) { typing.hidden = true; markRead(); }
      showSeen();
    } else if (d.type === "read" && d.conversation === id && d.reader !== me) {
      seenSeq = Math.max(seenSeq, d.seq); reads[d.reader] = Math.max(reads[d.reader] || 0, d.seq); showSeen();
    } else if ((d.type === "members" || d.type === "removed") && d.conversation === id) {
      location.reload();
    } else if (d.type === "typing" && d.conversation === id && d.who !== me) {
      typing.hidden = false; clearTimeout(typingTimer); typingTimer = setTimeout(() => { typing.hidden = true; }, 4000);
    } else if (d.type === "accepted" && d.conversation === id) {
      accepted();
    }
  });
  // The request was accepted. Its recipient's page (accept / delete / block, no send box) loads again; its
  // sender's page only loses the "waiting" note and learns how far the other person read — a reload would
  // throw away what they are typing.
  const accepted = () => {
    if (thread.dataset.requestForMe) { location.reload(); return; }
    thread.querySelector("[data-testid=dm-request-sent]")?.remove();
    refresh();
  };
  // What a socket that was not open yet (or was closed) missed besides messages: the acceptance and "Seen".
  const refresh = () => fetch(`/api/v1/conversations/${id}`, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null)).then((c) => {
      if (!c) return;
      if (c.state === "active" && thread.querySelector("[data-testid=dm-request-sent]")) { accepted(); return; }
      if (c.seen_seq !== null && c.seen_seq !== undefined) { seenSeq = Math.max(seenSeq, c.seen_seq); showSeen(); }
    }).catch(() => {});
  // a (re)connect asks for everything after the last seq this page saw, and for the state it may have missed
  document.addEventListener("meadow:dm-open", () => {
    window.MeadowMessages?.send({ type: "resume", after: { [id]: lastSeq } });
    refresh();
  });

  const showError = (body) => {
    error.textContent = "";
    const msg = document.createElement("p"); msg.textContent = body?.error?.message || thread.dataset.labelFailed; error.appendChild(msg);
    const hits = body?.moderation?.hits || [];
    if (hits.length) {
      const ul = document.createElement("ul");
      hits.forEach((h) => {
        const li = document.createElement("li");
        const mark = document.createElement("mark"); mark.textContent = h.match; li.appendChild(mark);
        li.appendChild(document.createTextNode(` — ${h.label}`));
        // the rewrite hint on a line of its own (it reads "Remove it: …"; after the label's colon it read twice)
        if (h.suggestion) { const fix = document.createElement("span"); fix.className = "dm-fix"; fix.textContent = h.suggestion; li.appendChild(fix); }
        ul.appendChild(li);
      });
      error.appendChild(ul);
    }
    error.hidden = false;
  };
  if (form) {
    const input = form.querySelector("textarea");
    // The server counts a message's length as a person does (an emoji is one) and says when it is too long,
    // keeping the text in the box. The browser's maxlength (for the page without this module) counts UTF-16
    // units and cut a pasted text silently: 2,500 characters became 2,000, and 1,500 emoji became 500.
    input.removeAttribute("maxlength");
    let lastTyping = 0;
    input.addEventListener("input", () => {
      const now = Date.now();
      if (now - lastTyping > 2500 && input.value.trim()) { lastTyping = now; window.MeadowMessages?.send({ type: "typing", conversation: id }); }
    });
    thread.querySelectorAll("[data-quick-reply]").forEach((b) => b.addEventListener("click", () => {
      input.value = b.dataset.quickReply; input.focus();
    }));
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    const attach = form.querySelector("[data-dm-attach]");
    const showPreview = () => {
      preview.textContent = "";
      const files = [...(attach?.files || [])];
      files.forEach((f) => {
        const img = document.createElement("img"); img.src = URL.createObjectURL(f); img.alt = f.name;
        img.dataset.testid = "dm-preview-image"; img.onload = () => URL.revokeObjectURL(img.src); preview.appendChild(img);
      });
      preview.hidden = files.length === 0;
    };
    attach?.addEventListener("change", showPreview);
    // One send at a time: Enter pressed twice (or a double tap) while the first is on its way sends nothing more.
    // A send that failed keeps its client_id, so trying it again cannot store it twice if the first did arrive.
    let sending = false;
    let pending = null;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      const files = [...(attach?.files || [])];
      if ((!text && !files.length) || sending) return;
      const key = text + "\u0000" + files.map((f) => f.name + ":" + f.size).join("|");
      if (!pending || pending.key !== key) {
        pending = { key, clientId: (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).slice(0, 64) };
      }
      const clientId = pending.clientId;
      sending = true;
      const button = form.querySelector("button[type=submit]"); button.disabled = true;
      const post = () => {
        if (files.length) {
          const data = new FormData(); data.append("text", text); data.append("client_id", clientId);
          files.forEach((f) => data.append("images", f));
          return fetch(form.dataset.api + "/images", { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body: data });
        }
        return fetch(form.dataset.api, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ text, client_id: clientId }),
        });
      };
      try {
        let r; try { r = await post(); } catch { r = await post(); } // the same client_id: a retry never doubles
        const body = await r.json().catch(() => null);
        if (r.ok) {
          pending = null; error.hidden = true; input.value = ""; if (attach) attach.value = ""; showPreview();
          bubble(body); scrollDown(); showSeen();
        }
        else { if (r.status < 500) pending = null; showError(body); }
      } catch { showError(null); } finally { sending = false; button.disabled = false; input.focus(); }
    });
  }
  // Unsend (within the window): the API erases it; both sides' pages show "message withdrawn"
  list.addEventListener("click", async (e) => {
    const b = e.target.closest("[data-unsend]"); if (!b) return;
    b.disabled = true;
    const r = await fetch(`/api/v1/conversations/${id}/messages/${b.dataset.unsend}/unsend`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf },
    }).catch(() => null);
    const body = r ? await r.json().catch(() => null) : null;
    if (r && r.ok) bubble(body); else { b.remove(); showError(body); }
  });
  list.querySelectorAll("[data-unsend]").forEach((b) => setTimeout(() => b.remove(), unsendMs));
  scrollDown(); showSeen();
})();
