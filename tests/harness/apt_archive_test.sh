#!/bin/sh
# Where the chroots and images get Debian from (scripts/kernels/apt-archive.sh),
# checked against made-up machines: deb822 and one-line sources, with and
# without a proxy or a security archive, the overrides, a machine with no
# Debian archive, and a release the archive no longer has. Each machine is a
# directory that a file named by APT_CONFIG makes apt's Dir, so apt-config
# reads it instead of this machine's configuration; the hosts are made up
# (.example) and nothing is downloaded. As root, extra-kernel.sh and
# distro-image.sh run too, with a stand-in mmdebstrap that records its
# arguments and fails as apt does for a missing release. One TAP line each.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/kernels/apt-archive.sh"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
failed=0

# A machine: $t/NAME with apt's directories and a Debian bookworm
# os-release; APT_CONFIG=$t/NAME.conf reads it.
machine() {
	m=$t/$1
	mkdir -p "$m/etc/apt/apt.conf.d" "$m/etc/apt/sources.list.d"
	printf 'ID=debian\nVERSION_CODENAME=bookworm\n' >"$m/etc/os-release"
	printf 'Dir "%s/";\n' "$m" >"$t/$1.conf"
}

# check NAME EXPECTED COMMAND...: COMMAND's stdout must be EXPECTED.
check() {
	name=$1 want=$2
	shift 2
	"$@" >"$t/out" 2>"$t/err"
	echo "$want" >"$t/want"
	if diff -u "$t/want" "$t/out" >"$t/diff"; then
		echo "ok - apt-archive: $name"
	else
		echo "not ok - apt-archive: $name"
		sed 's/^/#   /' "$t/diff" "$t/err"
		failed=$((failed + 1))
	fi
}

# verdict NAME COMMAND...: a test whose COMMAND says it all (its exit status).
verdict() {
	name=$1
	shift
	if "$@" >"$t/log" 2>&1; then
		echo "ok - apt-archive: $name"
	else
		echo "not ok - apt-archive: $name"
		sed 's/^/#   /' "$t/log"
		failed=$((failed + 1))
	fi
}

conf_plain='Acquire::Retries "3";
Acquire::Check-Valid-Until "false";'

# deb822, the way Debian 12 installs it, with what must not be taken for
# Debian's archive sorted before it: another vendor's bookworm (its own
# key), one with its key embedded, a disabled entry, a source-only entry, a
# file apt ignores by its name.
machine deb822
cat >"$t/deb822/etc/apt/sources.list.d/00-disabled.sources" <<'EOF'
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no
EOF
cat >"$t/deb822/etc/apt/sources.list.d/10-vendor.sources" <<'EOF'
# A vendor that names its suites after Debian's.
Types: deb
URIs: https://vendor.example/apt
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/vendor-archive-keyring.gpg

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main
EOF
cat >"$t/deb822/etc/apt/sources.list.d/20-embedded.sources" <<'EOF'
Types: deb
URIs: https://embedded.example/apt
Suites: bookworm
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGTbOgoBEADMadeUpKeyMaterialThatIsNotAKey
 -----END PGP PUBLIC KEY BLOCK-----
EOF
echo 'deb http://ignored.example/debian bookworm main' \
	>"$t/deb822/etc/apt/sources.list.d/old.list.disabled"
cat >"$t/deb822/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb deb-src
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

types: deb
uris: http://security.mirror.example/debian-security/
suites: bookworm-security
components: main
signed-by: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
export APT_CONFIG="$t/deb822.conf"
check "deb822, no proxy: the apt options" "$conf_plain" apt_archive_conf
check "deb822: bookworm, its -updates and -security from the machine's archives" \
"deb http://mirror.example/debian bookworm main
deb http://mirror.example/debian bookworm-updates main
deb http://security.mirror.example/debian-security bookworm-security main" \
	apt_archive_sources bookworm
check "deb822: sid, which the machine does not list, from the same archive" \
	"deb http://mirror.example/debian sid main" apt_archive_sources sid
check "deb822: experimental with sid" \
"deb http://mirror.example/debian sid main
deb http://mirror.example/debian experimental main" \
	apt_archive_sources sid experimental
check "deb822: bullseye, an older release, from the same archives" \
"deb http://mirror.example/debian bullseye main
deb http://mirror.example/debian bullseye-updates main
deb http://security.mirror.example/debian-security bullseye-security main" \
	apt_archive_sources bullseye
check "override: KBANK_MIRROR and KBANK_SECURITY_MIRROR replace the machine's" \
"deb http://local.example/debian trixie main
deb http://local.example/debian trixie-updates main
deb http://local.example/security trixie-security main" \
	env KBANK_MIRROR=http://local.example/debian/ \
	KBANK_SECURITY_MIRROR=http://local.example/security \
	sh -c '. "$1/scripts/kernels/apt-archive.sh" && apt_archive_sources trixie' sh "$top"
