#!/usr/bin/env bash
# Builds pgha_<version>_<arch>.deb with dpkg-deb from the compiled tree (`npm run package` runs
# `npm run build` first). The package carries its own Node.js runtime (this machine's node
# binary), so a host needs no Node.js of the right major. Usage: scripts/package.sh [OUTDIR]
# (default dist/). Prints the .deb's path and size.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-dist}
version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)
node_bin=$(node -p process.execPath)
node_major=$(node -p 'process.versions.node.split(".")[0]')

fail() { echo "package: $1" >&2; exit 2; }
[ -d dist/src/commands ] && [ -d dist/bundle/commands ] && [ -f oclif.manifest.json ] || fail "dist/src or oclif.manifest.json is missing: run npm run build first (npm run package does)"
[ "$node_major" -ge 20 ] && [ "$node_major" -le 22 ] || fail "node $node_major is outside package.json engines (>=20 <23): run this with Node.js 20-22"
grep -q '^ExecStart=/usr/bin/pgha ' examples/pgha.service || fail "examples/pgha.service: ExecStart must run /usr/bin/pgha (the wrapper this package installs)"

stage=$(mktemp -d "${TMPDIR:-/tmp}/pgha-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
lib=$root/usr/lib/pgha
doc=$root/usr/share/doc/pgha
mkdir -p "$lib/dist" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/pgha" "$doc/examples" "$root/DEBIAN"

# The code: compiled sources only (no tests, no bench), the manifest, production dependencies.
cp -r bin package.json package-lock.json oclif.manifest.json "$lib/"
cp -r dist/src "$lib/dist/src"
cp -r dist/bundle "$lib/dist/bundle"
find "$lib/dist" -name '*.map' -delete # they point at src/*.ts, which is not shipped
# From the lockfile, production only: a pruned copy of node_modules would keep dev packages
# that satisfy optional peers (typescript for cosmiconfig). The one optional package
# (pg-cloudflare) is for Cloudflare Workers. Offline when the npm cache has them (after npm ci).
(cd "$lib" && npm ci --omit=dev --omit=optional --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
rm -rf "$lib/package-lock.json" "$lib/node_modules/.bin" "$lib/node_modules/.package-lock.json"
install -m 0755 "$node_bin" "$lib/node"

cat >"$root/usr/bin/pgha" <<'EOF'
#!/bin/sh
# pgha runs on the Node.js runtime shipped in /usr/lib/pgha, whatever node this host has (or not).
exec /usr/lib/pgha/node /usr/lib/pgha/bin/run.js "$@"
EOF
chmod 0755 "$root/usr/bin/pgha"

install -m 0644 examples/pgha.service "$root/lib/systemd/system/pgha.service"
install -m 0644 examples/node1.yaml "$root/etc/pgha/pgha.config.yaml.example"
echo /etc/pgha/pgha.config.yaml.example >"$root/DEBIAN/conffiles"

install -m 0644 README.md "$doc/README.md"
[ -f docs/install.md ] && install -m 0644 docs/install.md "$doc/install.md"
install -m 0644 examples/node1.yaml examples/node2.yaml examples/pgha.service "$doc/examples/"
install -m 0755 examples/runbook-failover.sh "$doc/examples/"
cat >"$doc/copyright" <<EOF
pgha $version
License: MIT (see package.json).

This package includes the Node.js $(node -p process.version) runtime (/usr/lib/pgha/node), MIT
licensed, and the npm packages under /usr/lib/pgha/node_modules, each under the license in its
own directory.
EOF

installed_kb=$(du -sk "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: pgha
Version: $version
Architecture: $arch
Maintainer: pgha maintainers <root@localhost>
Installed-Size: $installed_kb
Depends: libc6, libstdc++6, libgcc-s1, iproute2, iputils-arping, ipmitool, util-linux, procps, systemd, postgresql-client, postgresql | postgresql-15 | postgresql-16 | postgresql-17
Suggests: nfs-common, fence-agents
Section: database
Priority: optional
Description: two-host PostgreSQL high availability
 pgha watch keeps one primary and one streaming standby available on two hosts:
 VIP-M on the primary, VIP-S on the standby, automatic failover and failback,
 power fencing (IPMI) before any promotion. Carries its own Node.js runtime.
EOF

cat >"$root/DEBIAN/preinst" <<'EOF'
#!/bin/sh
set -e
# Never replace a pgha that no package installed (a copy made by hand, an npm link).
if [ "$1" = install ] && { [ -e /usr/bin/pgha ] || [ -L /usr/bin/pgha ]; } && ! dpkg-query -S /usr/bin/pgha >/dev/null 2>&1; then
  echo "pgha: /usr/bin/pgha already exists and no package owns it (installed by hand or by npm?): move it away, then install this package again" >&2
  exit 1
fi
EOF

cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
# Not enabled here: the DBA writes /etc/pgha/pgha.config.yaml first, then enables pgha.
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  # An upgrade: a running watch would go on with the old code; a restart re-derives its role.
  [ -z "$2" ] || systemctl try-restart pgha.service || true
fi
EOF

cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
# Its code is about to go: stop the watch (PostgreSQL and the VIPs stay as they are).
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop pgha.service || true
fi
EOF

cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
# Purge: the link `systemctl enable pgha` made. The DBA's own files in /etc/pgha (config,
# passwords) and the state in /var/lib/pgha are theirs: never removed.
if [ "$1" = purge ]; then
  rm -f /etc/systemd/system/multi-user.target.wants/pgha.service
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
EOF
chmod 0755 "$root/DEBIAN/preinst" "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb=$out/pgha_${version}_${arch}.deb
# gzip: xz would save ~30 % at several times the build time of a ~100 MB runtime.
dpkg-deb --root-owner-group -Zgzip -z6 --build "$root" "$deb" >/dev/null
echo "package: $deb ($(du -h "$deb" | cut -f1), installed $((installed_kb / 1024)) MB)"
