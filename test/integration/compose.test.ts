import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * docker-compose.yml cannot be run here (no Docker engine), but Debian's docker-compose
 * validates it fully without one: schema, interpolation, depends_on conditions.
 */
describe('docker-compose.yml', () => {
  const root = path.resolve(__dirname, '..', '..');
  const compose = (env: Record<string, string>) =>
    spawnSync('docker-compose', ['config'], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });

  it('is a valid compose file wiring warden to postgres and redis', () => {
    const r = compose({ WARDEN_ADMIN_TOKEN: 'compose-test-token-0000' });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('DATABASE_URL: postgres://warden:warden@postgres:5432/warden');
    expect(r.stdout).toContain('REDIS_URL: redis://redis:6379/0');
    expect(r.stdout).toMatch(/privileged: true/);
    expect(r.stdout).toMatch(/\/sys\/fs\/cgroup:\/sys\/fs\/cgroup:rw/);
    expect(r.stdout).toMatch(/--appendonly[\s\S]*yes/);
  });

  it('refuses to render without an admin token', () => {
    const r = compose({ WARDEN_ADMIN_TOKEN: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set WARDEN_ADMIN_TOKEN');
  });
});
