import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { callOptionNames, pipelineOptionNames, poolOptionNames } from '../src/options';

const options = readFileSync(join(__dirname, '..', 'docs', 'options.md'), 'utf8');

/** The option names in the first column of the table under the `## ` heading that starts with `heading`. */
function documented(heading: string): string[] {
  const sections = options.split(/^## /m).slice(1);
  const section = sections.find((text) => text.startsWith(heading));
  if (!section) throw new Error(`docs/options.md has no section "## ${heading}..."`);
  return [...section.matchAll(/^\| `(\w+)` \|/gm)].map((match) => match[1]!);
}

/** docs/options.md lists every option the code checks, and no other: it cannot go stale. */
describe('docs/options.md', () => {
  it('lists every pool and operator option, in the order of src/options.ts', () => {
    expect(documented('Pool and operator options')).toEqual([...poolOptionNames]);
  });

  it('lists every pipeline option', () => {
    expect(documented('Pipeline options')).toEqual([...pipelineOptionNames]);
  });

  it.each(Object.entries(callOptionNames))('lists every option of pool.%s', (call, names) => {
    expect(documented(`\`pool.${call}(`)).toEqual([...names]);
  });

  it('gives every row a type and a default', () => {
    const rows = options.split('\n').filter((line) => /^\| `\w+` \|/.test(line));
    for (const row of rows) {
      const cells = row.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
      expect({ row, cells: cells.length, empty: cells.some((cell) => cell === '') }).toEqual({ row, cells: 4, empty: false });
    }
  });
});
