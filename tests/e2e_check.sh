#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `portguard check FILE...`: the command-line contract. Needs no root and no BPF.
#   - a valid policy: normalized policy on stdout, nothing on stderr, exit 0;
#   - errors: every one on stderr as FILE:LINE:COL: error: msg, nothing on stdout, exit 1;
#   - several files: each parsed on its own, "# FILE" headers, exit 1 if any has an error;
#   - no file: usage, exit 2; an unreadable file: an error naming it, exit 1;
#   - the normalized output checks again to itself; the shipped policies check clean.
. "$(dirname "$0")/lib.sh"

trap pg_cleanup EXIT
[ -x "$PORTGUARD" ] || pg_skip_all "$PORTGUARD not built" check
PG_TMP=$(mktemp -d /tmp/portguard-check.XXXXXX)
policy=$PG_TESTS/../policy
cd "$PG_TMP" || exit 1

cat >good.policy <<'P'
# SSH for everyone, HTTPS in; a loopback-only database
allow in tcp 443,22
local tcp 5432
P
cat >bad.policy <<'P'
allow in tcp 70000
mode fast
allow in tcp 22 from @nobody
P
printf 'local tcp 8090\nallow in tcp 8000-9000\n' >warn.policy

run() { # args: stdout to out, stderr to err, exit status to rc
	"$PORTGUARD" check "$@" >out 2>err
	rc=$?
}

run good.policy
pg_check "valid policy exits 0" test "$rc" = 0
pg_check "valid policy prints its normalized form" diff -u - out <<'P'
mode enforce
default in deny
default out allow
# interface: none named (run --iface names them)
allow in tcp 22,443
local tcp 5432
P
pg_check "valid policy prints nothing on stderr" test ! -s err

run bad.policy
pg_check "invalid policy exits 1" test "$rc" = 1
pg_check "invalid policy prints every error with its place" diff -u - err <<'P'
bad.policy:1:14: error: port 70000 out of range (1-65535)
bad.policy:2:6: error: unknown mode 'fast' (expected enforce or dry-run)
bad.policy:3:22: error: unknown set '@nobody'
P
pg_check "invalid policy prints nothing on stdout" test ! -s out

run warn.policy
pg_check "warnings alone exit 0" test "$rc" = 0
pg_check "warnings go to stderr" diff -u - err <<'P'
warn.policy:1:1: warning: inbound default is deny and no rule allows tcp/22 (SSH): enforcing this policy would lock administrators out
warn.policy:2:1: warning: port range 8000-9000 swallows local port tcp/8090 (line 1): local wins there, only loopback reaches it
P

run good.policy bad.policy warn.policy
pg_check "several files: exit 1 when one has errors" test "$rc" = 1
pg_check "several files: a header per valid file" \
	test "$(grep '^# ' out | grep -v '^# interface')" = "$(printf '# good.policy\n# warn.policy')"
pg_check "several files: every file's diagnostics" test "$(wc -l <err)" = 5

run
pg_check "no file is a usage error (exit 2)" test "$rc" = 2
pg_check "usage names the arguments" grep -q '^usage: portguard check FILE' err

run missing.policy
pg_check "unreadable file exits 1" test "$rc" = 1
pg_check "unreadable file names the file and the cause" diff -u - err <<'P'
missing.policy: error: failed to read policy: No such file or directory
P

"$PORTGUARD" check - <good.policy >out 2>err
pg_check "'-' reads stdin" test $? = 0 -a -s out

"$PORTGUARD" check good.policy >norm.policy 2>/dev/null
run norm.policy
pg_check "normalized output checks to itself" cmp -s norm.policy out

if [ -d "$policy" ]; then
	run "$policy"/novavms-*.policy
	pg_check "shipped policies: exit 0" test "$rc" = 0
	pg_check "shipped policies: no warning" test ! -s err
	pg_check "shipped policies: three headers" test "$(grep -c '^# .*\.policy$' out)" = 3
else
	pg_skip "shipped policies" "policy/ not found beside tests/"
fi

echo "1..$pg_n"
exit $pg_failed
