import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadBusybox, startNetnsWarden, type NetnsWarden } from '../utils/netns-warden';

/**
 * Debian's docker-compose (1.29) against Warden in the test's own netns (issue 16, point 7):
 * two services on a user-defined network, one reaching the other by name, one publishing a
 * port that answers from the host side of the namespace.
 */
describe('docker-compose up/ps/logs/exec/down (Warden in its own netns)', () => {
  let w: NetnsWarden;
  let dir: string;

  beforeAll(async () => {
    w = await startNetnsWarden();
    await loadBusybox(w);
    dir = fs.mkdtempSync(path.join(w.dataDir, 'compose-'));
    fs.writeFileSync(
      path.join(dir, 'docker-compose.yml'),
      [
        "version: '3.7'",
        'services:',
        '  web:',
        '    image: busybox:1.35',
        // A shell as pid 1 ignores SIGTERM unless it traps it: without the trap, `down` waited
        // out its 10 s grace for each service before killing it.
        "    command: ['sh', '-c', 'trap \"exit 0\" TERM; echo hello-compose > /tmp/index.html; httpd -f -p 80 -h /tmp & wait']",
        '    ports: ["127.0.0.1:18300:80"]',
        '    networks: [appnet]',
        '  client:',
        '    image: busybox:1.35',
        "    command: ['sh', '-c', 'trap \"exit 0\" TERM; sleep 1; wget -q -O - http://web/index.html; sleep 60 & wait']",
        '    networks: [appnet]',
        'networks:',
        '  appnet: {}',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await w?.close();
  });

  const compose = (...args: string[]) => {
    const r = spawnSync('docker-compose', ['-p', 'demo', ...args], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60000,
      env: { ...w.docker.env(), COMPOSE_INTERACTIVE_NO_CLI: '1' },
    });
    if (r.status !== 0)
      throw new Error(
        `docker-compose ${args.join(' ')} → ${r.status}\n${r.stdout}${r.stderr}\n${w.output().slice(-1500)}`,
      );
    return r.stdout;
  };

  it('up -d, ps, logs, exec, down', async () => {
    compose('up', '-d');
    expect(compose('ps')).toMatch(/demo_web_1[\s\S]*Up/);
    expect(w.inNetns(['curl', '-sf', '-m', '3', 'http://127.0.0.1:18300/index.html']).stdout.trim()).toBe(
      'hello-compose',
    );
    let logs = '';
    for (let i = 0; i < 60 && !logs.includes('hello-compose'); i++) {
      logs = compose('logs', 'client');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(logs).toContain('hello-compose');
    expect(compose('exec', '-T', 'client', 'cat', '/etc/resolv.conf')).toMatch(/nameserver 10\.232\.\d+\.1/);
    compose('down');
    expect((await w.docker.run(['ps', '-aq'])).stdout.trim()).toBe('');
    expect((await w.docker.run(['network', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain(
      'demo_appnet',
    );
    expect(w.footprint().links.filter((l) => l.startsWith('veth'))).toEqual([]);
  });
});
