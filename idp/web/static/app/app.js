/* Soft Token web authenticator (/app). The device key is a WebAuthn credential of this phone's
   platform authenticator (Face ID, fingerprint, screen lock); a non-extractable WebCrypto key
   (P-256, kept in IndexedDB) signs the polls, denials and notification set-up as the device
   API's "polling key". Approvals are WebAuthn assertions over
   SHA-256("softtoken-approve-v1" 0 challenge-id 0 "p1,p2,p3,p4"). */

const T = JSON.parse(document.getElementById("texts").textContent);
const PICTURES = JSON.parse(document.getElementById("pictures").textContent);
const REGISTER = document.getElementById("app-script").dataset.register;
const API = "/push/v1";
const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();

// -- encoding ---------------------------------------------------------------------------------
function b64u(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function unb64u(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
const b64uText = (text) => b64u(enc.encode(text));
function pem(spki) {
  const lines = btoa(String.fromCharCode(...new Uint8Array(spki))).match(/.{1,64}/g).join("\n");
  return "-----BEGIN PUBLIC KEY-----\n" + lines + "\n-----END PUBLIC KEY-----\n";
}

// JSON with sorted keys and no spaces (push_auth.receipts.canonical)
function canonical(value) {
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  if (value && typeof value === "object") {
    return "{" + Object.keys(value).sort()
      .map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
  }
  return JSON.stringify(value);
}
async function sha256Hex(text) {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text)));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

// -- what this phone keeps (IndexedDB) --------------------------------------------------------
function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("softtoken", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}
async function kept(mode, use) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction("kv", mode);
    const request = use(tx.objectStore("kv"));
    tx.oncomplete = () => resolve(request && request.result);
    tx.onerror = () => reject(tx.error);
  });
}
const load = () => kept("readonly", (s) => s.get("device"));
const save = (device) => kept("readwrite", (s) => s.put(device, "device"));
const forget = () => kept("readwrite", (s) => s.delete("device"));

// -- the polling key's signed requests (the device API's JWS) -------------------------------
async function signedRequest(device, method, url, claims = {}) {
  const header = { alg: "ES256", typ: "softtoken-req+jwt", kid: device.device_id + "#poll" };
  const body = {
    aud: device.api, iat: Math.floor(Date.now() / 1000),
    jti: b64u(crypto.getRandomValues(new Uint8Array(24))),
    htm: method, htu: new URL(url, location.origin).pathname, ...claims,
  };
  const input = b64uText(JSON.stringify(header)) + "." + b64uText(JSON.stringify(body));
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" }, device.poll_key, enc.encode(input));
  return input + "." + b64u(signature);
}
async function postSigned(device, path, claims) {
  const url = device.api + path;
  return fetch(url, { method: "POST", headers: { "Content-Type": "application/jose" },
    body: await signedRequest(device, "POST", url, claims) });
}
async function postJson(path, body) {
  return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) });
}
async function refusal(answer) {
  try {
    const body = await answer.json();
    return (document.documentElement.lang === "th" ? body.error_description_th : body.error_description)
      || body.error || T["Something went wrong. Please try again."];
  } catch (e) { return T["Something went wrong. Please try again."]; }
}

