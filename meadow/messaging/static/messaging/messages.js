// Meadow messages: one socket to /ws/messages/ per signed-in page. It keeps the Messages badge current on every
// page and hands every event to the open conversation (thread.js) as a "meadow:dm" event on document. After a
// reconnect it fires "meadow:dm-open" so the conversation can resume after the last seq it saw.
// Messages are sent over this socket when it is open (MeadowMessages.sendMessage: a "send" frame answered by an
// "ack"); a frame not acknowledged yet is sent again after a reconnect — its client_id makes that idempotent.
(() => {
  "use strict";
  const path = document.body.dataset.messagesWs;
  if (!path || !("WebSocket" in window)) return;
  let ws = null;
  let delay = 1000;
  const badge = (total) => document.querySelectorAll("[data-messages-badge]").forEach((b) => {
    b.textContent = total > 99 ? "99+" : String(total); b.hidden = !total;
  });
  const FRAME_MAX = 16000; // the server refuses a frame longer than 16 KB unread: such a message goes over HTTP
  const unacked = new Map(); // client_id → { raw, resolve, timer }
  const open = () => ws && ws.readyState === WebSocket.OPEN && navigator.onLine !== false;
  const settle = (clientId, ack) => {
    const entry = unacked.get(clientId); if (!entry) return;
    unacked.delete(clientId); clearTimeout(entry.timer); entry.resolve(ack);
  };
  window.MeadowMessages = {
    send(data) { if (open()) { ws.send(JSON.stringify(data)); return true; } return false; },
    // Send a message over the socket: resolves with the server's ack ({message} or {error, moderation?}), or
    // null when the socket is not open or no ack came within `wait` ms — the caller then posts it over HTTP with
    // the same client_id (a retry never doubles a message).
    sendMessage(frame, wait = 8000) {
      const raw = JSON.stringify({ ...frame, type: "send" });
      if (!open() || raw.length > FRAME_MAX || unacked.has(frame.client_id)) return Promise.resolve(null);
      return new Promise((resolve) => {
        unacked.set(frame.client_id, { raw, resolve, timer: setTimeout(() => settle(frame.client_id, null), wait) });
        ws.send(raw);
      });
    },
  };
  const connect = () => {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
    // data-messages-socket tells the page (and its tests) whether live events can arrive right now
    ws.onopen = () => {
      delay = 1000; document.body.dataset.messagesSocket = "open";
      unacked.forEach((entry) => ws.send(entry.raw)); // sent before the drop but not acknowledged: again, same client_id
      document.dispatchEvent(new CustomEvent("meadow:dm-open"));
    };
    ws.onmessage = (m) => {
      let data; try { data = JSON.parse(m.data); } catch { return; }
      if (data.type === "unread") badge(data.total);
      if (data.type === "ack") { settle(data.client_id, data); return; }
      document.dispatchEvent(new CustomEvent("meadow:dm", { detail: data }));
    };
    ws.onclose = (e) => { document.body.dataset.messagesSocket = "closed"; if (e.code !== 4401) setTimeout(connect, delay = Math.min(delay * 2, 30000)); };
  };
  connect();
})();