check "override: KBANK_SECURITY_MIRROR=none leaves -security out" \
"deb http://mirror.example/debian trixie main
deb http://mirror.example/debian trixie-updates main" \
	env KBANK_SECURITY_MIRROR=none \
	sh -c '. "$1/scripts/kernels/apt-archive.sh" && apt_archive_sources trixie' sh "$top"
verdict "override: KBANK_SECURITY_MIRROR=none says nothing" test ! -s "$t/err"

# One-line sources.list and a sources.list.d/*.list, behind a proxy (one
# host direct), with kbank's options where they must win or yield.
machine oneline
cat >"$t/oneline/etc/apt/sources.list" <<'EOF'
# The machine's sources, one line each.
deb-src http://src.example/debian bookworm main
deb [ signed-by=/usr/share/keyrings/vendor.gpg ] http://vendor.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian/ bookworm main non-free-firmware # a comment
EOF
cat >"$t/oneline/etc/apt/sources.list.d/security.list" <<'EOF'
	deb http://mirror.example/debian-security bookworm-security main
EOF
cat >"$t/oneline/etc/apt/apt.conf.d/01proxy" <<'EOF'
Acquire::http::Proxy "http://proxy.example:3142/";
Acquire::http::Proxy::mirror.example "DIRECT";
Acquire::https { Proxy "http://proxy.example:3128"; };
Acquire::Retries "5";
Acquire::Check-Valid-Until "true";
Acquire::AllowInsecureRepositories "true";
Acquire::Languages "none";
EOF
export APT_CONFIG="$t/oneline.conf"
check "one-line, proxy: the proxy and retries passed on, Valid-Until off, trust kept" \
'Acquire::Retries "3";
Acquire::http::Proxy "http://proxy.example:3142/";
Acquire::http::Proxy::mirror.example "DIRECT";
Acquire::https::Proxy "http://proxy.example:3128";
Acquire::Retries "5";
Acquire::Check-Valid-Until "false";' \
	apt_archive_conf
check "one-line: bookworm from the machine's archives" \
"deb http://mirror.example/debian bookworm main
deb http://mirror.example/debian bookworm-updates main
deb http://mirror.example/debian-security bookworm-security main" \
	apt_archive_sources bookworm

# A machine with no security archive, its archive given by a mirror list
# (mirror+file:, as Debian's cloud images do): the list's first mirror,
# since the chroot has no copy of the list.
machine nosecurity
printf '# the mirrors\nhttp://mirror.example/debian\tpriority:1\nhttp://other.example/debian\n' \
	>"$t/nosecurity/mirrors.list"
cat >"$t/nosecurity/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: mirror+file://$t/nosecurity/mirrors.list
Suites: stable
Components: main
EOF
export APT_CONFIG="$t/nosecurity.conf"
check "no security archive, a mirror list: bookworm without -security" \
"deb http://mirror.example/debian bookworm main
deb http://mirror.example/debian bookworm-updates main" \
	apt_archive_sources bookworm
verdict "no security archive: said, with the setting" \
	grep -q 'no security archive.*KBANK_SECURITY_MIRROR=' "$t/err"

# Not Debian: an Ubuntu machine's own codename is no Debian suite.
machine ubuntu
printf 'ID=ubuntu\nVERSION_CODENAME=noble\n' >"$t/ubuntu/etc/os-release"
echo 'deb http://archive.example/ubuntu noble main' >"$t/ubuntu/etc/apt/sources.list"
export APT_CONFIG="$t/ubuntu.conf"
check "no Debian archive: an error, no sources" "rc=1" sh -c \
	'. "$1/scripts/kernels/apt-archive.sh"; apt_archive_sources sid; echo "rc=$?"' sh "$top"
verdict "no Debian archive: the error names KBANK_MIRROR" \
	grep -q 'no Debian archive.*KBANK_MIRROR=' "$t/err"
check "no Debian archive: KBANK_MIRROR serves" \
	"deb http://local.example/debian sid main" \
	env KBANK_MIRROR=http://local.example/debian \
	sh -c '. "$1/scripts/kernels/apt-archive.sh" && apt_archive_sources sid' sh "$top"

# mmdebstrap's log for a release the archive no longer has.
cat >"$t/gone.log" <<'EOF'
Err:2 http://mirror.example/debian bullseye Release
  404  Not Found [IP: 192.0.2.1 80]
