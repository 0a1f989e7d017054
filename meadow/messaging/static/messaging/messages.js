// Meadow messages: one socket to /ws/messages/ per signed-in page. It keeps the Messages badge current on every
// page and hands every event to the open conversation (thread.js) as a "meadow:dm" event on document. After a
// reconnect it fires "meadow:dm-open" so the conversation can resume after the last seq it saw.
(() => {
  "use strict";
  const path = document.body.dataset.messagesWs;
  if (!path || !("WebSocket" in window)) return;
  let ws = null;
  let delay = 1000;
  const badge = (total) => document.querySelectorAll("[data-messages-badge]").forEach((b) => {
    b.textContent = total > 99 ? "99+" : String(total); b.hidden = !total;
  });
  window.MeadowMessages = {
    send(data) { if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(data)); return true; } return false; },
  };
  const connect = () => {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
    // data-messages-socket tells the page (and its tests) whether live events can arrive right now
    ws.onopen = () => { delay = 1000; document.body.dataset.messagesSocket = "open"; document.dispatchEvent(new CustomEvent("meadow:dm-open")); };
    ws.onmessage = (m) => {
      let data; try { data = JSON.parse(m.data); } catch { return; }
      if (data.type === "unread") badge(data.total);
      document.dispatchEvent(new CustomEvent("meadow:dm", { detail: data }));
    };
    ws.onclose = (e) => { document.body.dataset.messagesSocket = "closed"; if (e.code !== 4401) setTimeout(connect, delay = Math.min(delay * 2, 30000)); };
  };
  connect();
})();
