# Where kbank's chroots and system images get Debian from: the archive this
# machine's apt already uses, never a host written into kbank. A school's
# mirror, an apt proxy or a snapshot then serves mmdebstrap as it serves
# apt-get, and nothing bypasses the machine's cache. Source it; it defines,
# never runs.
#
#   apt_archive_conf            mmdebstrap's --aptopt value (apt.conf lines):
#                               the machine's proxy and download options
#   apt_archive_sources SUITE.. mmdebstrap's MIRROR argument (sources.list
#                               lines) for those suites, their -updates and
#                               -security suites included where they exist
#   apt_archive_gone LOG        for mmdebstrap's LOG naming a suite the
#                               archive lacks: the message saying what to set
#
# The archive is the first deb entry of Debian's (component main, suite the
# machine's own release or one of Debian's suite names) in the order apt
# reads its sources: sources.list, then sources.list.d/*.list and *.sources
# by name. Entries signed by some other key than Debian's are another
# vendor's, whatever their suite. Any other suite (sid, experimental, an
# older release) comes from the same archive; the security archive is the
# entry of a -security suite. KBANK_MIRROR=URI replaces the archive,
# KBANK_SECURITY_MIRROR=URI the security archive (none: no security suite).
#
# apt-config says where the sources and options are, so a file named by
# APT_CONFIG that sets Dir points all of it, os-release included, at another
# root: tests/harness/apt_archive_test.sh does, with made-up hosts.

# Debian's suite names besides the machine's own release (codenames are
# taken from os-release, so no list of them goes stale here).
apt_archive_aliases="sid unstable testing stable oldstable oldoldstable experimental"

apt_archive_err() { printf 'apt-archive: %s\n' "$*" >&2; }

# The files apt reads, in its order, one a line (for messages; awk reads
# them by the same rule in apt_archive_find).
apt_archive_files() (
	dirs=$(apt-config shell list Dir::Etc::sourcelist/f parts Dir::Etc::sourceparts/d) ||
		exit 1
	list="" parts=""
	eval "$dirs"
	if [ -f "$list" ]; then echo "$list"; fi
	# Sorted bytewise, as apt sorts them: *.list and *.sources interleave.
	for f in "${parts:-/nonexistent/}"*; do
		case $f in *.list|*.sources) if [ -f "$f" ]; then echo "$f"; fi ;; esac
	done | LC_ALL=C sort
)

# The machine's Debian release codename, from the os-release under apt's Dir
# (the machine's own, or a test's). Nothing on other distributions: their
# codenames are not Debian suites.
apt_archive_codename() (
	dir=$(apt-config shell root Dir/d) || exit 1
	root=""
	eval "$dir"
	for f in "${root:-/}etc/os-release" "${root:-/}usr/lib/os-release"; do
		[ -f "$f" ] || continue
		(. "$f" && if [ "${ID:-}" = debian ]; then echo "${VERSION_CODENAME:-}"; fi)
		exit
	done
)

