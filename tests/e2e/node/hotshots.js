'use strict';
/*
 * A service instrumented with hot-shots, the DogStatsD client for Node, used as services
 * use it: one client with global tags, every kind of metric, tags as objects and arrays,
 * sample rates, a flush and a close at shutdown. test_e2e_dogstatsd.c runs it against the
 * real daemon and checks every value; the scenario below and the test's expectations
 * change together.
 *
 *   node hotshots.js uds PATH [TELEMETRY_MS [SCENARIO]]
 *   node hotshots.js udp HOST:PORT [TELEMETRY_MS [SCENARIO]]
 *
 * SCENARIO: "all" (default), every kind of metric above; or "jobs", background jobs
 * reported with `check` (service checks) and `increment` (counter lines with an outcome
 * tag), and an up-down gauge moved with `increment` and `decrement`
 * (test_e2e_clientjobs.c).
 * TELEMETRY_MS: 0 (default) turns the client's own telemetry off; otherwise it is on
 * (includeDatadogTelemetry) and flushed every TELEMETRY_MS milliseconds and at close.
 * DD_ENV, DD_SERVICE and DD_VERSION in the environment add their unified service tags to
 * every line, as in production.
 *
 * It prints what went on the wire, one `key=value` a line: datagrams, bytes and lines the
 * socket accepted, the same for the telemetry datagrams alone, and the sum of each
 * telemetry counter (`tele.<name>[.<metrics_type>]`), so the test can compare the client's
 * own account with the daemon's.
 */
const transport = process.argv[2];
const target = process.argv[3];
const telemetryMs = Number(process.argv[4] || 0);
const scenario = process.argv[5] || 'all';

if ((transport !== 'uds' && transport !== 'udp') || !target || !['all', 'jobs'].includes(scenario)) {
  console.error('usage: hotshots.js uds PATH|udp HOST:PORT [TELEMETRY_MS [all|jobs]]');
  process.exit(2);
}
if (transport === 'uds') {
  // hot-shots loads it lazily and only logs when it is missing; fail loudly instead.
  require('unix-dgram');
}
const StatsD = require('hot-shots');

/*
 * Sampling draws Math.random() once per sampled call (hot-shots lib/statsd.js). Draws
 * alternate below and above every rate used here (0.5), so exactly every other sampled
 * call is sent, and the daemon's 1/rate scaling gives back the exact number of calls.
 */
let draw = 0;
Math.random = () => (draw++ % 2 === 0 ? 0.25 : 0.75);

const options = {
  protocol: transport,
  globalTags: scenario === 'all' ? { region: 'eu-1' } : {},
  includeDatadogTelemetry: telemetryMs > 0,
  errorHandler: (err) => {
    console.error(`hot-shots error: ${err.message}`);
    process.exitCode = 1;
  },
};
if (telemetryMs > 0) {
  options.telemetryFlushInterval = telemetryMs;
}
if (transport === 'uds') {
  options.path = target;
} else {
  const colon = target.lastIndexOf(':');
  options.host = target.slice(0, colon);
  options.port = Number(target.slice(colon + 1));
}
const client = new StatsD(options);
if (!client.socket) {
  console.error(`hot-shots: no ${transport} socket to ${target}`);
  process.exit(1);
}

/* Count what the transport accepted, telemetry apart, at the last step before the wire. */
const wire = { datagrams: 0, bytes: 0, lines: 0 };
const tele = { datagrams: 0, bytes: 0, lines: 0 };
const sums = new Map();
const TELEMETRY = 'datadog.dogstatsd.client.';

function account(buf) {
  const text = buf.toString();
  const lines = text.split('\n').filter((l) => l !== '');
  const isTelemetry = text.startsWith(TELEMETRY);
  const w = isTelemetry ? tele : wire;
  w.datagrams += 1;
  w.bytes += buf.length;
  w.lines += lines.length;
  if (!isTelemetry) {
    return;
  }
  for (const line of lines) {
    /* datadog.dogstatsd.client.metrics_by_type:3|c|#client:nodejs,...,metrics_type:gauge */
    const m = /^datadog\.dogstatsd\.client\.([a-z_]+):(\d+)\|c\|#(.*)$/.exec(line);
    if (!m) {
      throw new Error(`unexpected telemetry line: ${line}`);
    }
    const type = /(?:^|,)metrics_type:([a-z]+)/.exec(m[3]);
    const key = type ? `${m[1]}.${type[1]}` : m[1];
    sums.set(key, (sums.get(key) || 0) + Number(m[2]));
  }
}

const send = client.socket.send;
client.socket.send = (buf, callback) =>
  send(buf, (err, ...rest) => {
    if (!err) {
      account(buf);
    }
    if (callback) {
      callback(err, ...rest);
    }
  });

