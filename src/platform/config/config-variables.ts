/** The table the README documents, one row per variable of config.ts's schema. */
export const CONFIG_VARIABLES: ReadonlyArray<{ name: string; default: string; meaning: string }> = [
  {
    name: 'WARDEN_DATA_DIR',
    default: './var',
    meaning: 'state: embedded PostgreSQL, Redis AOF, image store, logs',
  },
  { name: 'WARDEN_HOST', default: '127.0.0.1', meaning: 'HTTP listen address' },
  { name: 'WARDEN_PORT', default: '8484', meaning: 'HTTP port (REST, /v2/, /health, /metrics, /docs)' },
  {
    name: 'WARDEN_TLS_CERT',
    default: '(none)',
    meaning: 'PEM certificate (chain) for the HTTP port; with WARDEN_TLS_KEY it serves HTTPS',
  },
  { name: 'WARDEN_TLS_KEY', default: '(none)', meaning: 'PEM private key of WARDEN_TLS_CERT' },
  {
    name: 'WARDEN_TLS',
    default: 'auto',
    meaning:
      'without a certificate: auto = plain HTTP on loopback, a self-signed certificate under the data dir beyond it; off = plain HTTP (bearer tokens refused from non-loopback peers)',
  },
  {
    name: 'WARDEN_DOCKER_TCP',
    default: '(none)',
    meaning:
      'host:port for the Docker API over TCP, mutual TLS only (needs the three WARDEN_DOCKER_TLS_* files)',
  },
  {
    name: 'WARDEN_DOCKER_TLS_CA',
    default: '(none)',
    meaning:
      "CA bundle that signs Docker TCP clients' certificates; a client's subject CN names its principal",
  },
  {
    name: 'WARDEN_DOCKER_TLS_CERT',
    default: '(none)',
    meaning: 'PEM certificate of the Docker TCP listener',
  },
  { name: 'WARDEN_DOCKER_TLS_KEY', default: '(none)', meaning: 'PEM private key of WARDEN_DOCKER_TLS_CERT' },
  {
    name: 'WARDEN_DOCKER_SOCKET',
    default: '$WARDEN_DATA_DIR/docker.sock',
    meaning: 'Docker-compatible unix socket',
  },
  {
    name: 'WARDEN_ADMIN_TOKEN',
    default: '(none)',
    meaning: 'bootstrap admin bearer token, at least 16 characters',
  },
  {
    name: 'DATABASE_URL',
    default: '(embedded)',
    meaning: 'external PostgreSQL; unset = start embedded PostgreSQL',
  },
  {
    name: 'WARDEN_DB_CONNECT_TIMEOUT',
    default: '1',
    meaning:
      'seconds a new PostgreSQL connection may take before the request answers 503 (raise it on very slow hosts, e.g. an emulated VM)',
  },
  {
    name: 'REDIS_URL',
    default: '(embedded)',
    meaning:
      'external Redis (redis://, rediss://, unix://, or redis-sentinel://host:26379,…/master for a Sentinel-watched master); unset = start redis-server',
  },
  { name: 'WARDEN_LOG_LEVEL', default: 'info', meaning: 'trace, debug, info, warn, error, fatal or silent' },
  {
    name: 'WARDEN_AUDIT_BATCH_SIZE',
    default: '500',
    meaning: 'most audit events a worker commits in one transaction',
  },
  { name: 'WARDEN_AUDIT_FLUSH_MS', default: '5', meaning: 'how long a worker waits to fill an audit batch' },
  {
    name: 'WARDEN_NODE_NAME',
    default: '(host name-data dir hash)',
    meaning:
      "this node's name in the fleet; containers are recorded per node (WARDEN_NODE: the older spelling)",
  },
  {
    name: 'WARDEN_NODE_ADDRESS',
    default: '(the URL it listens on)',
    meaning: "where this node's API is reached, as GET /nodes shows it",
  },
  {
    name: 'WARDEN_NODE_HEARTBEAT_TIMEOUT',
    default: '5',
    meaning: "seconds without a node's heartbeat before it counts as down and its containers show unknown",
  },
  {
    name: 'WARDEN_CGROUP_PARENT',
    default: 'warden',
    meaning: "cgroup (under the service's own) that holds containers",
  },
  { name: 'WARDEN_STOP_TIMEOUT', default: '10', meaning: 'seconds between SIGTERM and SIGKILL on stop' },
  {
    name: 'WARDEN_SHUTDOWN_GRACE',
    default: '20',
    meaning: "seconds Warden's own stop (SIGTERM) may take, a server down or not, before it exits anyway",
  },
  {
    name: 'WARDEN_USAGE_INTERVAL',
    default: '10',
    meaning: 'seconds between usage samples of running containers',
  },
  {
    name: 'WARDEN_UP_WORKERS',
    default: 'process',
    meaning:
      "`up` runs its queue workers as a child process at nice 10 (process) or on the API's event loop (inline)",
  },
  {
    name: 'WARDEN_PREPARED_START_TTL',
    default: '30',
    meaning: "seconds a created container's prepared start waits for its start (0: never prepare)",
  },
  {
    name: 'WARDEN_LIVE_RESTORE',
    default: 'true',
    meaning:
      'containers keep running when Warden stops and are adopted at its next start (false: a stop kills them)',
  },
  {
    name: 'WARDEN_LAYER_POOL',
    default: '4',
    meaning:
      'formatted, mounted, empty sized writable layers kept for the next creates of their size, all sizes together (0: a new filesystem per container)',
  },
  {
    name: 'WARDEN_LOG_MAX_SIZE',
    default: '10m',
    meaning:
      "a container log file's size before it rotates, when neither `--log-opt max-size` nor the policy's `logs.maxSize.default` gives one (kept under the policy's cap)",
  },
  {
    name: 'WARDEN_LOG_MAX_FILES',
    default: '3',
    meaning:
      'log files kept per container (current one included) when neither `--log-opt max-file` nor the policy says',
  },
  {
    name: 'WARDEN_EXEC_RECORDING_MAX_SIZE',
    default: '1m',
    meaning:
      "a recorded exec session's transcript cap when its policy's `exec.recording.maxBytes` names none",
  },
  {
    name: 'WARDEN_EXEC_TRANSCRIPT_RETENTION',
    default: '90d',
    meaning:
      'how long a recorded exec transcript is kept after its last write (`90d`, `12h`, `30m`, seconds; `0` keeps them forever); each pruning is an audit event listing what went, with hashes',
  },
  {
    name: 'WARDEN_QUEUE_LOCK_MS',
    default: '10000',
    meaning: "how long a killed worker's queue jobs stay locked before they run again",
  },
  {
    name: 'WARDEN_REGISTRY_UPSTREAMS',
    default: '(none)',
    meaning:
      '/v2/ proxy upstreams: alias=https://host[:port] (or http+insecure://), comma-separated; user:pass@ for credentials',
  },
  {
    name: 'WARDEN_REGISTRY_TAG_TTL',
    default: '60',
    meaning: 'seconds a tag is served from cache before upstream is asked again',
  },
  {
    name: 'WARDEN_REGISTRY_FILL_TIMEOUT',
    default: '600',
    meaning: 'seconds a blob fetch continues after its clients went away',
  },
  {
    name: 'WARDEN_REGISTRY_PUSH_CHUNK_SIZE',
    default: '64m',
    meaning:
      'a pushed blob bigger than this goes to the upstream in PATCH chunks of this size (at least 64k)',
  },
  {
    name: 'WARDEN_NETWORKING',
    default: 'none',
    meaning:
      'bridge: containers without --network join the default bridge (netavark), user networks and -p work; none: loopback only',
  },
  {
    name: 'WARDEN_BRIDGE_SUBNET',
    default: '10.231.0.0/16',
    meaning: "the default bridge network's subnet (interface warden0)",
  },
  {
    name: 'WARDEN_NETWORK_POOL',
    default: '10.232.0.0/16',
    meaning: 'where user-defined networks without --subnet get a /24',
  },
  {
    name: 'WARDEN_NETAVARK',
    default: '/usr/lib/podman/netavark',
    meaning: 'the netavark binary (aardvark-dns beside it); Debian package netavark 1.4',
  },
  {
    name: 'WARDEN_QUEUE_STALLED_CHECK_MS',
    default: '5000',
    meaning: 'how often workers look for jobs whose lock expired',
  },
  {
    name: 'WARDEN_ADMISSION_PORT',
    default: '(off)',
    meaning: 'HTTPS port of the Kubernetes admission webhooks (/validate, /mutate); unset = off',
  },
  { name: 'WARDEN_ADMISSION_HOST', default: '0.0.0.0', meaning: 'listen address of the admission port' },
  {
    name: 'WARDEN_ADMISSION_TLS_CERT',
    default: '(generated)',
    meaning:
      'PEM certificate (chain) of the admission port, with WARDEN_ADMISSION_TLS_KEY; unset = a CA and serving certificate made under the data dir',
  },
  {
    name: 'WARDEN_ADMISSION_TLS_KEY',
    default: '(generated)',
    meaning: 'PEM private key of WARDEN_ADMISSION_TLS_CERT',
  },
  {
    name: 'WARDEN_ADMISSION_SERVER_NAMES',
    default: 'warden-admission.warden-system.svc',
    meaning:
      "comma-separated DNS names / IPs in the generated serving certificate (the webhook Service's name)",
  },
  {
    name: 'WARDEN_ADMISSION_CLIENT_CA',
    default: '(none)',
    meaning: "CA of the API server's client certificate: when set, only its clients are reviewed",
  },
];
