// DOM helpers. Everything the dashboard shows goes through h(): strings become text nodes and
// attributes are set one by one, so data (topics, payloads, client ids: attacker-controlled) is
// never parsed as HTML. Nothing in the dashboard assigns innerHTML.

/** Create an element: h('td', { class: 'num', onclick: fn }, 'text', node, [more]). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function svg(tag, props = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else if (key === 'checked') el.checked = Boolean(value);
    else if (key.startsWith('on')) throw new Error(`event handler ${key} must be a function`);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A labelled form field. */
export function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

export function formatTime(ms) {
  return ms ? new Date(ms).toLocaleTimeString() : '';
}

export function formatRate(n) {
  return n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(1) : n.toFixed(2);
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