E: The repository 'http://mirror.example/debian bullseye Release' does not have a Release file.
EOF
sed 's/debian bullseye/debian-security bullseye-security/' "$t/gone.log" >"$t/gone-security.log"
echo 'E: Unable to locate package linux-headers-rt-amd64' >"$t/flavour.log"
check "a release the archive lacks: the message names KBANK_MIRROR" \
	"http://mirror.example/debian has no bullseye (a release Debian no longer supports moves to its archive of old releases): set KBANK_MIRROR= to an archive that has it" \
	apt_archive_gone "$t/gone.log"
check "a security suite the archive lacks: the message names KBANK_SECURITY_MIRROR" \
	"http://mirror.example/debian-security has no bullseye-security (a release Debian no longer supports moves to its archive of old releases): set KBANK_SECURITY_MIRROR= to its security archive, or none to go without" \
	apt_archive_gone "$t/gone-security.log"
verdict "a missing package is not a missing release" \
	sh -c '. "$1/scripts/kernels/apt-archive.sh" && ! apt_archive_gone "$2"' sh "$top" "$t/flavour.log"

# The scripts themselves, with a stand-in mmdebstrap on PATH: the arguments
# they pass, and how they report a release the archive lacks.
mkdir -p "$t/bin"
cat >"$t/bin/mmdebstrap" <<'EOF'
#!/bin/sh
# Records its arguments, then fails as apt does when the suite is missing.
for a in "$@"; do printf '%s\n--\n' "$a"; done >"$MMDEBSTRAP_ARGS"
for a in "$@"; do last=$a; done
uri=$(echo "$last" | awk 'NR == 1 { print $2 }')
echo "E: The repository '$uri $SUITE Release' does not have a Release file."
exit 1
EOF
chmod +x "$t/bin/mmdebstrap"
# distro-image.sh asks for mkfs.ext4 before it starts; never reached here.
printf '#!/bin/sh\nexit 1\n' >"$t/bin/mkfs.ext4"
chmod +x "$t/bin/mkfs.ext4"
# recorded FILE: the recorded --aptopt and sources arguments, one a line,
# the lines of each joined by |.
recorded() {
	awk '$0 == "--" { print a; a = ""; next } { a = a == "" ? $0 : a "|" $0 }' "$1" |
		grep -e '^--aptopt=' -e '^deb '
}
export APT_CONFIG="$t/oneline.conf"
proxyconf='--aptopt=Acquire::Retries "3";|Acquire::http::Proxy "http://proxy.example:3142/";|Acquire::http::Proxy::mirror.example "DIRECT";|Acquire::https::Proxy "http://proxy.example:3128";|Acquire::Retries "5";|Acquire::Check-Valid-Until "false";'
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
	for s in extra-kernel.sh distro-image.sh; do
		echo "ok - apt-archive: $s's mmdebstrap arguments # SKIP needs root (unshare -m)"
	done
else
	PATH="$t/bin:$PATH" KBANK_CACHE="$t/cache" MMDEBSTRAP_ARGS="$t/ek.args" SUITE=bullseye \
		"$top/scripts/kernels/extra-kernel.sh" bullseye >"$t/ek.out" 2>"$t/ek.err"
	echo "rc=$?" >>"$t/ek.out"
	check "extra-kernel.sh bullseye: the machine's proxy and archives" \
"$proxyconf
deb http://mirror.example/debian bullseye main|deb http://mirror.example/debian bullseye-updates main|deb http://mirror.example/debian-security bullseye-security main" \
		recorded "$t/ek.args"
	check "extra-kernel.sh: a release the archive lacks is a skip naming KBANK_MIRROR" \
"SKIP: http://mirror.example/debian has no bullseye (a release Debian no longer supports moves to its archive of old releases): set KBANK_MIRROR= to an archive that has it
rc=77" \
		cat "$t/ek.out"
	PATH="$t/bin:$PATH" KBANK_CACHE="$t/cache" MMDEBSTRAP_ARGS="$t/di.args" SUITE=sid \
		"$top/scripts/kernels/distro-image.sh" sid >"$t/di.out" 2>"$t/di.err"
	echo "rc=$?" >>"$t/di.out"
	check "distro-image.sh sid: the machine's proxy and archive" \
"$proxyconf
deb http://mirror.example/debian sid main" \
		recorded "$t/di.args"
	check "distro-image.sh: a release the archive lacks fails naming KBANK_MIRROR" \
"distro-image.sh: http://mirror.example/debian has no sid (a release Debian no longer supports moves to its archive of old releases): set KBANK_MIRROR= to an archive that has it
rc=1" \
		grep -h -e ' has no ' -e '^rc=' "$t/di.err" "$t/di.out"
fi
exit $failed
