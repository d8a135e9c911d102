/* lighteval_drv.c — dev driver for tests/ref/lighteval_diff.py: NUL-separated texts on stdin,
 * for each "1" + what ans_extract(--lighteval) reads, or "0", NUL-terminated; "raw" calls
 * ans_lighteval with the length (texts may hold NULs), "parses" prints eq_gold_parses. */
#include "answer.h"
#include "equiv.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    int raw = argc > 1 && !strcmp(argv[1], "raw");   /* raw: call ans_lighteval with length (may hold NULs) */
    char *line = NULL; size_t cap = 0; ssize_t r;
    while ((r = getdelim(&line, &cap, 0, stdin)) > 0) {
        size_t n = (size_t)r;
        if (n && line[n-1] == 0) n--;
        char *a;
        if (argc > 1 && !strcmp(argv[1], "parses")) { line[n] = 0; printf("%d", eq_gold_parses(line)); putchar(0); continue; }
        if (raw) a = ans_lighteval(line, n);
        else { ans_opts o = {.lighteval = 1}; line[n] = 0; a = ans_extract(line, &o); }
        if (a) { putchar('1'); fputs(a, stdout); } else putchar('0');
        putchar(0);
        free(a);
    }
    free(line);
    return 0;
}
