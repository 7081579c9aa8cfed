import { appendAuditEntry } from './auditTrail';
import type { AuditEntryInput } from './auditTrail';
import { maskText } from './secretMasker';

/**
 * Appends one entry for a one-shot CLI command (login, logout) to `<home>/audit/audit.jsonl`,
 * unless `--no-audit` was given. A failed write does not fail the command: it is reported on
 * stderr.
 *
 * @example await recordCliAudit(context, { event: 'auth.login', provider: 'claude', reason: 'api-key', source: 'file:claude_auth.json' })
 */
export async function recordCliAudit(
  context: { readonly home: string; readonly audit: boolean | null },
  entry: AuditEntryInput,
): Promise<void> {
  if (context.audit === false) return;
  try {
    await appendAuditEntry(context.home, entry);
  } catch (error) {
    process.stderr.write(
      `${maskText(null, `warning: the audit entry was not written: ${error instanceof Error ? error.message : String(error)}`)}\n`,
    );
  }
}
