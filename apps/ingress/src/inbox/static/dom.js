// @ts-check
// Building the page's nodes: typed look-ups of the elements index.html declares, and `el`, a small
// element factory (attributes, text, listeners, children) so that no markup is ever built from text.

/**
 * The element with this id, as the type index.html gives it.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @returns {T}
 */
export const $ = (id) => /** @type {T} */ (document.getElementById(id));
/** @param {string} id @returns {HTMLInputElement} */
export const field = (id) => $(id);
/** @param {string} id @returns {HTMLTextAreaElement} */
export const textArea = (id) => $(id);
/** @param {string} id @returns {HTMLButtonElement} */
export const button = (id) => $(id);
/** @param {string} id @returns {HTMLDetailsElement} */
export const details = (id) => $(id);
/** @param {string} id @returns {HTMLFormElement} */
export const form = (id) => $(id);

/**
 * @typedef {Record<string, string | boolean | null | undefined | ((event: Event) => void)>} Attrs
 * `class`, `text` (the node's text), `on…` (a listener), any other attribute (true: present, empty).
 */
/** @typedef {Node | string | null | undefined | false} Child */

/**
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = String(v);
    else if (k === "text") node.textContent = String(v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
};

/**
 * Text that may be Arabic (or any script): the browser picks the direction per node.
 * @param {string} tag
 * @param {string | null | undefined} text
 * @param {string} [cls]
 */
export const textNode = (tag, text, cls) => el(tag, { class: cls, dir: "auto", text: text ?? "" });