/* Every kind of metric, and a line refused for each reason the daemon gives. */
function everyKind() {
  /* Counters: tags as an object, as an array, implied value, a sample rate. */
  for (let i = 0; i < 3; i++) {
    client.increment('http.server.requests', 1, { method: 'GET', code: '200' });
  }
  client.increment('http.server.requests', { method: 'GET', code: '200' });
  client.increment('http.server.requests', 2, ['method:POST', 'code:503']);
  for (let i = 0; i < 10; i++) {
    client.increment('http.server.requests', 1, 0.5, { method: 'GET', code: '404' });
  }

  /* Gauges: absolute (a negative value sets it), and an up-down gauge moved by deltas. */
  client.gauge('queue.depth', 0, { queue: 'mail' });
  client.gauge('queue.depth', -4, { queue: 'mail' });
  client.gauge('queue.depth', -4, { queue: 'mail' });
  client.gauge('queue.depth', 7.5, ['queue:jobs']);
  client.gauge('inflight', 5);
  client.gaugeDelta('inflight', 3);
  client.gaugeDelta('inflight', -2);
  client.gaugeDelta('inflight', -10);

  /* Histograms, timings (milliseconds), distributions. */
  client.histogram('request.latency', 0.05);
  client.histogram('request.latency', 0.5);
  client.histogram('request.latency', 2);
  client.timing('db.query.duration', 12);
  client.timing('db.query.duration', 250);
  client.timing('db.query.duration', 5);
  for (let i = 0; i < 4; i++) {
    client.timing('db.query.duration', 40, 0.5);
  }
  client.distribution('payload.size', 1024, { format: 'webp' });
  client.distribution('payload.size', 50, ['format:png']);
  client.distribution('payload.size', 5000, { format: 'webp' });

  /* What the daemon refuses, each for its own reason. */
  client.decrement('http.server.requests', 1, { method: 'GET', code: '200' });
  client.increment('http.server.requests', 1, { method: 'DELETE', code: '200' });
  client.increment('http.server.requests', 1, { method: 'GET', code: '200', user: 'u1' });
  client.increment('checkout.started');
  client.set('users.unique', 'alice');
  client.event('deploy', 'v2 rolled out');
  client.check('db.reachable', client.CHECKS.OK);
}

/*
 * Jobs and an up-down gauge, as a service without ustatsd's own client reports them. Job
 * publish (threshold 3): worked, idle, then three errors in the three forms (a critical
 * check, a counter line on the job's name, one on the attempts family with the job tag)
 * open its breaker; a warning check then counts as idle while it stays open. Job
 * cas-promotion: an UNKNOWN check, refused; then two errors in one counter line. The
 * gauge: 3 increments, a decrement, +4, -2: 4. test_e2e_clientjobs.c sends the same runs
 * and moves as native lines to their twins and compares.
 */
function jobsAndUpDown() {
  client.check('cas-promotion', client.CHECKS.UNKNOWN);
  client.check('publish', client.CHECKS.OK);
  client.increment('publish', 1, { outcome: 'idle' });
  client.check('publish', client.CHECKS.CRITICAL,
    { hostname: 'web-1', date_happened: new Date(1700000000000), message: 'upload | failed #2' },
    ['env:prod']);
  client.increment('publish', { outcome: 'error' });
  client.increment('imgsrv.background_job.attempts', 1, ['job:publish', 'outcome:error']);
  client.check('publish', client.CHECKS.WARNING, {}, ['queue:default']);
  client.increment('cas-promotion', 2, { outcome: 'error' });
  for (let i = 0; i < 3; i++) {
    client.increment('inflight');
  }
  client.decrement('inflight');
  client.increment('inflight', 4);
  client.decrement('inflight', 2);
}

if (scenario === 'all') {
  everyKind();
} else {
  jobsAndUpDown();
}

function report() {
  const out = [`hot_shots=${require('hot-shots/package.json').version}`];
  for (const [k, v] of Object.entries(wire)) {
    out.push(`wire.${k}=${v}`);
  }
  for (const [k, v] of Object.entries(tele)) {
    out.push(`tele.${k}=${v}`);
  }
  for (const [k, v] of [...sums.entries()].sort()) {
    out.push(`tele.${k}=${v}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/*
 * Shutdown as a service does it: flush (the buffer goes out and its sends complete), then
 * close, which sends the final telemetry, now covering every datagram sent. Close on a
 * later turn: on a Unix socket unix-dgram calls back synchronously, so flush's callback
 * runs before hot-shots 17.1.1 has emptied its buffer, and a close() there would send the
 * last batch a second time (and leave it out of the telemetry).
 */
client.flush((err) => {
  if (err) {
    console.error(`flush: ${err.message}`);
    process.exitCode = 1;
  }
  setImmediate(() =>
    client.close((err2) => {
      if (err2) {
        console.error(`close: ${err2.message}`);
        process.exitCode = 1;
      }
      report();
    }));
});
