import {
  formatImageReference,
  isValidDigest,
  isValidRepositoryName,
  isValidTag,
  parseImageReference,
} from './image-reference';

const D = `sha256:${'0123456789abcdef'.repeat(4)}`;

function ok(s: string, opts = {}) {
  const r = parseImageReference(s, opts);
  if (!r.ok) throw new Error(r.error);
  return r.ref;
}
function err(s: string): string {
  const r = parseImageReference(s);
  if (r.ok) throw new Error(`expected ${s} to be refused`);
  return r.error;
}

describe('parseImageReference', () => {
  it.each([
    ['busybox', { registry: '', repository: 'busybox' }],
    ['busybox:1.36', { registry: '', repository: 'busybox', tag: '1.36' }],
    ['team/app', { registry: '', repository: 'team/app' }],
    ['corp.io/team/app:1.2', { registry: 'corp.io', repository: 'team/app', tag: '1.2' }],
    ['localhost/app', { registry: 'localhost', repository: 'app' }],
    ['localhost:5000/app:v1', { registry: 'localhost:5000', repository: 'app', tag: 'v1' }],
    ['127.0.0.1:5000/a/b', { registry: '127.0.0.1:5000', repository: 'a/b' }],
    ['[::1]:5000/app', { registry: '[::1]:5000', repository: 'app' }],
    [`corp.io/app@${D}`, { registry: 'corp.io', repository: 'app', digest: D }],
    [`corp.io/app:1@${D}`, { registry: 'corp.io', repository: 'app', tag: '1', digest: D }],
    ['my-reg.corp.io:443/x', { registry: 'my-reg.corp.io:443', repository: 'x' }],
    ['team/a_b__c-d--e.f', { registry: '', repository: 'team/a_b__c-d--e.f' }],
  ])('parses %s', (input, ref) => {
    expect(ok(input)).toEqual(ref);
  });

  it('treats a first component without . : or localhost as a repository path (Docker rule)', () => {
    expect(ok('corp/app')).toEqual({ registry: '', repository: 'corp/app' });
    expect(ok('localhostx/app')).toEqual({ registry: '', repository: 'localhostx/app' });
  });

  it.each([
    ['', 'it is empty'],
    [' busybox', 'whitespace'],
    ['Busybox', 'must be lowercase'],
    ['corp.io/Team/app', 'must be lowercase'],
    ['corp.io//app', 'empty path component'],
    ['app/', 'empty path component'],
    ['-app', 'may only contain'],
    ['app_', 'may only contain'],
    ['a___b', 'may only contain'],
    ['a..b', 'may only contain'],
    ['app:', 'tag ""'],
    ['app:.x', 'tag ".x"'],
    [`app:${'x'.repeat(129)}`, 'tag'],
    ['app@sha256:abc', 'must be sha256: followed by 64 lowercase hex digits'],
    [`app@sha256:${'A'.repeat(64)}`, '64 lowercase hex'],
    ['app@nodigest', 'algorithm:hex'],
    ['corp-.io/app', 'registry "corp-.io" is not a valid host[:port]'],
    ['corp.io:port/app', 'registry "corp.io:port"'],
    [':tag', 'no repository name'],
    ['a_b.io/x', 'registry "a_b.io"'],
  ])('refuses %j (%s)', (input, why) => {
    expect(err(input)).toContain(why);
    expect(err(input)).toContain(`invalid image reference "${input}"`);
  });

  it('refuses names longer than 255 characters, domain included', () => {
    const long = `corp.io/${'a'.repeat(250)}`;
    expect(err(long)).toContain('limit is 255');
    expect(ok(`corp.io/${'a'.repeat(247)}`).repository).toHaveLength(247);
  });

  it('does not backtrack catastrophically on long invalid names', () => {
    const started = Date.now();
    err(`${'a-'.repeat(2000)}!`);
    err(`team/${'a'.repeat(200)}-`);
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('uses the default registry only when none is given', () => {
    expect(ok('app', { defaultRegistry: 'corp.io' })).toEqual({ registry: 'corp.io', repository: 'app' });
    expect(ok('other.io/app', { defaultRegistry: 'corp.io' }).registry).toBe('other.io');
  });

  it('normalizes like the Docker CLI only when asked', () => {
    expect(ok('busybox', { dockerHubNormalize: true })).toEqual({
      registry: 'docker.io',
      repository: 'library/busybox',
    });
    expect(ok('index.docker.io/busybox', { dockerHubNormalize: true }).repository).toBe('library/busybox');
    expect(ok('me/app', { dockerHubNormalize: true })).toEqual({
      registry: 'docker.io',
      repository: 'me/app',
    });
    expect(ok('corp.io/app', { dockerHubNormalize: true })).toEqual({
      registry: 'corp.io',
      repository: 'app',
    });
    expect(ok('busybox')).toEqual({ registry: '', repository: 'busybox' });
  });
});

describe('formatImageReference', () => {
  it.each(['busybox', 'corp.io/team/app:1.2', `localhost:5000/app:v1@${D}`, `corp.io/app@${D}`])(
    'round-trips %s',
    (s) => {
      expect(formatImageReference(ok(s))).toBe(s);
    },
  );
});

describe('validators', () => {
  it('isValidRepositoryName', () => {
    expect(isValidRepositoryName('library/busybox')).toBe(true);
    expect(isValidRepositoryName('a/b.c/d_e/f__g/h-i')).toBe(true);
    expect(isValidRepositoryName('')).toBe(false);
    expect(isValidRepositoryName('Library/busybox')).toBe(false);
    expect(isValidRepositoryName('a//b')).toBe(false);
    expect(isValidRepositoryName('a'.repeat(256))).toBe(false);
  });

  it('isValidTag', () => {
    expect(isValidTag('v1.2.3-rc_1')).toBe(true);
    expect(isValidTag('_x')).toBe(true);
    expect(isValidTag('x'.repeat(128))).toBe(true);
    expect(isValidTag('x'.repeat(129))).toBe(false);
    expect(isValidTag('-x')).toBe(false);
    expect(isValidTag('a:b')).toBe(false);
  });

  it('isValidDigest: strict for registered algorithms, grammar for others', () => {
    expect(isValidDigest(D)).toBe(true);
    expect(isValidDigest(`sha512:${'ab'.repeat(64)}`)).toBe(true);
    expect(isValidDigest(`sha256:${'a'.repeat(63)}`)).toBe(false);
    expect(isValidDigest(`sha256:${'a'.repeat(65)}`)).toBe(false);
    expect(isValidDigest(`sha512:${'a'.repeat(64)}`)).toBe(false);
    expect(isValidDigest(`multihash+base58:${'a'.repeat(32)}`)).toBe(true);
    expect(isValidDigest(`sha256+b64u:${'a'.repeat(32)}`)).toBe(true);
    expect(isValidDigest(`1sha:${'a'.repeat(32)}`)).toBe(false);
    expect(isValidDigest(`foo:${'a'.repeat(31)}`)).toBe(false);
    expect(isValidDigest('sha256')).toBe(false);
  });
});