# The first URI of the machine's Debian archive ($1 = main) or security
# archive ($1 = security); empty when the sources have none.
apt_archive_find() (
	want=$1
	files=$(apt_archive_files) || exit 1
	[ -n "$files" ] || exit 0
	codename=$(apt_archive_codename) || exit 1
	# One file name a line: apt's own names have no spaces or newlines.
	# (The function is a subshell: IFS and set -f end with it.)
	IFS='
'
	set -f
	set -- $files
	awk -v want="$want" -v suites="$codename $apt_archive_aliases" '
	BEGIN { n = split(suites, s, " "); for (i = 1; i <= n; i++) debian[s[i]] = 1 }
	# An entry: deb URI SUITE COMPONENTS..., signed by KEY (may be empty).
	function consider(uri, suite, comps, key,    base) {
		if (found != "" || uri ~ /^cdrom:/) return
		# Signed by another vendor key: not Debian, even with suite bookworm.
		if (key != "" && key !~ /(^|\/)debian-archive-[^\/]*$/) return
		if ((" " comps " ") !~ / main /) return
		base = suite
		if (want == "security") {
			if (!sub(/-security$/, "", base) && !sub(/\/updates$/, "", base)) return
		}
		if (!(base in debian)) return
		found = uri
	}
	# deb822 (*.sources): paragraphs of "Field: value", continuation lines
	# indented, fields case-insensitive.
	function flush(    t, u, su, nu, ns, i, j) {
		if (("Types" in f) && (" " f["Types"] " ") ~ /[ \t]deb[ \t]/ &&
		    tolower(f["Enabled"]) != "no") {
			nu = split(f["URIs"], u, /[ \t]+/)
			ns = split(f["Suites"], su, /[ \t]+/)
			for (i = 1; i <= nu; i++)
				for (j = 1; j <= ns; j++)
					if (u[i] != "" && su[j] != "")
						consider(u[i], su[j], f["Components"], f["Signed-By"])
		}
		split("", f)
		last = ""
	}
	FNR == 1 { flush() }
	FILENAME ~ /\.sources$/ {
		if ($0 ~ /^#/) next
		if ($0 ~ /^[ \t]*$/) { flush(); next }
		if ($0 ~ /^[ \t]/ && last != "") {
			# A continuation (an embedded key): kept so it is not Debian.
			f[last] = f[last] " " $0
			next
		}
		k = $0; sub(/:.*/, "", k)
		v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
		# Canonical spelling of the fields read here.
		lk = tolower(k)
		k = lk == "types" ? "Types" : lk == "uris" ? "URIs" : lk == "suites" ? "Suites" : \
		    lk == "components" ? "Components" : lk == "signed-by" ? "Signed-By" : \
		    lk == "enabled" ? "Enabled" : k
		f[k] = v
		last = k
		next
	}
	# One-line: deb [ options ] URI SUITE COMPONENTS...
	{
		sub(/#.*/, "")
		n = split($0, w, /[ \t]+/)
		i = 1
		if (w[i] == "") i++
		if (w[i] != "deb") next
		i++
		key = ""
		if (w[i] ~ /^\[/) {
			for (; i <= n; i++) {
				o = w[i]; gsub(/[][]/, "", o)
				if (o ~ /^signed-by=/) { key = o; sub(/^signed-by=/, "", key) }
				if (w[i] ~ /\]$/) { i++; break }
			}
		}
		comps = ""
		for (j = i + 2; j <= n; j++) comps = comps " " w[j]
		consider(w[i], w[i + 1], comps, key)
	}
	END { flush(); print found }
	' "$@"
)

# A URI as mmdebstrap and the chroot's own apt can use it: a mirror list on
# this machine (mirror+file:, as Debian's cloud images use) is replaced by
# its first entry, since the chroot does not have the file; no trailing /.
apt_archive_uri() (
	uri=$1
	case $uri in
	mirror+file:*)
		list=${uri#mirror+file:}
		list=/${list#"${list%%[!/]*}"}
		[ -r "$list" ] || { apt_archive_err "cannot read the mirror list $list ($uri)"; exit 1; }
		uri=$(sed -n 's/^[[:blank:]]*\([^#[:blank:]][^[:blank:]]*\).*/\1/p' "$list" | head -n 1)
		[ -n "$uri" ] || { apt_archive_err "the mirror list $list ($1) names no mirror"; exit 1; }
		;;
	esac
	echo "${uri%/}"
)

# The archive's URI, or the reason there is none on stderr.
apt_archive_main() (
	if [ -n "${KBANK_MIRROR:-}" ]; then
		apt_archive_uri "$KBANK_MIRROR"
		exit
	fi
	uri=$(apt_archive_find main) || exit 1
	if [ -z "$uri" ]; then
		apt_archive_err "no Debian archive in this machine's apt sources ($(apt_archive_files | tr '\n' ' ' | sed 's/ $//')): set KBANK_MIRROR= to the URI of a Debian archive (a mirror, or a proxy's URL for it)"
		exit 1
	fi
	apt_archive_uri "$uri"
)

# The security archive's URI; empty for none.
apt_archive_security() (
	case ${KBANK_SECURITY_MIRROR:-} in
	none)	exit 0 ;;
	?*)	apt_archive_uri "$KBANK_SECURITY_MIRROR"; exit ;;
	esac
	uri=$(apt_archive_find security) || exit 1
	[ -z "$uri" ] || apt_archive_uri "$uri"
)

apt_archive_sources() (
	main=$(apt_archive_main) || exit 1
	security=$(apt_archive_security) || exit 1
	for suite in "$@"; do
		echo "deb $main $suite main"
		# Only releases have -updates and -security suites.
		case $suite in sid|unstable|experimental|rc-buggy) continue ;; esac
		echo "deb $main $suite-updates main"
		if [ -n "$security" ]; then
			echo "deb $security $suite-security main"
		elif [ -z "${KBANK_SECURITY_MIRROR:-}" ]; then
			apt_archive_err "no security archive in this machine's apt sources: $suite without $suite-security (KBANK_SECURITY_MIRROR= sets one)"
		fi
	done
)

apt_archive_conf() (
	# The dump, not the files: apt's own parser, every file and default.
	dump=$(apt-config dump --no-empty --format '%f "%v";%n' Acquire) || {
		apt_archive_err "apt-config cannot read this machine's apt configuration"
		exit 1
	}
	# kbank's default first, so that the machine's own Retries wins.
	echo 'Acquire::Retries "3";'
	# What says how to reach the archive: the proxy (per method and per
	# host), its transports' settings, retries and clock checks. Not the
	# Allow*Insecure* switches: a chroot inherits no weakened trust.
	printf '%s\n' "$dump" | grep -E '^Acquire::((http|https|ftp|socks)::[^ ]+|Retries|Retries::[^ ]+|Check-Date|Max-FutureTime|Max-ValidTime|Min-ValidTime|ForceIPv4|ForceIPv6|Queue-Mode) "' || true
	# Last, so that it wins: sid's Release file is often past its
	# Valid-Until on mirrors and snapshots, and a build chroot does not care.
	echo 'Acquire::Check-Valid-Until "false";'
)

# mmdebstrap's log says apt found no Release file for a suite: the archive
# does not have it. Debian moves releases it no longer supports to its
# archive of old releases, which kbank does not guess at: say what to set.
apt_archive_gone() (
	line=$(grep -m 1 -E "^E: The repository '[^ ]+ [^ ]+ Release' (does not have|no longer has) a Release file" "$1") ||
		exit 1
	repo=${line#*\'}
	repo=${repo%% Release\'*}
	uri=${repo% *}
	suite=${repo##* }
	case $suite in
	*-security) var=KBANK_SECURITY_MIRROR hint="its security archive, or none to go without" ;;
	*) var=KBANK_MIRROR hint="an archive that has it" ;;
	esac
	echo "$uri has no $suite (a release Debian no longer supports moves to its archive of old releases): set $var= to $hint"
)
