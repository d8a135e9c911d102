# docs: the man pages against what the tools say of themselves.

## every long option a tool's --help lists is in its man page (man/man1/TOOL.1)
$ for t in minit mtok mfilter msample mreward mgrpo meval; do
$   man=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$ROOT/man/man1/$t.1")
$   for o in $($t --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
$     grep -qE -- "$o([^a-z0-9-]|\$)" <<<"$man" || echo "$t: $o is not in man/man1/$t.1"
$   done
$ done; echo checked
> checked
