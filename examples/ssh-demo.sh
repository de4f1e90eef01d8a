#!/usr/bin/env bash
# Runs examples/null-ssh.json against a throwaway OpenSSH server: a fresh
# host key and client key, sshd on a free loopback port as the current
# user, stopped and removed afterwards. Extra arguments go to `kiln build`.
set -euo pipefail
cd "$(dirname "$0")/.."
sshd=/usr/sbin/sshd
if [ ! -x "$sshd" ]; then
  echo "ssh-demo: $sshd is missing: run ./setup.sh as root (it installs openssh-server)," >&2
  echo "          or install Debian's openssh-server yourself." >&2
  exit 1
fi
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
cp "$dir/client_key.pub" "$dir/authorized_keys"
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  cat >"$dir/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
CONFIG
  "$sshd" -D -e -f "$dir/sshd_config" 2>"$dir/sshd.log" &
  pid=$!
  for _ in $(seq 100); do
    grep -q "Server listening" "$dir/sshd.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "Server listening" "$dir/sshd.log" && break
  pid=
done
if [ -z "$pid" ]; then
  echo "ssh-demo: sshd did not start:" >&2
  cat "$dir/sshd.log" >&2
  exit 1
fi
echo "ssh-demo: sshd listening on 127.0.0.1:$port (pid $pid)"
cargo run --release --quiet -- build \
  -var "ssh_port=$port" -var "ssh_user=$(id -un)" -var "ssh_key=$dir/client_key" \
  "$@" examples/null-ssh.json
