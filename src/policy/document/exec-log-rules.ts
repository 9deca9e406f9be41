import type { ExecRules, PolicyDocumentInput, PolicyRules } from './policy-document';
import { normalizeRegistryEntry, registryEntryProblem } from './policy-document';
import { convertLimit, toBytes, toLogBytes, toLogFiles } from './converters';

/** The `exec` and `logs` rules of a parsed document, normalized; problems listed by field. */
export function convertExecAndLogs(
  input: PolicyDocumentInput['rules'],
  rules: PolicyRules,
  errors: string[],
): void {
  const e = input.exec;
  if (e) {
    const { recording, ...rest } = e;
    const exec: ExecRules = { ...rest };
    e.allowedImages?.forEach((entry, i) => {
      const problem = registryEntryProblem(normalizeRegistryEntry(entry));
      if (problem) errors.push(`rules.exec.allowedImages[${i}]: ${problem}`);
    });
    if (recording) {
      exec.recording = { required: recording.required };
      if (recording.maxBytes !== undefined) {
        const bytes = toBytes('rules.exec.recording.maxBytes', recording.maxBytes, errors);
        if (bytes !== undefined) exec.recording.maxBytes = bytes;
      }
    }
    rules.exec = exec;
  }
  const l = input.logs;
  if (l) {
    rules.logs = {};
    const maxSize = convertLimit('rules.logs.maxSize', l.maxSize, toLogBytes, errors);
    const maxFiles = convertLimit('rules.logs.maxFiles', l.maxFiles, toLogFiles, errors);
    if (maxSize) rules.logs.maxSize = maxSize;
    if (maxFiles) rules.logs.maxFiles = maxFiles;
  }
}
