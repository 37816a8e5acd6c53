// Test harness: start corral-server or Apache ZooKeeper 3.8 (Debian's
// `zookeeper` package) from one zoo.cfg, on a free loopback port, exactly as
// tests/python/servers.py does. Every server started is killed when the
// process exits (normally, on an uncaught error, or on SIGINT/SIGTERM).
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const KINDS = ['corral', 'zookeeper'];
const SUPER_USER = 'super';
const SUPER_PASSWORD = 'corral-super-secret';

function corralBinary() {
    return process.env.CORRAL_SERVER || path.join(REPO_ROOT, 'target', 'debug', 'corral-server');
}

/** A free TCP port on 127.0.0.1. */
function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

function digest(user, password) {
    return crypto.createHash('sha1').update(`${user}:${password}`).digest('base64');
}

let classpath = null;
function zookeeperClasspath() {
    if (classpath) return classpath;
    const jars = [];
    for (const pkg of ['libzookeeper-java', 'zookeeper']) {
        let files = [];
        try {
            files = execFileSync('dpkg', ['-L', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
                .split('\n').map((l) => l.trim());
        } catch (_) { /* not installed */ }
        for (const f of files) {
            const base = path.basename(f);
            if ((base === 'zookeeper.jar' || base === 'zookeeper-jute.jar') && fs.existsSync(f) && !jars.includes(f)) {
                jars.push(f);
            }
        }
    }
    if (jars.length === 0) {
        for (const f of ['/usr/share/java/zookeeper.jar', '/usr/share/java/zookeeper-jute.jar']) {
            if (fs.existsSync(f)) jars.push(f);
        }
    }
    if (jars.length === 0) throw new Error('ZooKeeper jars not found: install the Debian package `zookeeper`');
    for (const extra of ['slf4j-log4j12.jar', 'log4j-1.2.jar']) {
        const p = path.join('/usr/share/java', extra);
        if (fs.existsSync(p)) jars.push(p);
    }
    classpath = jars;
    return jars;
}

const LOG4J = [
    'log4j.rootLogger=INFO, CONSOLE',
    'log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender',
    'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n',
    '',
].join('\n');

const live = new Set();
function killAll() {
    for (const s of live) s.killNow();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
        killAll();
        process.kill(process.pid, sig);
    });
}

function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}

/** Sends a four-letter word; resolves to the answer. */
function fourLetter(host, port, cmd, timeoutMs = 1000) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host, port });
        const chunks = [];
        sock.setTimeout(timeoutMs, () => sock.destroy(new Error('timeout')));
        sock.on('connect', () => sock.write(cmd));
        sock.on('data', (d) => chunks.push(d));
        sock.on('error', reject);
        sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
}

