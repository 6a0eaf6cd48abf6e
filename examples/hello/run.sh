#!/usr/bin/env bash
# Run a first container with tsrunc: builds a tiny bundle once (busybox from the host, or a static hello
# program when busybox is absent), writes its config with `tsrunc spec`, and runs it in the foreground.
# Works as a normal user (rootless) and as root. TSRUNC=/path/to/runtime overrides the runtime.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tsrunc="${TSRUNC:-$repo/bin/tsrunc}"
bundle="$here/bundle"
rootfs="$bundle/rootfs"

find_busybox() {
  local p
  for p in /bin/busybox /usr/bin/busybox "$(command -v busybox 2>/dev/null || true)"; do
    if [[ -n "$p" && -x "$p" ]]; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

build_rootfs() {
  local tmp busybox
  tmp="$bundle/rootfs.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"/{bin,etc,proc,sys,dev,tmp}
  if busybox="$(find_busybox)"; then
    echo "hello: building the rootfs from $busybox" >&2
    cp "$busybox" "$tmp/bin/busybox"
    for applet in sh id hostname echo cat ls; do
      ln -s busybox "$tmp/bin/$applet"
    done
  else
    echo "hello: no busybox here; compiling hello.c with cc -static" >&2
    if ! command -v cc >/dev/null; then
      echo "hello: needs busybox (apt-get install busybox-static) or a C compiler with static libc (apt-get install gcc libc6-dev)" >&2
      exit 1
    fi
    cc -static -O2 -o "$tmp/hello" "$here/hello.c"
  fi
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$tmp/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$tmp/etc/group"
  mv "$tmp" "$rootfs"
}

if [[ ! -x "$tsrunc" ]] && ! command -v "$tsrunc" >/dev/null; then
  echo "hello: $tsrunc not found; run \`npm install\` (or \`npm run build\`) in $repo first" >&2
  exit 1
fi

mkdir -p "$bundle"
if [[ ! -w "$bundle" ]]; then
  echo "hello: $bundle was built by another user; remove it (rm -rf $bundle) and run again" >&2
  exit 1
fi
[[ -d "$rootfs" ]] || build_rootfs

# The config is written each time, so it matches the user running the example (rootless or root).
rm -f "$bundle/config.json"
if [[ "$(id -u)" -eq 0 ]]; then
  (cd "$bundle" && "$tsrunc" spec)
else
  (cd "$bundle" && "$tsrunc" spec --rootless)
fi

if [[ -x "$rootfs/bin/busybox" ]]; then
  args='["sh", "-c", "echo \"Hello from a tsrunc container!\"; echo \"I am $(id)\"; echo \"My hostname is $(hostname)\""]'
else
  args='["/hello"]'
fi
node - "$bundle/config.json" "$args" <<'EOF'
const fs = require('node:fs');
const [file, args] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(file, 'utf8'));
config.process.terminal = false;
config.process.args = JSON.parse(args);
config.hostname = 'hello';
fs.writeFileSync(file, JSON.stringify(config, null, 2));
EOF

exec "$tsrunc" run --bundle "$bundle" "hello-$$"
