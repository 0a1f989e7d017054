{% autoescape off %}// Meadow's service worker (served by meadow/web/pwa.py; its scope is the whole site).
// Precaches the shell, answers navigations network-first with the offline page as the fallback, and stores
// nothing else: API answers and pages' HTML never enter the cache. Shows Web Push notifications.
"use strict";
const VERSION = "{{ version }}";
const CACHE = `meadow-shell-${VERSION}`;
const PRECACHE = {{ precache }};
const OFFLINE = {{ offline }};
const LANGUAGES = {{ languages }};
const DEFAULT_LANGUAGE = {{ default_language }};
const ICON = {{ icon }};
const BADGE = {{ badge }};
const LANGUAGE_KEY = "/__meadow/language";  // the language of the last page seen, kept in the cache (no cookies here)

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith("meadow-") && name !== CACHE).map((name) => caches.delete(name)),
      ))
      .then(() => self.clients.claim()),
  );
});

const languageOf = (response) => {
  const header = (response.headers.get("Content-Language") || "").toLowerCase();
  return LANGUAGES.includes(header) ? header : null;
};

async function rememberLanguage(language) {
  const cache = await caches.open(CACHE);
  await cache.put(LANGUAGE_KEY, new Response(language, { headers: { "Content-Type": "text/plain" } }));
}

async function lastLanguage() {
  const cache = await caches.open(CACHE);
  const found = await cache.match(LANGUAGE_KEY);
  const language = found ? (await found.text()).trim() : "";
  return LANGUAGES.includes(language) ? language : DEFAULT_LANGUAGE;
}

async function offlinePage() {
  const cache = await caches.open(CACHE);
  const language = await lastLanguage();
  return (await cache.match(`${OFFLINE}?lang=${language}`)) ||
    (await cache.match(`${OFFLINE}?lang=${DEFAULT_LANGUAGE}`)) ||
    new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
}

async function navigate(request) {
  try {
    const response = await fetch(request);  // network first; the page itself is never stored
    const language = languageOf(response);
    if (language) rememberLanguage(language).catch(() => {});
    return response;
  } catch (error) {
    return offlinePage();
  }
}

async function shellAsset(request) {
  const cache = await caches.open(CACHE);
  return (await cache.match(request)) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
    return;
  }
  // Only the precached shell is answered from the cache; everything else (the API, media, other static
  // files) goes to the network untouched.
  if (PRECACHE.includes(url.pathname + url.search)) event.respondWith(shellAsset(request));
});

// --- Web Push: the payload is {"title", "body", "url", "tag", "lang"}, written in the reader's language.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(self.registration.showNotification(data.title || "Meadow", {
    body: data.body || "",
    icon: ICON,
    badge: BADGE,
    tag: data.tag || undefined,
    lang: data.lang || undefined,
    data: { url: data.url || "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  let target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) target = new URL("/", self.location.origin);  // only our own pages
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (client.url === target.href && "focus" in client) return client.focus();
      }
      return self.clients.openWindow(target.href);
    }),
  );
});
{% endautoescape %}
