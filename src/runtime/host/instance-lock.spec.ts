import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../platform/config';
import { acquireInstanceLock, InstanceLock, InstanceLockedError } from './instance-lock';

// Real flock(2) through koffi on temp files; the cgroup parent's paths are given, so no root
// and no cgroup mount are needed (test/privileged/instance-lock.test.ts runs the real ones).
describe('instance lock', () => {
  let tmp: string;
  const held: InstanceLock[] = [];
  const config = (dataDir: string, parent = 'p') =>
    loadConfig({ WARDEN_DATA_DIR: path.join(tmp, dataDir), WARDEN_CGROUP_PARENT: parent, WARDEN_PORT: '0' });
  const paths = (parent: string) => ({ memory: `/sys/fs/cgroup/memory/svc/${parent}`, pids: `/x/${parent}` });
  const acquire = async (dataDir: string, parent: string) => {
    const lock = await acquireInstanceLock(config(dataDir, parent), 'up', {
      lockDir: path.join(tmp, 'run'),
      cgroupParentPaths: paths(parent),
    });
    held.push(lock);
    return lock;
  };
  const refusal = async (dataDir: string, parent: string) => {
    try {
      held.push(await acquire(dataDir, parent));
    } catch (err) {
      return err as Error;
    }
    throw new Error('the second lock was granted');
  };

  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'instance-lock-'))));
  afterEach(() => {
    for (const l of held.splice(0)) l.release();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses a second holder of the cgroup parent, naming the first', async () => {
    const first = await acquire('a', 'shared');
    first.update({ http: 'http://127.0.0.1:41234' });
    const err = await refusal('b', 'shared');
    expect(err).toBeInstanceOf(InstanceLockedError);
    expect((err as InstanceLockedError).scope).toBe('cgroup parent');
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.message).toContain(path.join(tmp, 'a'));
    expect(err.message).toContain('http://127.0.0.1:41234');
    expect(err.message).toContain(path.join(tmp, 'a', 'docker.sock'));
    expect(err.message).toContain('/sys/fs/cgroup/memory/svc/shared');
    expect(err.message).toMatch(/started \d{4}-\d\d-\d\dT/);
    expect(err.message).toContain('WARDEN_CGROUP_PARENT');
    // The refused one let go of the data dir it had taken first.
    await acquire('b', 'other');
  });

  it('refuses a second holder of the data dir', async () => {
    await acquire('a', 'one');
    const err = await refusal('a', 'two');
    expect((err as InstanceLockedError).scope).toBe('data dir');
    expect(err.message).toContain('WARDEN_DATA_DIR');
    // and took nothing: 'two' is still free
    await acquire('c', 'two');
  });

  it('lets different parents and data dirs coexist, and a released scope be taken again', async () => {
    const a = await acquire('a', 'one');
    await acquire('b', 'two');
    a.release();
    a.release(); // idempotent
    await acquire('a', 'one');
  });

  it('is not blocked by a lock file whose holder was killed', async () => {
    const first = await acquire('a', 'one');
    const [dataLock, parentLock] = first.files;
    first.release();
    held.splice(0);
    // flock(1) takes the same flock(2) on both files in other processes (its own group), which
    // are then killed -9 together.
    const holder = spawn('flock', [dataLock, 'flock', parentLock, 'sleep', '60'], {
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise((r) => holder.once('exit', r));
    try {
      await waitFor(async () => {
        try {
          (await acquire('a', 'one')).release();
          return false;
        } catch (err) {
          return err instanceof InstanceLockedError;
        }
      });
    } finally {
      process.kill(-holder.pid!, 'SIGKILL');
    }
    await exited;
    await waitFor(async () => {
      try {
        await acquire('a', 'one');
        return true;
      } catch {
        return false; // its children may outlive the leader by a moment
      }
    });
    expect(fs.existsSync(dataLock)).toBe(true); // the files stayed; only the locks ended
    expect(fs.existsSync(parentLock)).toBe(true);
  });
});

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
