import * as fs from 'node:fs';
import { explainReport } from '../audit';

export const REPORT_USAGE_TEXT = `usage: warden report verify <report.json> --key <public-key.pem>

  Verifies a compliance report offline: no running Warden is needed. The key is the
  signing Warden's published public key (GET /reports/public-key, saved once).
  Exit status 0 when every check passes, 1 when one fails (each check is printed).`;

export class ReportCommandError extends Error {}

/** `warden report verify`: the checks of explainReport, one line each. Returns the exit status. */
export function reportCommand(args: string[], out: (text: string) => void): number {
  const [sub, ...rest] = args;
  if (sub !== 'verify')
    throw new ReportCommandError(`unknown report command '${sub ?? ''}'\n\n${REPORT_USAGE_TEXT}`);
  const files: string[] = [];
  let keyFile: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--key') keyFile = rest[++i];
    else if (rest[i].startsWith('--key=')) keyFile = rest[i].slice('--key='.length);
    else if (rest[i].startsWith('--'))
      throw new ReportCommandError(`unknown option '${rest[i]}'\n\n${REPORT_USAGE_TEXT}`);
    else files.push(rest[i]);
  }
  if (files.length !== 1) throw new ReportCommandError(`give one report file\n\n${REPORT_USAGE_TEXT}`);
  if (!keyFile)
    throw new ReportCommandError(`give the public key: --key <public-key.pem>\n\n${REPORT_USAGE_TEXT}`);
  const read = (what: string, file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new ReportCommandError(
        `cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  };
  const result = explainReport(read('report', files[0]), read('public key', keyFile));
  for (const c of result.checks) out(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.check}: ${c.detail}\n`);
  out(result.ok ? `${files[0]}: verified\n` : `${files[0]}: NOT verified\n`);
  return result.ok ? 0 : 1;
}
