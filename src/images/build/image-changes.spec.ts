import { applyChanges } from './image-changes';

describe('applyChanges (--change)', () => {
  it('takes exec and shell forms for CMD and ENTRYPOINT', () => {
    expect(applyChanges({}, ['CMD ["python3", "-V"]']).Cmd).toEqual(['python3', '-V']);
    expect(applyChanges({}, ['CMD echo hi && sleep 1']).Cmd).toEqual(['/bin/sh', '-c', 'echo hi && sleep 1']);
    expect(applyChanges({}, ['entrypoint ["/init"]']).Entrypoint).toEqual(['/init']);
  });

  it('sets ENV and LABEL pairs, replacing an existing variable and keeping the rest', () => {
    const c = applyChanges({ Env: ['PATH=/bin', 'A=1'], Labels: { keep: 'yes' } }, [
      'ENV A=2 B="two words"',
      'ENV C three words',
      'LABEL team=core "app.name"=web',
    ]);
    expect(c.Env).toEqual(['PATH=/bin', 'A=2', 'B=two words', 'C=three words']);
    expect(c.Labels).toEqual({ keep: 'yes', team: 'core', 'app.name': 'web' });
  });

  it('adds ports, volumes, user, workdir, stop signal and onbuild', () => {
    const c = applyChanges({ WorkingDir: '/srv' }, [
      'EXPOSE 80 53/udp',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache',
      'USER nobody',
      'WORKDIR app',
      'STOPSIGNAL SIGINT',
      'ONBUILD RUN true',
    ]);
    expect(c.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(Object.keys(c.Volumes!)).toEqual(['/data', '/logs', '/cache']);
    expect(c).toMatchObject({
      User: 'nobody',
      WorkingDir: '/srv/app',
      StopSignal: 'SIGINT',
      OnBuild: ['RUN true'],
    });
  });

  it('refuses what Docker refuses, naming the change', () => {
    expect(() => applyChanges({}, ['RUN rm -rf /'])).toThrow(
      /invalid --change "RUN rm -rf \/": RUN cannot be changed here/,
    );
    expect(() => applyChanges({}, ['EXPOSE http'])).toThrow(/"http" is not a port/);
    expect(() => applyChanges({}, ['VOLUME data'])).toThrow(/volume path "data" is not absolute/);
    expect(() => applyChanges({}, ['CMD'])).toThrow(/CMD needs an argument/);
    expect(() => applyChanges({}, ['LABEL a="open'])).toThrow(/unterminated " quote/);
  });

  it('does not change the config it was given', () => {
    const base = { Env: ['A=1'] };
    applyChanges(base, ['ENV A=2']);
    expect(base.Env).toEqual(['A=1']);
  });
});
