// mount-archive with real mount(8): bind mounts for real, NFS as far as this kernel allows
// (it has no NFS client): the exact argv, fast clear failures, and the archive.timeout bound
// against a dead peer inside a sealed lab namespace and against a mount that hangs.
import assert from 'node:assert/strict'
import {execFile, execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {validateConfig} from '../../../src/lib/config/load.js'
import {EXIT} from '../../../src/lib/errors.js'
import {createLabNetwork, destroyLabNetwork} from '../../../src/lib/lab/netns.js'
import {ensureArchiveMounted, ensureArchiveUnmounted} from '../../../src/lib/steps/archive.js'
import {type Exec, realExec, SystemContext} from '../../../src/lib/system/exec.js'
import {mountAt, readMountinfo} from '../../../src/lib/system/mount.js'
import {tcpPortOpen} from '../../../src/lib/system/net.js'
import {prerequisites} from '../../helpers/env.js'
import {RUN_JS} from '../../helpers/paths.js'

const BIN = RUN_JS
const PREFIX = `pgtB${process.pid}a`

function run(argv: string[]): Promise<{code: number; stdout: string; stderr: string; json: any; ms: number}> {
  const started = Date.now()
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), {timeout: 30_000, encoding: 'utf8'}, (err, stdout, stderr) => {
      let json: any
      try {
        json = JSON.parse(stdout)
      } catch {}
      resolve({code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, json, ms: Date.now() - started})
    })
  })
}
const pghaLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('pgha:'))

