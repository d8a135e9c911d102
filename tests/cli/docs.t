# docs: the man pages against what the tools say of themselves.

## every long option a tool's --help lists is in its man page (man/man1/TOOL.1)
$ for t in minit mtok mfilter msample mreward mgrpo meval; do
$   man=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$ROOT/man/man1/$t.1")
$   for o in $($t --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
$     grep -qE -- "$o([^a-z0-9-]|\$)" <<<"$man" || echo "$t: $o is not in man/man1/$t.1"
$   done
$ done; echo checked
> checked

## every option a man page documents (the head of an OPTIONS entry) is one its tool knows: a
## removed or renamed option left in the page is caught (given a value, with --version after
## it, the tool stops at once, with "unknown option" only for one it does not have)
$ for t in minit mtok mfilter msample mreward mgrpo meval; do
$   cmd=$t; [ $t = mtok ] && cmd="mtok encode"
$   for o in $(awk '/^\.TP/ { getline; print }' "$ROOT/man/man1/$t.1" | sed 's/\\-/-/g; s/\\f[BIRP]//g' | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
$     $cmd "$o=1" --version 2>&1 < /dev/null | grep -qE "unknown option|is ambiguous" && echo "$t: $o (man/man1/$t.1) is not an option of $t"
$   done
$ done; echo checked
> checked

## the README's 60-second tour runs as written, each command as it stands there (an option
## renamed, a default changed, an output moved shows here, not in a newcomer's terminal)
$ sed -n '/^## A 60-second tour/,/^## The tools/p' "$ROOT/README.md" | awk '/^```/ { n++; next } n == 1' > tour.sh
$ grep -c . tour.sh
$ bash -e -o pipefail tour.sh > out 2> err; echo "rc $?"
$ readlink runs/x/latest; zstd -dc rollouts.jsonl.zst | jq -r '[.id, .sample, (.reward | type)] | @tsv'
> 8
> rc 0
> step-000001
> p1	0	number
> p1	1	number
> p1	2	number
> p1	3	number
