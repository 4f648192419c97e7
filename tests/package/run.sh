#!/usr/bin/env bash
# The Debian package, end to end (docs/operations.md, "Install as a service"):
# builds it with the page's cpack line and installs it with its dpkg -i line,
# both as written (so this needs root, as the README's commands do; the
# page's systemctl line needs a running systemd and is not run), checks its
# control fields and files, the service user, file modes and `systemd-analyze
# verify` of both units, runs the installed xctld as the unit does (user xctl, the packaged
# config, on a free port) and asks its health and the installed CLI, checks
# --version of the three programs, then removes and purges the package.
# A copy of xctl installed by anything but this test is never touched.
set -euo pipefail
BUILD_DIR="$(cd "$1" && pwd)"
GRPCURL="$BUILD_DIR/tools/grpcurl"
work="$(mktemp -d)"
marker=/var/lib/xctl/.installed-by-package-test
fail() { echo "package_test: $*" >&2; exit 1; }
cleanup() {
  [[ -n "${xctld_pid:-}" ]] && kill "$xctld_pid" 2>/dev/null || true
  if dpkg -s xctl >/dev/null 2>&1 && [[ -f $marker ]]; then
    dpkg -P xctl >/dev/null 2>&1 || true
    rm -rf /var/lib/xctl
  fi
  rm -rf "$work" "${deb:-}"
}
trap cleanup EXIT

[[ $(id -u) == 0 ]] || fail "run as root: it installs the package with dpkg -i"
if dpkg -s xctl >/dev/null 2>&1 && [[ ! -f $marker ]]; then
  fail "a package xctl is installed on this machine already; this test installs and purges its own"
fi

# docs/operations.md, "Install as a service": its cpack and dpkg -i lines are
# run exactly as written, from the checkout (they name build/).
root="$(cd "$(dirname "$0")/../.." && pwd)"
doc_line() { grep -m1 -E "^$1" "$root/docs/operations.md" | sed 's/ *#.*$//'; }
cpack_line=$(doc_line '\(cd build && cpack')
install_line=$(doc_line 'dpkg -i build/')
[[ -n $cpack_line && -n $install_line ]] || fail "docs/operations.md lost its cpack or dpkg -i line"
[[ $BUILD_DIR == "$root/build" ]] || fail "the documented lines name build/; run with $root/build"
version=$(grep -m1 -oP 'project\(xctl VERSION \K[0-9.]+' "$root/CMakeLists.txt")
deb="$root/build/xctl_${version}_amd64.deb"
[[ $install_line == "dpkg -i build/xctl_${version}_amd64.deb" ]] \
  || fail "docs/operations.md installs '${install_line#dpkg -i }', but this version builds $(basename "$deb")"
(cd "$root" && bash -c "$cpack_line" >/dev/null)
[[ -f $deb ]] || fail "'$cpack_line' made no $deb"
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "package version $(dpkg-deb -f "$deb" Version), want $version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in adduser libgrpc++ libsoci-sqlite3 libsoci-postgresql libcurl4; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
contents=$(dpkg-deb -c "$deb")
for path in ./usr/bin/xctld ./usr/bin/xctl ./usr/bin/xctl-gateway ./etc/xctl/xctld.yaml \
    ./lib/systemd/system/xctld.service ./lib/systemd/system/xctl-gateway.service \
    ./usr/share/doc/xctl/operations.md; do
  grep -q " $path\$" <<<"$contents" || fail "the package lacks $path"
done
[[ $(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles) == /etc/xctl/xctld.yaml ]] \
  || fail "/etc/xctl/xctld.yaml is not a conffile"

(cd "$root" && bash -c "$install_line" >/dev/null)
mkdir -p /var/lib/xctl && touch $marker
getent passwd xctl >/dev/null || fail "no user xctl after install"
[[ $(stat -c '%a %U' /var/lib/xctl) == "700 xctl" ]] || fail "/var/lib/xctl is $(stat -c '%a %U' /var/lib/xctl), want 700 xctl"
[[ $(stat -c '%a %U:%G' /etc/xctl/xctld.yaml) == "640 root:xctl" ]] \
  || fail "/etc/xctl/xctld.yaml is $(stat -c '%a %U:%G' /etc/xctl/xctld.yaml), want 640 root:xctl"
verify=$(systemd-analyze verify /lib/systemd/system/xctld.service /lib/systemd/system/xctl-gateway.service 2>&1) \
  || fail "systemd-analyze verify: $verify"
[[ -z $verify ]] || fail "systemd-analyze verify complains: $verify"

for program in xctld xctl xctl-gateway; do
  out=$(/usr/bin/$program --version)
  [[ $out == "$program $version (git "*")" ]] || fail "$program --version printed '$out'"
done

# The installed server as the unit starts it, on a free port.
chmod 0711 "$work"  # user xctl passes through to its own folder only
install -d -m 0700 -o xctl -g xctl "$work/run"
setpriv --reuid=xctl --regid=xctl --init-groups /usr/bin/xctld --config /etc/xctl/xctld.yaml --listen 127.0.0.1:0 \
  --port-file "$work/run/port" >"$work/xctld.log" 2>&1 &
xctld_pid=$!
for _ in $(seq 200); do [[ -s $work/run/port ]] && break; sleep 0.1; done
[[ -s $work/run/port ]] || fail "the installed xctld did not start: $(cat "$work/xctld.log")"
address=127.0.0.1:$(cat "$work/run/port")
for _ in $(seq 100); do
  "$GRPCURL" -plaintext "$address" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"' && break
  sleep 0.1
done
"$GRPCURL" -plaintext "$address" grpc.health.v1.Health/Check | grep -q '"SERVING"' \
  || fail "the installed xctld is not SERVING: $(cat "$work/xctld.log")"
/usr/bin/xctl --server "$address" strategies list >/dev/null || fail "the installed xctl cannot list strategies"
kill -TERM "$xctld_pid"
wait "$xctld_pid" || fail "the installed xctld exited $? on SIGTERM: $(cat "$work/xctld.log")"
xctld_pid=
[[ $(stat -c '%a %U' /var/lib/xctl/xctl.db) == "600 xctl" ]] \
  || fail "/var/lib/xctl/xctl.db is $(stat -c '%a %U' /var/lib/xctl/xctl.db), want 600 xctl"

dpkg -r xctl >/dev/null
[[ ! -e /usr/bin/xctld && -f /etc/xctl/xctld.yaml ]] || fail "remove must take the binaries and keep the config"
dpkg -P xctl >/dev/null
[[ ! -e /etc/xctl/xctld.yaml ]] || fail "purge must take the config"
[[ -f /var/lib/xctl/xctl.db ]] || fail "the trading record in /var/lib/xctl must outlive a purge"
rm -rf /var/lib/xctl
echo "package_test: ok ($deb)"