test('archive mounts', async (t) => {
  if (!prerequisites(t, {root: true, commands: ['mount', 'umount', 'unshare', 'ip']})) return
  const dir = mkdtempSync(join(tmpdir(), 'pgtB-arch-'))
  const servers: Server[] = []
  const mountpoint = join(dir, 'peer', 'archive')
  t.after(async () => {
    for (const s of servers) s.close()
    for (let i = 0; i < 4 && mountAt(readMountinfo(), mountpoint); i++) execFileSync('umount', ['-l', mountpoint])
    await destroyLabNetwork(PREFIX)
    rmSync(dir, {recursive: true, force: true})
  })
  mkdirSync(join(dir, 'data'))
  const source = join(dir, 'source')
  mkdirSync(source)
  writeFileSync(join(source, '000000010000000000000001'), 'wal')
  const raw = (archive: Record<string, unknown>) => ({
    cluster: 'arch',
    node: {name: 'n11', address: '192.0.2.11'},
    peer: {name: 'n12', address: '192.0.2.12'},
    network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {bindir: '/usr/lib/postgresql/15/bin', datadir: join(dir, 'data')},
    fence: {agent: 'none'},
    stateDir: join(dir, 'state'),
    archive: {mountpoint, ...archive},
  })
  const writeConfig = (name: string, archive: Record<string, unknown>) => {
    const file = join(dir, name)
    writeFileSync(file, JSON.stringify(raw(archive)))
    return file
  }
  const bindCfg = validateConfig(raw({mode: 'bind', source}), 'bind', {checkFiles: false})
  // A TCP listener standing in for the NFS server's port, so the reachability check passes.
  const fakeNfs = createServer((s) => s.destroy())
  servers.push(fakeNfs)
  await new Promise<void>((r) => fakeNfs.listen(0, '127.0.0.1', r))
  const nfsPort = (fakeNfs.address() as {port: number}).port
  const nfsArchive = {mode: 'nfs', source: '127.0.0.1:/export', timeout: '3s', options: `port=${nfsPort}`}

  await t.test('tcpPortOpen: open port true, closed port false, both fast', async () => {
    assert.equal(await tcpPortOpen('127.0.0.1', nfsPort, 1000), true)
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    const port = (closed.address() as {port: number}).port
    await new Promise((r) => closed.close(r))
    const started = Date.now()
    assert.equal(await tcpPortOpen('127.0.0.1', port, 1000), false)
    assert.ok(Date.now() - started < 500)
  })

  await t.test('bind dry-run records mkdir and mount, creates and mounts nothing', async () => {
    const ctx = new SystemContext(undefined, true)
    const out = await ensureArchiveMounted(ctx, bindCfg)
    assert.equal(out.changed, false)
    assert.deepEqual(
      ctx.plan.map((p) => (p.kind === 'exec' ? p.argv : [])),
      [
        ['mkdir', '-p', mountpoint],
        ['mount', '--bind', source, mountpoint],
      ],
    )
    assert.equal(existsSync(mountpoint), false)
  })

  await t.test('bind mounts for real (creating the mountpoint), is idempotent, and unmounts', async () => {
    const first = await ensureArchiveMounted(new SystemContext(), bindCfg)
    assert.equal(first.changed, true)
    assert.equal(mountAt(readMountinfo(), mountpoint)?.mountpoint, mountpoint)
    assert.equal(readFileSync(join(mountpoint, '000000010000000000000001'), 'utf8'), 'wal')
    const second = await ensureArchiveMounted(new SystemContext(), bindCfg)
    assert.equal(second.changed, false)
    assert.match(second.summary, /already mounted/)
    assert.equal(readMountinfo().filter((e) => e.mountpoint === mountpoint).length, 1)
    const off = await ensureArchiveUnmounted(new SystemContext(), bindCfg)
    assert.equal(off.changed, true)
    assert.equal(mountAt(readMountinfo(), mountpoint), undefined)
    assert.equal((await ensureArchiveUnmounted(new SystemContext(), bindCfg)).changed, false)
  })

  await t.test('a foreign mount on the mountpoint or a missing source: exit 1, nothing changed', async () => {
    const other = join(dir, 'other')
    mkdirSync(other)
    execFileSync('mount', ['--bind', other, mountpoint])
    try {
      await assert.rejects(
        ensureArchiveMounted(new SystemContext(), bindCfg),
        (e: any) => e.exitCode === EXIT.STEP_FAILED && /already has .* mounted, not /.test(e.message),
      )
    } finally {
      execFileSync('umount', [mountpoint])
    }
    const missing = validateConfig(raw({mode: 'bind', source: join(dir, 'nope')}), 'x', {checkFiles: false})
    await assert.rejects(ensureArchiveMounted(new SystemContext(), missing), /is not a directory; nothing was mounted/)
    assert.equal(mountAt(readMountinfo(), mountpoint), undefined)
  })

  await t.test('the CLI bind-mounts inside a private mount namespace, invisible outside', async () => {
    const cfg = writeConfig('bind.json', {mode: 'bind', source})
    const r = await run([
      'unshare',
      '--mount',
      '--propagation',
      'private',
      process.execPath,
      BIN,
      'mount-archive',
      '--config',
      cfg,
      '--json',
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.result.changed, true)
    assert.equal(mountAt(readMountinfo(), mountpoint), undefined)
  })

  await t.test('nfs dry-run shows the exact mount command', async () => {
    const ctx = new SystemContext(undefined, true)
    const out = await ensureArchiveMounted(ctx, validateConfig(raw(nfsArchive), 'nfs', {checkFiles: false}))
    assert.deepEqual(out.warnings, [])
    assert.deepEqual(ctx.plan.at(-1), {
      kind: 'exec',
      argv: ['mount', '-t', 'nfs', '-o', `soft,timeo=5,retrans=2,retry=0,port=${nfsPort}`, '127.0.0.1:/export', mountpoint],
      why: "mount the peer's WAL archive (nfs)",
    })
  })

  await t.test('a real nfs mount fails fast here with one clear line, exit 1, nothing mounted', async () => {
    const cfg = writeConfig('nfs.json', nfsArchive)
    const r = await run([process.execPath, BIN, 'mount-archive', '--config', cfg])
    t.diagnostic(`nfs mount failure reported after ${r.ms} ms: ${pghaLines(r.stderr)[0]}`)
    assert.equal(r.code, 1)
    assert.equal(pghaLines(r.stderr).length, 1)
    assert.match(
      pghaLines(r.stderr)[0],
      /^pgha: cannot mount 127\.0\.0\.1:\/export on \S+: mount -t nfs -o soft,timeo=5,retrans=2,retry=0,port=\d+ 127\.0\.0\.1:\/export \S+ exited \d+: mount: .+ — check archive.source/,
    )
    assert.equal(mountAt(readMountinfo(), mountpoint), undefined)
  })

  await t.test('a mount that hangs (ignoring SIGTERM) is abandoned at archive.timeout', async () => {
    // The real mount argv, executed as a process that hangs the way mount.nfs does on a dead server.
    const hanging: Exec = {
      run: (argv, opts) => realExec.run(argv[0] === 'mount' ? ['sh', '-c', 'trap "" TERM; exec sleep 30'] : argv, opts),
    }
    const cfg = validateConfig(raw({...nfsArchive, timeout: '1500ms'}), 'hang', {checkFiles: false})
    const started = Date.now()
    await assert.rejects(
      ensureArchiveMounted(new SystemContext(hanging), cfg),
      (e: any) => e.exitCode === 1 && /did not finish within 1500ms \(archive.timeout\) and was stopped/.test(e.message),
    )
    const ms = Date.now() - started
    t.diagnostic(`hanging mount abandoned after ${ms} ms (archive.timeout 1500 ms)`)
    assert.ok(ms >= 1400 && ms < 2200, `took ${ms} ms`) // not the 1 s TERM→KILL grace on top
  })

  await t.test('a dead or refusing NFS peer in a sealed lab: bounded, one clear line', async () => {
    const lab = await createLabNetwork({
      prefix: PREFIX,
      hosts: [
        {name: 'a', address: '192.0.2.11'},
        {name: 'b', address: '192.0.2.12'},
      ],
    })
    const dead = writeConfig('dead.json', {mode: 'nfs', source: '192.0.2.77:/var/lib/pgha/archive', timeout: '2s'})
    const r = await run(lab.argvIn('a', [process.execPath, BIN, 'mount-archive', '--config', dead]))
    t.diagnostic(`dead peer: exit ${r.code} after ${r.ms} ms (archive.timeout 2 s, incl. node start-up)`)
    assert.equal(r.code, 1)
    assert.match(
      pghaLines(r.stderr).join('\n'),
      /^pgha: NFS server 192\.0\.2\.77:2049 gave no answer within \d+ ms \(budget archive.timeout 2s\); archive 192\.0\.2\.77:\/var\/lib\/pgha\/archive not mounted — /,
    )
    assert.ok(r.ms < 2000 + 5000)
    const refusing = writeConfig('refusing.json', {mode: 'nfs', source: '192.0.2.12:/var/lib/pgha/archive', timeout: '10s'})
    const q = await run(lab.argvIn('a', [process.execPath, BIN, 'mount-archive', '--config', refusing, '--json']))
    assert.equal(q.code, 1)
    assert.match(q.json.error.message, /^NFS server 192\.0\.2\.12:2049 refused the connection/)
    assert.ok(q.ms < 10_000)
    await lab.destroy()
  })
})