// -- WebAuthn, in and out of JSON ---------------------------------------------------------------
function creationOptions(json) {
  const options = { ...json, challenge: unb64u(json.challenge), user: { ...json.user, id: unb64u(json.user.id) } };
  options.excludeCredentials = (json.excludeCredentials || []).map((c) => ({ ...c, id: unb64u(c.id) }));
  return options;
}
function credentialJson(credential) {
  const r = credential.response;
  const response = { clientDataJSON: b64u(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64u(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = b64u(r.authenticatorData);
    response.signature = b64u(r.signature);
    if (r.userHandle) response.userHandle = b64u(r.userHandle);
  }
  return { id: credential.id, rawId: b64u(credential.rawId), type: credential.type, response,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment || undefined };
}
async function assertion(device, challenge) {
  const credential = await navigator.credentials.get({ publicKey: {
    challenge, rpId: device.rp_id, userVerification: "required", timeout: 120000,
    allowCredentials: [{ type: "public-key", id: unb64u(device.credential_id) }],
  } });
  return credentialJson(credential);
}

// -- the page -------------------------------------------------------------------------------
const SECTIONS = ["unsupported", "setup", "activate", "home", "request"];
function show(section) { for (const s of SECTIONS) $(s).hidden = s !== section; }
function say(text) { $("status").textContent = text || ""; }
function problem(text) { $("problem").textContent = text || ""; $("problem").hidden = !text; }
function untilText(seconds) {
  const locale = document.documentElement.lang === "th" ? "th-TH" : "en-GB";
  return new Date(seconds * 1000).toLocaleDateString(locale, { day: "numeric", month: "short", year: "numeric" });
}

let current = null;      // the device record kept on this phone
let request = null;      // the sign-in request on screen
let tapped = [];
let polling = false;

async function activate(code) {
  problem("");
  say(T["Activating… confirm with your face, fingerprint or screen lock."]);
  try {
    const optionsAnswer = await postJson(API + "/webauthn/activation-options", { code });
    if (!optionsAnswer.ok) throw new Error(await refusal(optionsAnswer));
    const { publicKey } = await optionsAnswer.json();
    const credential = await navigator.credentials.create({ publicKey: creationOptions(publicKey) });
    const pollKey = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const spki = await crypto.subtle.exportKey("spki", pollKey.publicKey);
    const answer = await postJson(API + "/webauthn/activate", {
      code, credential: credentialJson(credential), poll_key: pem(spki),
      device: { model: navigator.userAgent.slice(0, 100), name: "Web", app_version: "web-1" },
    });
    if (!answer.ok) throw new Error(await refusal(answer));
    const made = await answer.json();
    current = { device_id: made.device_id, credential_id: made.credential_id, api: made.api,
      rp_id: publicKey.rp.id, not_after: made.not_after, push_key: made.push_key || null,
      poll_key: pollKey.privateKey };
    await save(current);
    history.replaceState(null, "", "/app");
    home();
  } catch (error) {
    say("");
    problem(error.message || T["Something went wrong. Please try again."]);
  }
}

function home() {
  show("home");
  say(T["Soft Token is active on this phone."]);
  $("valid-until").textContent = untilText(current.not_after);
  $("notify-button").hidden = !current.push_key || !("PushManager" in window);
  poll();
}

async function poll() {
  if (polling) return;
  polling = true;
  try {
    while (current && !request) {
      const url = current.api + "/challenge?wait=25";
      let answer;
      try {
        answer = await fetch(url, { headers: {
          Authorization: "SoftToken " + await signedRequest(current, "GET", url) } });
      } catch (e) { await new Promise((r) => setTimeout(r, 3000)); continue; }
      if (answer.status === 200) { await showRequest((await answer.json()).challenge); break; }
      if (answer.status === 204) continue;
      const body = await answer.clone().json().catch(() => ({}));
      if (body.error === "device_revoked") { await ended(await refusal(answer)); break; }
      if (body.error === "certificate_expired") { problem(await refusal(answer)); break; }  // renew
      if (answer.status === 401) problem(await refusal(answer));  // e.g. the phone's clock is off
      await new Promise((r) => setTimeout(r, answer.status === 401 ? 30000 : 3000));
    }
  } finally { polling = false; }
}

async function ended(message) {
  current = null;
  await forget();
  show("setup");
  say("");
  problem(message || T["Soft Token on this phone is no longer valid."]);
}

async function showRequest(token) {
  const claims = JSON.parse(new TextDecoder().decode(unb64u(token.split(".")[1])));
  // "binding" (CIBA without pictures): the user compares the code the relying party shows
  const binding = claims.mode === "binding";
  request = { cid: claims.cid, exp: claims.exp, count: binding ? 0 : (claims.picture_count || 4),
    details: (claims.context || {}).authorization_details || null };
  const c = claims.context || {};
  $("ctx-client").textContent = c.client_name || c.client || "";
  $("ctx-time").textContent = c.time ? new Date(c.time * 1000).toLocaleString(
    document.documentElement.lang === "th" ? "th-TH" : "en-GB") : "";
  $("ctx-ip").textContent = c.ip || "";
  $("ctx-browser").textContent = c.browser || "";
  $("ctx-binding").textContent = c.binding_message || "";
  $("ctx-binding").hidden = $("ctx-binding-label").hidden = !c.binding_message;
  // RFC 9396: what is approved (a payment), as the server worded it
  const lines = (document.documentElement.lang === "th" ? c.details : c.details_en) || [];
  $("ctx-details").replaceChildren(...lines.flatMap((line) => {
    const term = document.createElement("dt");
    term.textContent = line.label;
    const value = document.createElement("dd");
    value.textContent = line.value;
    return [term, value];
  }));
  $("ctx-details-box").hidden = lines.length === 0;
  tapped = [];
  drawTapped();
  for (const id of ["grid", "tapped", "tap-hint", "clear-button"]) $(id).hidden = binding;
  $("compare-hint").hidden = !binding;
  show("request");
  say(T["Sign-in request"]);
  problem("");
  (binding ? $("approve-button") : $("grid").querySelector("button")).focus();
}

function drawGrid() {
  for (const p of PICTURES) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.picture = String(p.id);
    const image = document.createElement("img");
    image.src = `${API}/pictures/${String(p.id).padStart(2, "0")}.svg`;
    image.alt = "";
    const name = document.createElement("span");  // word groups kept whole (look.css .words)
    p.words.forEach((words, i) => {
      if (i) name.append(document.documentElement.lang === "th" ? "" : " ", document.createElement("wbr"));
      const group = document.createElement("span");
      group.className = "words";
      group.textContent = words;
      name.append(group);
    });
    button.append(image, name);
    button.setAttribute("aria-label", p.name);
    button.addEventListener("click", () => {
      if (request && tapped.length < request.count) { tapped.push(p.id); drawTapped(); }
    });
    $("grid").append(button);
  }
}

function drawTapped() {
  const list = $("tapped");
  list.replaceChildren(...tapped.map((id) => {
    const item = document.createElement("li");
    const image = document.createElement("img");
    image.src = `${API}/pictures/${String(id).padStart(2, "0")}.svg`;
    image.alt = PICTURES[id].name;
    item.append(image);
    return item;
  }));
  $("approve-button").disabled = !request || tapped.length !== request.count;
}

async function approve() {
  problem("");
  say(T["Confirm with your face, fingerprint or screen lock."]);
  try {
    // with authorization details (a payment): the digest of what was shown is signed too
    const details = request.details ? "\u0000" + await sha256Hex(canonical(request.details)) : "";
    const digest = await crypto.subtle.digest("SHA-256",
      enc.encode(`softtoken-approve-v1\u0000${request.cid}\u0000${tapped.join(",")}${details}`));
    const credential = await assertion(current, digest);
    const answer = await postJson(`${API}/webauthn/challenges/${encodeURIComponent(request.cid)}`,
      { device_id: current.device_id, pictures: tapped, credential });
    if (!answer.ok) throw new Error(await refusal(answer));
    finish((await answer.json()).status);
  } catch (error) { say(""); problem(error.message || T["Something went wrong. Please try again."]); }
}

async function refuse(action) {
  problem("");
  try {
    const answer = await postSigned(current, `/challenges/${encodeURIComponent(request.cid)}`,
      { cid: request.cid, action });
    if (!answer.ok) throw new Error(await refusal(answer));
    finish((await answer.json()).status);
  } catch (error) { problem(error.message || T["Something went wrong. Please try again."]); }
}

const OUTCOMES = {
  approved: "Approved. You can return to your computer.",
  denied: "Denied.",
  not_me: "Reported. Requests to this phone are suspended until an officer contacts you.",
  failed: "The pictures did not match. Start the sign-in again on your computer.",
  expired: "The request has expired.",
};
function finish(status) {
  request = null;
  tapped = [];
  home();
  const text = T[OUTCOMES[status]] || status;
  if (status === "approved") say(text); else problem(text);
}

async function saveSubscription(subscription) {
  const answer = await postSigned(current, "/webauthn/subscription", { subscription });
  if (!answer.ok) throw new Error(await refusal(answer));
}

async function notifications() {
  problem("");
  try {
    if ((await Notification.requestPermission()) !== "granted") throw new Error();
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe(
      { userVisibleOnly: true, applicationServerKey: unb64u(current.push_key) });
    await saveSubscription(subscription.toJSON());
    say(T["Notifications are on."]);
    $("notify-button").hidden = true;
  } catch (error) {
    problem(T["Notifications are not available in this browser: keep this app open to receive requests."]);
  }
}

async function renew() {
  problem("");
  say(T["Confirm with your face, fingerprint or screen lock."]);
  try {
    const asked = await postSigned(current, "/webauthn/ceremony", { purpose: "renew" });
    if (!asked.ok) throw new Error(await refusal(asked));
    const ceremony = await asked.json();
    const credential = await assertion(current, unb64u(ceremony.challenge));
    const made = await navigator.credentials.create({ publicKey: creationOptions(ceremony.publicKey) });
    const answer = await postJson(API + "/webauthn/renew", { device_id: current.device_id,
      credential, new_credential: credentialJson(made) });
    if (!answer.ok) throw new Error(await refusal(answer));
    const renewed = await answer.json();
    current.credential_id = renewed.credential_id;
    current.not_after = renewed.not_after;
    await save(current);
    home();
    say(T["Renewed until"] + " " + untilText(renewed.not_after));
  } catch (error) { say(""); problem(error.message || T["Something went wrong. Please try again."]); }
}

async function cancel() {
  problem("");
  const chosen = document.querySelector("input[name=reason]:checked");
  if (!chosen) { problem(T["Why are you cancelling?"]); return; }
  if (!confirm(T["Cancel Soft Token on this phone? You will need to register again to sign in."])) return;
  try {
    const asked = await postSigned(current, "/webauthn/ceremony", { purpose: "cancel" });
    if (!asked.ok) throw new Error(await refusal(asked));
    const ceremony = await asked.json();
    const credential = await assertion(current, unb64u(ceremony.challenge));
    const answer = await postJson("/app/cancel", { device_id: current.device_id, reason: chosen.value, credential });
    if (!answer.ok) throw new Error(await refusal(answer));
    const old = current.credential_id;
    if (window.PublicKeyCredential && PublicKeyCredential.signalUnknownCredential) {
      PublicKeyCredential.signalUnknownCredential({ rpId: current.rp_id, credentialId: old }).catch(() => {});
    }
    const registration = await navigator.serviceWorker.getRegistration("/app");
    const subscription = registration && registration.pushManager
      ? await registration.pushManager.getSubscription().catch(() => null) : null;
    if (subscription) await subscription.unsubscribe().catch(() => {});
    current = null;
    await forget();
    show("setup");
    say(T["Soft Token was cancelled. Register again at"] + " " + REGISTER);
  } catch (error) { problem(error.message || T["Something went wrong. Please try again."]); }
}

async function start() {
  drawGrid();
  $("activate-button").addEventListener("click", () => activate(new URLSearchParams(location.search).get("code")));
  $("approve-button").addEventListener("click", approve);
  $("clear-button").addEventListener("click", () => { tapped = []; drawTapped(); });
  $("deny-button").addEventListener("click", () => refuse("deny"));
  $("not-me-button").addEventListener("click", () => refuse("not_me"));
  $("notify-button").addEventListener("click", notifications);
  $("renew-button").addEventListener("click", renew);
  $("cancel-button").addEventListener("click", cancel);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(() => {});
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.type === "challenge" && current && !request) poll();
    });
  }
  if (!window.PublicKeyCredential || !window.crypto || !crypto.subtle || !window.indexedDB) {
    show("unsupported");
    return;
  }
  current = (await load()) || null;
  const code = new URLSearchParams(location.search).get("code");
  if (location.pathname === "/app/activate" && code) {
    show("activate");
    if (current) problem(T["Soft Token is active on this phone."]);
    return;
  }
  if (!current) { show("setup"); return; }
  home();
}

window.softtoken = { saveSubscription };  // what the page itself calls once subscribed
start();
