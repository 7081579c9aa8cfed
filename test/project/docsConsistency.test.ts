import fs from 'node:fs';
import path from 'node:path';
import { ERROR_CODES } from '../../src/errors';
import { machineDocs } from '../../scripts/machineDocList';

const root = path.join(__dirname, '..', '..');

describe('docs', () => {
  it('should name every error code in docs/errors.md', () => {
    const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8');
    const missing = ERROR_CODES.filter((code) => !text.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('should have machine diagrams generated from the current machine definitions (run npm run docs:machines)', () => {
    for (const doc of machineDocs()) {
      const file = path.join(root, 'docs', 'machines', doc.file);
      expect(fs.existsSync(file)).toBe(true);
      expect(fs.readFileSync(file, 'utf8')).toBe(doc.content);
    }
  });
});
