/*
 * Interactive sessions with the real docker CLI on a real terminal (tmux): `run -it`, typing,
 * reading the screen, resizing the window, detaching with ctrl-p ctrl-q, re-attaching,
 * `exec -it`, `start -ai`. Root (containers) and tmux needed; CI has both.
 */
import { dockerCliSuite, dockerOk, startDockerWarden, type DockerCli } from '../utils/docker-cli';
import { until } from '../utils/services';
import { hasTmux, Tmux } from '../utils/tmux';

const suite = hasTmux() ? dockerCliSuite('docker CLI under tmux') : describe.skip;

if (!hasTmux())
  console.warn('docker tty tests skipped: tmux is not installed (scripts/bootstrap.sh installs it)');

const BB = 'busybox:1.35';

suite('docker run -it, attach, exec -it and start -ai on a terminal', () => {
  let env: Awaited<ReturnType<typeof startDockerWarden>>;
  let docker: DockerCli;
  let tmux: Tmux;
  const cli = () => `DOCKER_HOST=unix://${env.socket} DOCKER_CONFIG=${docker.configDir} docker`;

  beforeAll(async () => {
    env = await startDockerWarden(`h-tty-${process.pid}`);
    docker = env.docker;
    tmux = new Tmux({ ...process.env, TERM: 'xterm' });
  }, 120_000);
  afterAll(async () => {
    tmux?.close();
    await env?.close();
  });

  const state = async (name: string) =>
    (await dockerOk(docker, ['inspect', '-f', '{{.State.Status}} {{.Config.Tty}}', name])).trim();

  it('run -it: the prompt, typed commands, the size of the window and its resize, a terminal of its own', async () => {
    tmux.open('run', `${cli()} run -it --name it1 ${BB} sh`, 100, 30);
    await until(() => expect(tmux.screen('run')).toMatch(/# $/m));
    tmux.type('run', 'echo typed-$((6*7))');
    await until(() => expect(tmux.screen('run')).toContain('typed-42'));
    tmux.type('run', 'tty; stty size');
    await until(() => expect(tmux.screen('run')).toMatch(/^30 100$/m));
    expect(tmux.screen('run')).toContain('/dev/pts/0');
    expect(await state('it1')).toBe('running true');

    // The CLI sees SIGWINCH and resizes; the shell inside gets it too.
    tmux.resize('run', 120, 40);
    await new Promise((r) => setTimeout(r, 500));
    tmux.type('run', 'stty size');
    await until(() => expect(tmux.screen('run')).toMatch(/^40 120$/m));

    // ctrl-c reaches the process in the container through its terminal, not the CLI.
    tmux.type('run', 'sleep 100');
    await new Promise((r) => setTimeout(r, 500));
    tmux.keys('run', 'C-c');
    tmux.type('run', 'echo after-$?');
    await until(() => expect(tmux.screen('run')).toContain('after-130'));

    tmux.type('run', 'exit 3');
    await until(() => expect(tmux.dead('run')).toBe(true));
    // tmux sets pane_dead before pane_dead_status: read the status once it is there.
    await until(() => expect(tmux.exitStatus('run')).toBe(3));
    expect(await state('it1')).toBe('exited true');
    // The terminal's output is in the log too, as stdout; `docker logs` shows it raw.
    expect(await dockerOk(docker, ['logs', 'it1'])).toContain('typed-42');
  });

  it('ctrl-p ctrl-q detaches and leaves it running; attach comes back to it; exec -it beside it', async () => {
    tmux.open('d1', `${cli()} run -it --name it2 ${BB} sh`);
    await until(() => expect(tmux.screen('d1')).toMatch(/# $/m));
    tmux.type('d1', 'export MARK=kept-state');
    tmux.keys('d1', 'C-p', 'C-q');
    await until(() => expect(tmux.dead('d1')).toBe(true));
    await until(() => expect(tmux.exitStatus('d1')).toBe(0));
    expect(await state('it2')).toBe('running true');

    tmux.open('d2', `${cli()} attach it2`);
    await new Promise((r) => setTimeout(r, 1000));
    tmux.type('d2', 'echo $MARK');
    await until(() => expect(tmux.screen('d2')).toContain('kept-state'));
    // --detach-keys: a sequence of the user's choosing.
    tmux.keys('d2', 'C-p', 'C-q');
    await until(() => expect(tmux.dead('d2')).toBe(true));

    tmux.open('x', `${cli()} exec -it it2 sh`, 90, 25);
    await until(() => expect(tmux.screen('x')).toMatch(/# $/m));
    tmux.type('x', 'tty; stty size; echo exec-$$');
    await until(() => expect(tmux.screen('x')).toMatch(/^25 90$/m));
    expect(tmux.screen('x')).toMatch(/\/dev\/pts\/\d+/);
    tmux.resize('x', 70, 20);
    await new Promise((r) => setTimeout(r, 500));
    tmux.type('x', 'stty size');
    await until(() => expect(tmux.screen('x')).toMatch(/^20 70$/m));
    tmux.type('x', 'exit 4');
    await until(() => expect(tmux.dead('x')).toBe(true));
    await until(() => expect(tmux.exitStatus('x')).toBe(4));

    tmux.open('d3', `${cli()} attach --detach-keys ctrl-x,x it2`);
    await new Promise((r) => setTimeout(r, 1000));
    tmux.type('d3', 'echo third');
    await until(() => expect(tmux.screen('d3')).toContain('third'));
    tmux.keys('d3', 'C-x', 'x');
    await until(() => expect(tmux.dead('d3')).toBe(true));
    expect(await state('it2')).toBe('running true');
    await dockerOk(docker, ['rm', '-f', 'it2']);
  });

  /**
   * A container created without a terminal at hand (`docker create -it` from a script, as
   * here) has no first size (ConsoleSize 0x0): `start -ai` sends its window's size only after
   * the start returns (the CLI's MonitorTtySize), while the shell may already have printed its
   * prompt. Docker has the same order. A person's first keystroke comes long after; a test's
   * comes within milliseconds, and `stty size` then finds a 0x0 terminal ("stty: standard
   * input", busybox's error for 0 rows). So wait, as a person would, until the terminal has
   * the window's size, read from the container's side.
   */
  const sizedBy = (name: string, size: string) =>
    until(async () =>
      expect(await dockerOk(docker, ['exec', name, 'stty', '-F', '/dev/pts/0', 'size'])).toBe(`${size}\n`),
    );

  it('start -ai: a created terminal container, attached and started from the same command', async () => {
    await dockerOk(docker, ['create', '-it', '--name', 'it3', BB, 'sh']);
    tmux.open('s', `${cli()} start -ai it3`, 80, 24);
    await until(() => expect(tmux.screen('s')).toMatch(/# $/m));
    await sizedBy('it3', '24 80');
    tmux.type('s', 'stty size; exit 5');
    await until(() => expect(tmux.dead('s')).toBe(true));
    expect(tmux.screen('s')).toMatch(/^24 80$/m);
    await until(() => expect(tmux.exitStatus('s')).toBe(5));
    // And again: a second run of the same container gets a terminal again.
    tmux.open('s2', `${cli()} start -ai it3`, 80, 24);
    await until(() => expect(tmux.screen('s2')).toMatch(/# $/m));
    await sizedBy('it3', '24 80');
    tmux.type('s2', 'stty size; exit 0');
    await until(() => expect(tmux.dead('s2')).toBe(true));
    expect(tmux.screen('s2')).toMatch(/^24 80$/m);
    await until(() => expect(tmux.exitStatus('s2')).toBe(0));
  });
});
