import fs from 'node:fs';
import path from 'node:path';

/** One ```ts block of a Markdown file, with the hidden declarations it needs to compile. */
export interface DocsCodeBlock {
  /** `docs/agents.md:42`: where the block's code starts, for failure messages. */
  readonly where: string;
  readonly code: string;
  /** From an `<!-- ts-prelude: … -->` comment right above the fence (kept out of the rendered page). */
  readonly prelude: string;
}

const FENCE = /^```(ts|typescript)\s*$/;
const PRELUDE = /^<!--\s*ts-prelude:([\s\S]*?)-->\s*$/;

/**
 * Every ```ts / ```typescript block of the given Markdown files. A block may be preceded by an
 * HTML comment `<!-- ts-prelude: declare function runMyAgent(): void; -->` (one or more lines)
 * declaring the host's own functions the example calls; it is compiled before the block.
 *
 * @example const blocks = docsCodeBlocks(root, ['README.md', 'docs/api.md']);
 */
export function docsCodeBlocks(root: string, files: readonly string[]): DocsCodeBlock[] {
  const blocks: DocsCodeBlock[] = [];
  for (const file of files) {
    const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!FENCE.test(lines[i] ?? '')) continue;
      const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
      if (end < 0) throw new Error(`${file}:${i + 1}: a \`\`\`ts block is never closed`);
      blocks.push({
        where: `${file}:${i + 2}`,
        code: lines.slice(i + 1, end).join('\n'),
        prelude: preludeAbove(lines, i),
      });
      i = end;
    }
  }
  return blocks;
}

function preludeAbove(lines: readonly string[], fence: number): string {
  // The comment may span several lines; it must end on the line right above the fence.
  if (!(lines[fence - 1] ?? '').trimEnd().endsWith('-->')) return '';
  let start = fence - 1;
  while (start > 0 && !(lines[start] ?? '').trimStart().startsWith('<!--')) start--;
  const match = PRELUDE.exec(lines.slice(start, fence).join('\n'));
  return match?.[1]?.trim() ?? '';
}

/** README.md and every Markdown file under docs/, relative to root, in a stable order. */
export function markdownFiles(root: string): string[] {
  const found: string[] = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of fs
      .readdirSync(path.join(root, dir), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.md')) found.push(rel);
    }
  };
  walk('docs');
  return found;
}
