# The Makefile itself: what a build directory keeps and when it rebuilds.

## switching CUDA in a build directory rebuilds it (the configuration stamp's promise): with
## every file secondary (a bare .SECONDARY:) a missing stamp or CUDA object was never remade,
## so make CUDA=1 after a CPU-only build said "Nothing to be done" and linked no CUDA. A CPU-only
## build is stood in for by touching what it would make, in order (stamp, objects, library,
## programs, all dated after the sources); make -n then says what CUDA=0 and CUDA=1 would do
## (CUDA=1 lists the .cu compiles whether or not nvcc is here); make's status is checked: a make
## that stopped with an error printed nothing either, which read as "nothing to be done"
$ m() { make -s -C "$ROOT" -n B="$PWD/b" BIN="$PWD/bin" "$@" all 2> /dev/null; }
$ m CUDA=0 | grep -o -- '-o [^ ]*' | cut -c4- > made; mkdir -p b bin; touch -d '+1 min' b/.config-cuda0
$ while read -r f; do mkdir -p "$(dirname "$f")"; touch -d '+2 min' "$f"; done < made
$ touch -d '+3 min' b/libmrl.a; touch -d '+4 min' bin/*; grep -c . made | awk '{ print ($1 > 20) }'
$ m CUDA=0 > n0; echo "rc $?"; grep -c . n0; m CUDA=1 | grep -c '[.]cu -o' | awk '{ print ($1 > 0) }'
> 1
> rc 0
> 0
> 1
