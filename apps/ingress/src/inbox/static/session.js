// @ts-check
// The recruiter's session: the JWT from the URL fragment (#token=…, never sent to a server) or the
// login box, kept per tab (sessionStorage), and the "live" indicator of the top bar.

import { $ } from "./dom.js";
import { state } from "./state.js";

const TOKEN_KEY = "linkojob.inbox.token";
const CLIENT_KEY = "linkojob.inbox.clientId";

/** Reads the token (and the client id, for service and admin tokens) into the state. */
export function readToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get("token");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    const clientId = hash.get("clientId");
    if (clientId) sessionStorage.setItem(CLIENT_KEY, clientId);
    // Out of the address bar, history and bookmarks.
    history.replaceState(null, "", location.pathname + location.search);
  }
  state.token = sessionStorage.getItem(TOKEN_KEY);
  state.clientId = sessionStorage.getItem(CLIENT_KEY);
}

/**
 * Keeps what the login box was given, for this tab.
 * @param {string} token
 * @param {string} clientId empty: none
 */
export function rememberLogin(token, clientId) {
  sessionStorage.setItem(TOKEN_KEY, token);
  if (clientId) sessionStorage.setItem(CLIENT_KEY, clientId);
  else sessionStorage.removeItem(CLIENT_KEY);
}

/** Forgets the token, closes the socket and shows the login box (with why, when there is a reason). */
export function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(CLIENT_KEY);
  state.token = null;
  state.socket?.close();
  state.socket = null;
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  setLive("off", "signed out");
}

/**
 * @param {"off" | "connecting" | "live"} stateName
 * @param {string} label
 */
export function setLive(stateName, label) {
  $("live").dataset.state = stateName;
  $("live").textContent = label;
}
