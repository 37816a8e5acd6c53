// The npm package: `npm install <node/>` builds and installs it into a
// fresh project where `require` and `import` both work; the README's
// JavaScript quickstart runs against corral-server and its TypeScript
// quickstart compiles (tsc --strict) against the committed index.d.ts;
// index.js exports everything the addon has.
'use strict';

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, it } = require('node:test');

const { startServer } = require('./support/servers');

const PKG = path.resolve(__dirname, '..');

function run(cmd, args, opts = {}) {
    return new Promise((resolve) => {
        execFile(cmd, args, { timeout: 600000, maxBuffer: 1 << 26, ...opts }, (err, stdout, stderr) => {
            resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr });
        });
    });
}

/** The fenced code blocks of `lang` in the README. */
function readmeBlocks(lang) {
    const text = fs.readFileSync(path.join(PKG, 'README.md'), 'utf8');
    const re = new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g');
    return [...text.matchAll(re)].map((m) => m[1]);
}

describe('npm package corral-zk', () => {
    let project;
    let server;

    before(async () => {
        project = fs.mkdtempSync(path.join(os.tmpdir(), 'corral-zk-pkg-'));
        fs.writeFileSync(path.join(project, 'package.json'),
            JSON.stringify({ name: 'pkg-test', version: '1.0.0', private: true }));
        server = await startServer('corral');
    });
    after(async () => {
        if (server) await server.cleanup();
        if (project) fs.rmSync(project, { recursive: true, force: true });
    });

    it('installs with npm (building the addon) into a fresh project', async () => {
        const r = await run('npm', ['install', PKG, '--offline', '--no-audit', '--no-fund', '--foreground-scripts'], {
            cwd: project,
            env: { ...process.env, CORRAL_ZK_PROFILE: process.env.CORRAL_ZK_PROFILE || 'debug' },
        });
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr + r.stdout, /corral-zk: built corral-zk\.node/);
        assert.ok(fs.existsSync(path.join(project, 'node_modules', 'corral-zk', 'index.d.ts')));
    });

    it('works with require() and with import', async () => {
        fs.writeFileSync(path.join(project, 'cjs.js'), [
            "const { Client, Perms } = require('corral-zk');",
            '(async () => {',
            '  const zk = await Client.connect(process.argv[2]);',
            "  const p = await zk.create('/pkg-cjs', 'cjs', { mode: 'ephemeral' });",
            "  console.log('cjs', (await zk.getData(p)).data.toString(), Perms.All);",
            '  await zk.close();',
            '})();',
        ].join('\n'));
        fs.writeFileSync(path.join(project, 'esm.mjs'), [
            "import { Client, Perms } from 'corral-zk';",
            'const zk = await Client.connect(process.argv[2]);',
            "const p = await zk.create('/pkg-esm', 'esm', { mode: 'ephemeral' });",
            "console.log('esm', (await zk.getData(p)).data.toString(), Perms.Read);",
            'await zk.close();',
        ].join('\n'));
        const cjs = await run(process.execPath, ['cjs.js', server.hosts], { cwd: project, timeout: 30000 });
        assert.equal(cjs.code, 0, cjs.stderr);
        assert.equal(cjs.stdout.trim(), 'cjs cjs 31');
        const esm = await run(process.execPath, ['esm.mjs', server.hosts], { cwd: project, timeout: 30000 });
        assert.equal(esm.code, 0, esm.stderr);
        assert.equal(esm.stdout.trim(), 'esm esm 1');
    });

    it('exports every class of the addon', () => {
        const binding = require(path.join(PKG, 'corral-zk.node'));
        const pkg = require(PKG);
        assert.deepEqual(Object.keys(pkg).sort(), Object.keys(binding).sort());
    });

    it('runs the README JavaScript quickstart', async () => {
        const [js] = readmeBlocks('js');
        fs.writeFileSync(path.join(project, 'readme.js'), js);
        const r = await run(process.execPath, ['readme.js'], {
            cwd: project,
            timeout: 30000,
            env: { ...process.env, ZK_HOSTS: server.hosts },
        });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /hello 0/);
        assert.match(r.stdout, /NODEEXISTS -110/);
        assert.match(r.stdout, /node_data_changed \/demo\/greeting/);
    });

    it('compiles the README TypeScript quickstart against index.d.ts', async () => {
        const [ts] = readmeBlocks('ts');
        fs.writeFileSync(path.join(project, 'readme.ts'), ts);
        fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
            compilerOptions: {
                strict: true,
                noEmit: true,
                target: 'es2022',
                module: 'nodenext',
                moduleResolution: 'nodenext',
                types: ['node'],
                typeRoots: [path.join(PKG, 'node_modules', '@types')],
            },
            files: ['readme.ts'],
        }));
        const tsc = path.join(PKG, 'node_modules', 'typescript', 'bin', 'tsc');
        const r = await run(process.execPath, [tsc, '-p', project], { cwd: project });
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    });
});
