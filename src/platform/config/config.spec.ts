import * as path from 'node:path';
import { childEnvironment, ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('has working defaults for a checkout', () => {
    const c = loadConfig({}, '/srv/warden');
    expect(c).toMatchObject({
      dataDir: '/srv/warden/var',
      http: { host: '127.0.0.1', port: 8484 },
      dockerSocket: '/srv/warden/var/docker.sock',
      database: { url: undefined },
      redis: { url: undefined },
    });
  });

  it('reads every documented variable', () => {
    const c = loadConfig(
      {
        WARDEN_DATA_DIR: '/data',
        WARDEN_PORT: '9000',
        WARDEN_DOCKER_SOCKET: '/run/warden.sock',
        WARDEN_ADMIN_TOKEN: 'a'.repeat(20),
        DATABASE_URL: 'postgres://u:p@db:5432/w',
        REDIS_URL: 'redis://cache:6379/1',
      },
      '/x',
    );
    expect(c.dataDir).toBe('/data');
    expect(c.http.port).toBe(9000);
    expect(c.dockerSocket).toBe('/run/warden.sock');
    expect(c.adminToken).toBe('a'.repeat(20));
    expect(c.database.url).toBe('postgres://u:p@db:5432/w');
    expect(c.redis.url).toBe('redis://cache:6379/1');
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', WARDEN_PORT: '' }, '/x')).toMatchObject({
      database: { url: undefined },
      http: { port: 8484 },
    });
  });

  it('refuses bad values, listing every problem at once without echoing secrets', () => {
    let err: ConfigError | undefined;
    try {
      loadConfig({
        WARDEN_PORT: 'eighty',
        DATABASE_URL: 'mysql://root@db/w',
        REDIS_URL: 'not a url',
        WARDEN_ADMIN_TOKEN: 'tiny-secret',
        WARDEN_LOG_LEVEL: 'loud',
        WARDEN_DOCKER_SOCKET: `/${'s'.repeat(120)}`,
      });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const keys = err!.problems.map((p) => p.split(' ')[0]).sort();
    expect(keys).toEqual([
      'DATABASE_URL',
      'REDIS_URL',
      'WARDEN_ADMIN_TOKEN',
      'WARDEN_DOCKER_SOCKET',
      'WARDEN_LOG_LEVEL',
      'WARDEN_PORT',
    ]);
    expect(err!.message).toContain("WARDEN_PORT must be a number (got 'eighty')");
    expect(err!.message).not.toContain('tiny-secret');
    expect(err!.message).not.toContain('mysql://root');
  });

  it("gives a child Warden the settings the config was read from, not this process's stray ones", () => {
    const saved = process.env.WARDEN_PORT;
    process.env.WARDEN_PORT = '1';
    try {
      const c = loadConfig({ WARDEN_DATA_DIR: 'state', REDIS_URL: 'redis://r:6379' }, '/srv');
      const env = childEnvironment(c);
      expect(env).toMatchObject({ WARDEN_DATA_DIR: path.join('/srv', 'state'), REDIS_URL: 'redis://r:6379' });
      expect(env.WARDEN_PORT).toBeUndefined();
      expect(env.PATH).toBe(process.env.PATH);
      expect(loadConfig(env).dataDir).toBe(c.dataDir);
    } finally {
      if (saved === undefined) delete process.env.WARDEN_PORT;
      else process.env.WARDEN_PORT = saved;
    }
  });

  it('resolves a relative data dir against the working directory', () => {
    expect(loadConfig({ WARDEN_DATA_DIR: 'state' }, '/srv').dataDir).toBe(path.join('/srv', 'state'));
  });
});
