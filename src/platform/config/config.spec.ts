import * as path from 'node:path';
import { childEnvironment, ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('has working defaults for a checkout', () => {
    const c = loadConfig({}, '/srv/warden');
    expect(c).toMatchObject({
      dataDir: '/srv/warden/var',
      http: { host: '127.0.0.1', port: 8484 },
      dockerSocket: '/srv/warden/var/docker.sock',
      database: { url: undefined, connectTimeoutMs: 1000 },
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
        WARDEN_DB_CONNECT_TIMEOUT: '2.5',
      },
      '/x',
    );
    expect(c.dataDir).toBe('/data');
    expect(c.http.port).toBe(9000);
    expect(c.dockerSocket).toBe('/run/warden.sock');
    expect(c.adminToken).toBe('a'.repeat(20));
    expect(c.database.url).toBe('postgres://u:p@db:5432/w');
    expect(c.database.connectTimeoutMs).toBe(2500);
    expect(c.redis.url).toBe('redis://cache:6379/1');
  });

  describe('transport security', () => {
    // Any readable regular file stands in for PEM material: loadConfig checks presence, the
    // servers parse the contents.
    const file = __filename;
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env, '/x');
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };

    it('takes a certificate and key together, and only readable files', () => {
      expect(loadConfig({ WARDEN_TLS_CERT: file, WARDEN_TLS_KEY: file }, '/x').http.tls).toEqual({
        mode: 'files',
        cert: file,
        key: file,
      });
      expect(loadConfig({}, '/x').http.tls).toEqual({ mode: 'auto' });
      expect(problems({ WARDEN_TLS_CERT: file })).toEqual([
        'WARDEN_TLS_CERT and WARDEN_TLS_KEY must be given together',
      ]);
      expect(problems({ WARDEN_TLS_CERT: '/nonexistent.pem', WARDEN_TLS_KEY: file })[0]).toMatch(
        /^WARDEN_TLS_CERT must be a readable file/,
      );
      expect(problems({ WARDEN_TLS: 'off', WARDEN_TLS_CERT: file, WARDEN_TLS_KEY: file })).toEqual([
        'WARDEN_TLS=off contradicts WARDEN_TLS_CERT/WARDEN_TLS_KEY: drop one',
      ]);
    });

    it('admission webhooks: off unless a port is given; a generated certificate unless files are', () => {
      expect(loadConfig({}, '/x').admission).toBeUndefined();
      expect(loadConfig({ WARDEN_ADMISSION_PORT: '8443' }, '/x').admission).toEqual({
        host: '0.0.0.0',
        port: 8443,
        tls: { mode: 'generated', serverNames: ['warden-admission.warden-system.svc'] },
      });
      expect(
        loadConfig(
          {
            WARDEN_ADMISSION_PORT: '8443',
            WARDEN_ADMISSION_HOST: '127.0.0.1',
            WARDEN_ADMISSION_TLS_CERT: file,
            WARDEN_ADMISSION_TLS_KEY: file,
            WARDEN_ADMISSION_CLIENT_CA: file,
          },
          '/x',
        ).admission,
      ).toEqual({
        host: '127.0.0.1',
        port: 8443,
        tls: { mode: 'files', cert: file, key: file },
        clientCa: file,
      });
      expect(
        loadConfig({ WARDEN_ADMISSION_PORT: '0', WARDEN_ADMISSION_SERVER_NAMES: 'a.svc,10.0.0.7' }, '/x')
          .admission?.tls,
      ).toEqual({ mode: 'generated', serverNames: ['a.svc', '10.0.0.7'] });
      expect(problems({ WARDEN_ADMISSION_PORT: '8443', WARDEN_ADMISSION_TLS_CERT: file })).toEqual([
        'WARDEN_ADMISSION_TLS_CERT and WARDEN_ADMISSION_TLS_KEY must be given together',
      ]);
      expect(problems({ WARDEN_ADMISSION_SERVER_NAMES: 'a.svc' })).toEqual([
        'WARDEN_ADMISSION_SERVER_NAMES given without WARDEN_ADMISSION_PORT (the admission webhooks are off)',
      ]);
      expect(problems({ WARDEN_ADMISSION_PORT: '8443', WARDEN_ADMISSION_SERVER_NAMES: 'a b' })[0]).toMatch(
        /^WARDEN_ADMISSION_SERVER_NAMES must be comma-separated DNS names/,
      );
      expect(problems({ WARDEN_ADMISSION_PORT: '70000' })[0]).toMatch(
        /^WARDEN_ADMISSION_PORT must be 0..65535/,
      );
    });

    it('serves the Docker API on TCP only with mutual TLS', () => {
      const tcp = { WARDEN_DOCKER_TLS_CA: file, WARDEN_DOCKER_TLS_CERT: file, WARDEN_DOCKER_TLS_KEY: file };
      expect(loadConfig({ WARDEN_DOCKER_TCP: '[::1]:2376', ...tcp }, '/x').dockerTcp).toEqual({
        host: '::1',
        port: 2376,
        ca: file,
        cert: file,
        key: file,
      });
      expect(problems({ WARDEN_DOCKER_TCP: '0.0.0.0:2376', WARDEN_DOCKER_TLS_CERT: file })).toEqual([
        "WARDEN_DOCKER_TCP serves the Docker API with mutual TLS only: set WARDEN_DOCKER_TLS_CA, WARDEN_DOCKER_TLS_KEY (the CA that signs client certificates, the server's certificate and key)",
      ]);
      expect(problems(tcp)).toEqual([
        'WARDEN_DOCKER_TLS_CA, WARDEN_DOCKER_TLS_CERT, WARDEN_DOCKER_TLS_KEY given without WARDEN_DOCKER_TCP',
      ]);
      expect(problems({ WARDEN_DOCKER_TCP: 'example.org:2376', ...tcp })[0]).toMatch(/must be host:port/);
      expect(problems({ WARDEN_DOCKER_TCP: '127.0.0.1:70000', ...tcp })[0]).toMatch(/at most 65535/);
    });
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
