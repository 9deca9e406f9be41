import { ConfigError, loadConfig } from '../platform/config';

const problems = (value: string) => {
  try {
    loadConfig({ WARDEN_REGISTRY_UPSTREAMS: value }, '/');
  } catch (err) {
    return (err as ConfigError).problems;
  }
  return [];
};

describe('WARDEN_REGISTRY_UPSTREAMS', () => {
  it('reads aliases, schemes, credentials and the Docker Hub name', () => {
    const c = loadConfig(
      {
        WARDEN_REGISTRY_UPSTREAMS:
          'hub=https://registry-1.docker.io, local=http+insecure://u:p%40ss@127.0.0.1:5000',
      },
      '/',
    );
    expect(c.registry.upstreams).toEqual([
      { alias: 'hub', baseUrl: 'https://registry-1.docker.io', registry: 'docker.io', dockerHub: true },
      {
        alias: 'local',
        baseUrl: 'http://127.0.0.1:5000',
        registry: '127.0.0.1:5000',
        dockerHub: false,
        credentials: { username: 'u', password: 'p@ss' },
      },
    ]);
    expect(c.registry).toMatchObject({ tagTtlMs: 60000, fillTimeoutMs: 600000 });
  });

  it('refuses plain http, paths, bad or repeated aliases, never echoing the value', () => {
    const got = problems('a=http://u:secret@h,B=https://h,c=https://h/path,a=https://x');
    expect(got).toHaveLength(4);
    expect(got.join('\n')).toMatch(/http\+insecure/);
    expect(got.join('\n')).not.toContain('secret');
  });
});
