import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every relative link of the README and the docs/ pages resolves: to a file
 * of the checkout, and, with a #fragment, to one of that page's headings (as
 * GitHub makes anchors of them).
 */
const ROOT = join(__dirname, '../..');
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

/** The relative links of a page (code blocks left out), with their line. */
function linksOf(file: string): Array<{ target: string; line: number }> {
  const text = readFileSync(file, 'utf8');
  const links: Array<{ target: string; line: number }> = [];
  let inCode = false;
  text.split('\n').forEach((line, i) => {
    if (line.trimStart().startsWith('```')) inCode = !inCode;
    if (inCode) return;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ target, line: i + 1 });
    }
  });
  return links;
}

describe('documentation links', () => {
  it('finds pages to check, each with links', () => {
    expect(pages.length).toBeGreaterThan(5);
    expect(linksOf(join(ROOT, 'README.md')).length).toBeGreaterThan(5);
  });

  it.each(pages)('resolves every relative link of %s', (page) => {
    const file = join(ROOT, page);
    const broken: string[] = [];
    for (const { target, line } of linksOf(file)) {
      const [path, fragment] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path));
      if (!existsSync(resolved)) broken.push(`${page}:${line} ${target} (no ${relative(ROOT, resolved)})`);
      else if (fragment && resolved.endsWith('.md') && !anchorsOf(resolved).has(fragment)) broken.push(`${page}:${line} ${target} (no heading #${fragment})`);
    }
    expect(broken).toEqual([]);
  });

  it('notices a link that goes nowhere', () => {
    const anchors = anchorsOf(join(ROOT, 'README.md'));
    expect(anchors.has('requirements')).toBe(true);
    expect(anchors.has('no-such-heading')).toBe(false);
    expect(existsSync(join(ROOT, 'docs', 'no-such-page.md'))).toBe(false);
  });
});
