/**
 * DOM and formatting helpers. Every value reaches the page through
 * textContent or setAttribute with a fixed name, never as markup, so a task
 * name or error message holding HTML shows as text.
 */
const SVG_NS = 'http://www.w3.org/2000/svg';

type Props = Record<string, string | number | boolean | null | undefined | EventListener>;
type Child = Node | string | number | false | null | undefined;

/** The element with that id; the page's shell has every id the script uses. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/** Sets fixed-name properties: 'text' becomes textContent, 'onclick' a listener, the rest attributes. */
function setProps(node: Element, props: Props | null): void {
  if (!props) return;
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = String(value);
    else if (name === 'className') node.setAttribute('class', String(value));
    else if (name === 'onclick') node.addEventListener('click', value as EventListener);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

function appendAll<N extends Element>(node: N, children: Child | Child[]): N {
  for (const child of Array.isArray(children) ? children : [children]) {
    if (child === undefined || child === null || child === false) continue;
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, children: Child | Child[] = []): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  setProps(node, props);
  return appendAll(node, children);
}

export function svgEl(tag: string, props: Props | null = null, children: Child | Child[] = []): SVGElement {
  const node = document.createElementNS(SVG_NS, tag) as SVGElement;
  setProps(node, props);
  return appendAll(node, children);
}

/** Sets text only when it changed, so live regions announce changes, not every poll. */
export function setText(node: Element | null, text: string): void {
  if (node && node.textContent !== text) node.textContent = text;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Local time as YYYY-MM-DD HH:MM:SS; the ISO value goes in a title. */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export function fmtClock(iso: string): string {
  const d = new Date(iso);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function fmtJson(value: unknown): string {
  if (value === undefined || value === null) return '—';
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export function statusBadge(status: string): HTMLSpanElement {
  return el('span', { className: `status s-${status}`, text: status });
}
