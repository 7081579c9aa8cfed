/** Writes docs/machines/*.md from the machine definitions. Run: npm run docs:machines */
import fs from 'node:fs';
import path from 'node:path';
import { machineDocs } from './machineDocList';

const outDir = path.join(__dirname, '..', 'docs', 'machines');
fs.mkdirSync(outDir, { recursive: true });
for (const doc of machineDocs()) {
  fs.writeFileSync(path.join(outDir, doc.file), doc.content);
  console.log(`wrote docs/machines/${doc.file}`);
}
