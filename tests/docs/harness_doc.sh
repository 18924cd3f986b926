#!/bin/sh
# docs/harness.md lists every environment variable (KBANK_*) and console
# marker (KBANK-*, LAB-*) that the harness passes between host and guest.
# This fails for any that scripts/, tests/ or userspace/ use and the page
# does not name; then it checks that it can fail: a copy of the page with
# one entry removed must be refused.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1

# The names in use, one per line: a marker is the word before its
# arguments, so KBANK-TRACE-BEGIN and LAB-OBS, not their payloads.
used() {
	grep -rhoIE 'KBANK_[A-Z0-9_]*[A-Z0-9]|(KBANK|LAB)-[A-Z0-9]+(-[A-Z0-9]+)*' \
		scripts tests userspace Makefile .ci |
		grep -v -e '^KBANK-CSV$' -e '^KBANK-LOCKDEP$' -e '^KBANK-KCSAN$' |
		sort -u
}

# missing DOC: the names in use that DOC does not name in backquotes.
missing() {
	for name in $(used); do
		grep -q -- "\`$name[\` :=]" "$1" || echo "$name"
	done
}

pass=0 fail=0
tap() {
	if [ "$1" = 0 ]; then
		pass=$((pass + 1)); echo "ok - harness doc: $2"
	else
		fail=$((fail + 1)); echo "not ok - harness doc: $2"
	fi
}

gone=$(missing docs/harness.md)
[ -z "$gone" ]
tap $? "docs/harness.md names every variable and marker in use${gone:+ (missing: $(echo $gone))}"

# The checker, checked: drop the row of one variable and of one marker.
tmp=$(mktemp)
for name in KBANK_PREPARE LAB-REBOOT; do
	grep -v -- "\`$name" docs/harness.md >"$tmp"
	[ "$(missing "$tmp")" = "$name" ]
	tap $? "a page without $name is refused, naming it"
done
rm -f "$tmp"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
