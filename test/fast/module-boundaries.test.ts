import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from '@jest/globals';

/**
 * The lint rule that keeps modules talking through their index.ts (eslint/module-boundaries.mjs),
 * run as the lint step runs it: the project's ESLint config on a file placed inside src/.
 */
const root = path.resolve(__dirname, '../..');

function lint(file: string, source: string): string[] {
  const r = spawnSync(
    path.join(root, 'node_modules/.bin/eslint'),
    ['--format', 'json', '--stdin', '--stdin-filename', path.join(root, file)],
    { cwd: root, input: source, encoding: 'utf8' },
  );
  const [result] = JSON.parse(r.stdout) as Array<{ messages: Array<{ ruleId: string; message: string }> }>;
  return result.messages.filter((m) => m.ruleId === 'warden/module-boundaries').map((m) => m.message);
}

describe('module boundaries lint rule', () => {
  it("refuses a relative import below another module's folder", () => {
    const found = lint(
      'src/policy/boundary-probe.ts',
      "import { FsBlobStore } from '../images/store/fs-blob-store';\nexport const x = FsBlobStore;\n",
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("reaches into module 'images'");
  });

  it('treats each folder of platform/ as a module of its own', () => {
    const found = lint(
      'src/runtime/boundary-probe.ts',
      "import { createLibcSyscalls } from '../platform/ffi/libc';\nexport const x = createLibcSyscalls;\n",
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("reaches into module 'platform/ffi'");
  });

  it("allows a module's index, imports inside one module, and the composition roots", () => {
    expect(
      lint(
        'src/policy/boundary-probe.ts',
        "import { FsBlobStore } from '../images';\nexport const x = FsBlobStore;\n",
      ),
    ).toEqual([]);
    expect(
      lint(
        'src/images/layers/boundary-probe.ts',
        "import { FsBlobStore } from '../store/fs-blob-store';\nexport const x = FsBlobStore;\n",
      ),
    ).toEqual([]);
    expect(
      lint(
        'src/platform/boundary-probe.ts',
        "import { startEmbeddedRedis } from './queue/embedded-redis';\nexport const x = startEmbeddedRedis;\n",
      ),
    ).toEqual([]);
  });
});
