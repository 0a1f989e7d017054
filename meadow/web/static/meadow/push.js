// Settings › Push notifications: ask the browser for permission, subscribe with the instance's VAPID key and
// save the subscription (POST /api/v1/push/subscriptions); or unsubscribe and forget it (DELETE). The service
// worker (/sw.js) shows what is pushed. Under the CSP: no inline handlers, only our own origin.
(() => {
  const box = document.querySelector("[data-push-settings]");
  if (!box) return;
  const status = box.querySelector("[data-push-status]");
  const enable = box.querySelector("[data-push-enable]");
  const disable = box.querySelector("[data-push-disable]");
  const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] ||
    (JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "");
  const say = (key) => { status.textContent = box.dataset[key]; };
  const show = (subscribed) => { enable.hidden = subscribed; disable.hidden = !subscribed; };
  const keyBytes = (base64url) => {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };
  const send = (method, body) => fetch(box.dataset.subscribeUrl, {
    method, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: JSON.stringify(body),
  });
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.isSecureContext) {
    enable.disabled = true;
    say("labelUnsupported");
    return;
  }
  const registration = () => navigator.serviceWorker.register(
    document.documentElement.dataset.serviceWorker || "/sw.js", { scope: "/" },
  ).then(() => navigator.serviceWorker.ready);

  registration().then((reg) => reg.pushManager.getSubscription()).then((sub) => {
    if (sub) { show(true); say("labelOn"); }
  }).catch(() => {});

  enable.addEventListener("click", async () => {
    enable.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") { say("labelDenied"); return; }
      const reg = await registration();
      const sub = (await reg.pushManager.getSubscription()) || await reg.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.publicKey),
      });
      const response = await send("POST", sub.toJSON());
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      show(true);
      say("labelOn");
    } catch (error) {
      say("labelFailed");
    } finally {
      enable.disabled = false;
    }
  });

  disable.addEventListener("click", async () => {
    disable.disabled = true;
    try {
      const reg = await registration();
      const sub = await reg.pushManager.getSubscription();
      if (sub) {
        await send("DELETE", { endpoint: sub.endpoint });
        await sub.unsubscribe();
      }
      show(false);
      say("labelOff");
    } catch (error) {
      say("labelFailed");
    } finally {
      disable.disabled = false;
    }
  });
})();
