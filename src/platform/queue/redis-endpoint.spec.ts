import { loadConfig } from '../config';
import { ioredisOptions, parseRedisUrl } from './redis-endpoint';

describe('parseRedisUrl', () => {
  it('reads a single server, a socket and TLS as before', () => {
    expect(parseRedisUrl('redis://:pw@10.0.0.5:6380/2')).toMatchObject({
      host: '10.0.0.5',
      port: 6380,
      password: 'pw',
      db: 2,
      tls: false,
    });
    expect(parseRedisUrl('unix:///run/redis.sock')).toEqual({ path: '/run/redis.sock' });
    expect(parseRedisUrl('rediss://r.example:6379').tls).toBe(true);
    expect(parseRedisUrl('redis://r:6379').minReplicas).toBeUndefined();
  });

  it('reads several sentinels, the master name and the options; waits for one replica by default', () => {
    expect(
      parseRedisUrl('redis-sentinel://:s%40cret@10.0.0.1:26379,[::1]:26380,sentinel-c/warden?db=3'),
    ).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
        { host: 'sentinel-c', port: 26379 },
      ],
      name: 'warden',
      username: undefined,
      password: 's@cret',
      db: 3,
      sentinelPassword: undefined,
      minReplicas: 1,
      tls: false,
    });
    const e = parseRedisUrl('rediss-sentinel://h:1/m?minReplicas=0&sentinelPassword=x');
    expect(e).toMatchObject({ tls: true, minReplicas: 0, sentinelPassword: 'x' });
  });

  it.each([
    ['redis-sentinel://h:26379', /look like/],
    ['redis-sentinel://h:99999/m', /not host:port/],
    ['redis-sentinel://h:1,:2/m', /not host:port/],
    ['redis-sentinel://h/m?db=x', /db must be a number/],
    ['redis-sentinel://h/m?minReplicas=99', /minReplicas must be a number from 0 to 16/],
    ['redis-sentinel://h/m?timeout=1', /unknown option 'timeout'/],
  ])('refuses %s, saying why', (url, why) => {
    expect(() => parseRedisUrl(url)).toThrow(why);
  });

  it('gives ioredis the sentinels and failover handling instead of a host', () => {
    const o = ioredisOptions(parseRedisUrl('redis-sentinel://a:1,b:2/m'));
    expect(o).toMatchObject({
      sentinels: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      name: 'm',
    });
    expect(o.host).toBeUndefined();
    expect(o.failoverDetector).toBe(true);
    expect(o.reconnectOnError?.(new Error('READONLY You cannot write against a read only replica.'))).toBe(2);
    expect(o.reconnectOnError?.(new Error('ERR other'))).toBe(false);
  });
});

describe('REDIS_URL in the configuration', () => {
  const load = (url: string) => () => loadConfig({ REDIS_URL: url, WARDEN_DATA_DIR: '/tmp/x' }, '/');

  it('accepts a sentinel URL', () => {
    expect(load('redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster')().redis.url).toBe(
      'redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster',
    );
  });

  it('names the variable and the fault, without echoing the URL (it may hold a password)', () => {
    expect(load('redis-sentinel://:pw@h:26379')).toThrow(/REDIS_URL must look like redis-sentinel:/);
    expect(load('http://h')).toThrow(
      /REDIS_URL must be a URL with scheme redis, rediss, unix or redis-sentinel/,
    );
    expect(load('redis-sentinel://:pw@h:26379')).not.toThrow(/pw/);
  });
});
