/**
 * Client part 1 of 6: DOM and formatting helpers. Every value reaches the page
 * through textContent or setAttribute with a fixed name, never as markup, so a
 * task name or error message holding HTML shows as text.
 * Plain ES2020 in a string (no template literals: this file is one).
 */
export const DOM_JS = String.raw`
const SVG_NS = 'http://www.w3.org/2000/svg';

function $(id) {
  return document.getElementById(id);
}

/** Sets fixed-name properties; 'text' becomes textContent, 'onclick' a listener, the rest attributes. */
function setProps(node, props) {
  if (!props) return;
  Object.keys(props).forEach(function (name) {
    const value = props[name];
    if (value === undefined || value === null || value === false) return;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'className') node.setAttribute('class', value);
    else if (name === 'onclick') node.addEventListener('click', value);
    else node.setAttribute(name, value === true ? '' : String(value));
  });
}

function appendAll(node, children) {
  if (children === undefined || children === null) return node;
  (Array.isArray(children) ? children : [children]).forEach(function (child) {
    if (child === undefined || child === null || child === false) return;
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  });
  return node;
}

function el(tag, props, children) {
  const node = document.createElement(tag);
  setProps(node, props);
  return appendAll(node, children);
}

function svgEl(tag, props, children) {
  const node = document.createElementNS(SVG_NS, tag);
  setProps(node, props);
  return appendAll(node, children);
}

/** Sets text only when it changed, so live regions announce changes, not every poll. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function pad2(n) {
  return n < 10 ? '0' + n : String(n);
}

/** Local time as YYYY-MM-DD HH:MM:SS; the ISO value goes in a title. */
function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' + pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
}

function fmtClock(iso) {
  const d = new Date(iso);
  return pad2(d.getHours()) + ':' + pad2(d.getMinutes());
}

function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return ms + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  return Math.floor(ms / 60000) + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
}

function fmtJson(value) {
  if (value === undefined || value === null) return '—';
  try {
    return JSON.stringify(value, null, 2);
  } catch (e) {
    return String(value);
  }
}

function statusBadge(status) {
  return el('span', { className: 'status s-' + status, text: status });
}
`;
