import { parsePublish } from './ports';

describe('parsePublish (docker run -p)', () => {
  it.each([
    ['80', [{ hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    ['8080:80', [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1:8080:80/udp', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' }]],
    ['0.0.0.0::80', [{ hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    [
      '8000-8001:80-81',
      [
        { hostIp: '', hostPort: 8000, containerPort: 80, protocol: 'tcp' },
        { hostIp: '', hostPort: 8001, containerPort: 81, protocol: 'tcp' },
      ],
    ],
    [
      { containerPort: 53, hostPort: 5353, protocol: 'udp' as const },
      [{ hostIp: '', hostPort: 5353, containerPort: 53, protocol: 'udp' }],
    ],
  ])('%j', (input, expected) => {
    expect(parsePublish(input)).toEqual(expected);
  });

  it.each([
    ['80/sctp', 'protocol must be tcp or udp'],
    ['1:2:3:4', 'must be [ip:][hostPort:]containerPort'],
    ['0', 'container port must be 1-65535'],
    ['70000', 'container port must be 1-65535'],
    ['x:80', 'host port must be 0-65535'],
    ['1.2.3:80:80', 'is not an IPv4 address'],
    ['8000-8002:80-81', 'differ in length'],
    ['1-2000', 'at most 1024 ports per range'],
    [{ containerPort: 0 }, 'containerPort 0 is not 1-65535'],
    [{ containerPort: 80, hostIp: 'localhost' }, 'is not an IPv4 address'],
  ])('refuses %j', (input, message) => {
    expect(parsePublish(input)).toEqual(expect.stringContaining(message));
  });
});