class Server {
    /**
     * @param {'corral'|'zookeeper'} kind
     * @param {{tickTime?: number, minSessionTimeout?: number, maxSessionTimeout?: number}} [opts]
     */
    constructor(kind, opts = {}) {
        if (!KINDS.includes(kind)) throw new Error(`unknown server kind ${kind}`);
        this.kind = kind;
        this.host = '127.0.0.1';
        this.port = 0;
        this.tickTime = opts.tickTime || 200;
        this.minSessionTimeout = opts.minSessionTimeout || 2 * this.tickTime;
        this.maxSessionTimeout = opts.maxSessionTimeout || 20 * this.tickTime;
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `corral-node-${kind}-`));
        this.dataDir = path.join(this.dir, 'data');
        fs.mkdirSync(this.dataDir);
        this.cfgPath = path.join(this.dir, 'zoo.cfg');
        this.logPath = path.join(this.dir, 'server.log');
        this.proc = null;
    }

    get hosts() {
        return `${this.host}:${this.port}`;
    }

    writeCfg() {
        const lines = [
            `tickTime=${this.tickTime}`,
            'initLimit=10',
            'syncLimit=5',
            `dataDir=${this.dataDir}`,
            `clientPort=${this.port}`,
            `clientPortAddress=${this.host}`,
            `minSessionTimeout=${this.minSessionTimeout}`,
            `maxSessionTimeout=${this.maxSessionTimeout}`,
            '4lw.commands.whitelist=*',
            'admin.enableServer=false',
            'extendedTypesEnabled=true',
            'zookeeper.extendedTypesEnabled=true',
            'znode.container.checkIntervalMs=500',
            `DigestAuthenticationProvider.superDigest=${SUPER_USER}:${digest(SUPER_USER, SUPER_PASSWORD)}`,
        ];
        fs.writeFileSync(this.cfgPath, lines.join('\n') + '\n');
        if (this.kind === 'zookeeper') fs.writeFileSync(path.join(this.dir, 'log4j.properties'), LOG4J);
    }

    command() {
        if (this.kind === 'corral') return [corralBinary(), '--config', this.cfgPath];
        const cp = [this.dir, ...zookeeperClasspath()].join(':');
        return [
            process.env.JAVA || 'java',
            '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xshare:auto',
            '-Djava.net.preferIPv4Stack=true',
            `-Dlog4j.configuration=file:${path.join(this.dir, 'log4j.properties')}`,
            '-Dzookeeper.jmx.log4j.disable=true',
            '-Dzookeeper.extendedTypesEnabled=true',
            '-Dznode.container.checkIntervalMs=500',
            `-Dzookeeper.DigestAuthenticationProvider.superDigest=${SUPER_USER}:${digest(SUPER_USER, SUPER_PASSWORD)}`,
            '-Dzookeeper.admin.enableServer=false',
            '-Dzookeeper.4lw.commands.whitelist=*',
            '-cp', cp,
            'org.apache.zookeeper.server.ZooKeeperServerMain',
            this.cfgPath,
        ];
    }

    /**
     * Starts the server (on the same port and data when restarted). A first
     * start whose server exits before it is ready (its port taken meanwhile
     * by another process) is tried again on another free port.
     */
    async start(readyTimeoutMs = 30000) {
        if (this.proc) return this;
        const fresh = !this.port;
        for (let attempt = 1; ; attempt++) {
            if (!this.port) this.port = await freePort();
            try {
                await this.startOnce(readyTimeoutMs);
                return this;
            } catch (e) {
                if (!fresh || !e.exitedEarly || attempt >= 3) throw e;
                this.port = 0;
            }
        }
    }

    async startOnce(readyTimeoutMs) {
        this.writeCfg();
        const [cmd, ...args] = this.command();
        if (this.kind === 'corral' && !fs.existsSync(cmd)) {
            throw new Error(`corral-server not found at ${cmd} (cargo build -p corral-server, or set CORRAL_SERVER)`);
        }
        const log = fs.openSync(this.logPath, 'a');
        fs.writeSync(log, `\n==== start ${new Date().toISOString()}: ${cmd} ${args.join(' ')}\n`);
        const proc = spawn(cmd, args, {
            cwd: this.dir,
            stdio: ['ignore', log, log],
            detached: true, // its own process group, killed as a whole
            env: { RUST_BACKTRACE: '1', ...process.env },
        });
        fs.closeSync(log);
        proc.exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.unref();
        this.proc = proc;
        live.add(this);
        try {
            await this.waitReady(readyTimeoutMs);
        } catch (e) {
            await this.kill();
            throw e;
        }
    }

    exitedEarly() {
        const e = new Error(`${this.kind} exited before it was ready; log:\n${this.logTail()}`);
        e.exitedEarly = true;
        return e;
    }

    async waitReady(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        const exited = () => this.proc.exitCode !== null || this.proc.signalCode !== null;
        while (Date.now() < deadline) {
            if (exited()) throw this.exitedEarly();
            let answer = '';
            try {
                answer = await fourLetter(this.host, this.port, 'ruok');
            } catch (_) {
                await sleep(50);
                continue;
            }
            if (answer === 'imok') {
                let srvr = '';
                try {
                    srvr = await fourLetter(this.host, this.port, 'srvr');
                } catch (_) { /* retry */ }
                if (srvr && !srvr.includes('not currently serving')) {
                    // The answer must be our server's, not another process's
                    // on a port ours failed to bind.
                    await sleep(100);
                    if (exited()) throw this.exitedEarly();
                    return;
                }
            }
            await sleep(50);
        }
        throw new Error(`${this.kind} not ready after ${timeoutMs} ms; log:\n${this.logTail()}`);
    }

    signal(sig) {
        if (!this.proc) return;
        try {
            process.kill(-this.proc.pid, sig);
        } catch (_) {
            try { this.proc.kill(sig); } catch (_e) { /* gone */ }
        }
    }

    /**
     * SIGSTOP, then wait until every thread of the process has stopped: a
     * thread running on another core finishes its time slice first, and a
     * fast server can still answer a request sent in that window.
     */
    async freeze(timeoutMs = 5000) {
        this.signal('SIGSTOP');
        const tasks = `/proc/${this.proc.pid}/task`;
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            let stopped = true;
            for (const tid of fs.readdirSync(tasks)) {
                const stat = fs.readFileSync(`${tasks}/${tid}/stat`, 'utf8');
                // The state follows the command name, which is in parentheses.
                const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
                if (state !== 'T' && state !== 't') stopped = false;
            }
            if (stopped) return;
            if (Date.now() > deadline) throw new Error(`server ${this.proc.pid} did not stop`);
            await new Promise((resolve) => setTimeout(resolve, 5));
        }
    }

    /** SIGKILL, synchronously (for exit handlers). */
    killNow() {
        this.signal('SIGKILL');
        live.delete(this);
    }

    /** SIGKILL, and wait for the exit. */
    async kill() {
        if (!this.proc) return;
        const proc = this.proc;
        if (proc.exitCode === null && proc.signalCode === null) {
            this.signal('SIGKILL');
            await proc.exited;
        }
        this.proc = null;
        live.delete(this);
    }

    /** SIGTERM, then SIGKILL after `graceMs`. */
    async stop(graceMs = 5000) {
        if (!this.proc) return;
        const proc = this.proc;
        if (proc.exitCode === null && proc.signalCode === null) {
            this.signal('SIGTERM');
            const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
            await proc.exited;
            clearTimeout(t);
        }
        this.proc = null;
        live.delete(this);
    }

    async cleanup() {
        await this.stop();
        if (!process.env.CORRAL_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
    }

    logTail(n = 40) {
        try {
            return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-n).join('\n');
        } catch (_) {
            return '';
        }
    }
}

/** Starts a server of `kind`; the caller must `cleanup()` it. */
async function startServer(kind, opts) {
    const s = new Server(kind, opts);
    try {
        await s.start();
    } catch (e) {
        fs.rmSync(s.dir, { recursive: true, force: true });
        throw e;
    }
    return s;
}

/** The kinds to test against (CORRAL_NODE_KINDS=corral,zookeeper). */
function kinds() {
    const env = process.env.CORRAL_NODE_KINDS;
    return env ? env.split(',').filter((k) => KINDS.includes(k)) : KINDS;
}

module.exports = { Server, startServer, kinds, freePort, sleep, SUPER_USER, SUPER_PASSWORD, REPO_ROOT };
