import { toContainerSpec } from './container-spec';

describe('launch request ulimits field', () => {
  const launch = (ulimits: unknown) => toContainerSpec({ image: 'corp.io/app:1', ulimits });

  it('reads "name=soft[:hard]" and {name, soft, hard}', () => {
    expect(launch(['nofile=1024:4096', 'core=0', { name: 'nproc', soft: 10, hard: -1 }])).toMatchObject({
      ok: true,
      spec: {
        ulimits: [
          { name: 'nofile', soft: 1024, hard: 4096 },
          { name: 'core', soft: 0, hard: 0 },
          { name: 'nproc', soft: 10, hard: -1 },
        ],
      },
    });
  });

  it('names each bad ulimit', () => {
    expect(launch(['files=1', 'nofile=10:5', 'nproc=x', 'nofile=1'])).toEqual({
      ok: false,
      errors: [
        expect.stringMatching(/^ulimits\[0\]: unknown ulimit "files"/),
        'ulimits[1]: nofile: soft limit 10 is above the hard limit 5',
        'ulimits[2]: "nproc=x" must be name=soft[:hard], e.g. nofile=1024:4096',
      ],
    });
    expect(launch(['nofile=1', 'nofile=2'])).toEqual({
      ok: false,
      errors: ['ulimits: a ulimit is given more than once'],
    });
  });
});
