/* Soft Token web authenticator: the service worker (scope /app).
   - keeps the shell (page, script, styles, pictures) so the app opens offline;
   - shows a notification for a sign-in request pushed by the server (Web Push: the challenge
     ID and its context only, never the pictures), and tells an open app at once;
   - opens the app at the request when the notification is tapped. */
const SHELL = "softtoken-shell-v2";
const FILES = ["/app", "/static/look.css", "/static/style.css", "/static/app/app.css", "/static/app/app.js",
  "/static/app/icon.svg", "/static/app/icon-192.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== SHELL).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (event.request.mode === "navigate" && url.pathname.startsWith("/app")) {
    // the network first (the page carries the language); the kept shell when offline
    event.respondWith(fetch(event.request).catch(() => caches.match("/app")));
    return;
  }
  if (url.pathname.startsWith("/static/") || /^\/push\/v1\/pictures\/\d{2}\.svg$/.test(url.pathname)) {
    event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request).then((answer) => {
      if (answer.ok) { const copy = answer.clone(); caches.open(SHELL).then((c) => c.put(event.request, copy)); }
      return answer;
    })));
  }
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  const cid = typeof data.challenge_id === "string" ? data.challenge_id : "";
  const context = data.context || {};
  const lines = [context.client_name || context.client, context.ip, context.browser]
    .filter((x) => typeof x === "string" && x);
  event.waitUntil(Promise.all([
    self.registration.showNotification("Soft Token: คำขอเข้าสู่ระบบ / sign-in request", {
      body: lines.join(" · "),
      tag: "signin",
      renotify: true,
      requireInteraction: true,
      icon: "/static/app/icon-192.png",
      data: { cid },
    }),
    self.clients.matchAll({ type: "window", includeUncontrolled: true })
      .then((open) => open.forEach((client) => client.postMessage({ type: "challenge", cid }))),
  ]));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const cid = (event.notification.data && event.notification.data.cid) || "";
  const target = "/app/approve" + (cid ? "?cid=" + encodeURIComponent(cid) : "");
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((open) => {
    for (const client of open) {
      if (new URL(client.url).pathname.startsWith("/app")) {
        client.postMessage({ type: "challenge", cid });
        return client.focus();
      }
    }
    return self.clients.openWindow(target);
  }));
});
