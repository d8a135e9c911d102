/* fuzz_answer.c — libFuzzer target: arbitrary bytes as "prediction\ngold" through answer
 * extraction, normalisation and equivalence; verdicts stay in range, x is never wrong for x. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *gold = strchr(buf, '\n');
    if (gold) *gold++ = 0;
    else gold = buf;
    for (int k = 0; k < 10; k++) {   /* every combination, then --lighteval with and
                                         without --answer-part */
        ans_opts o = {.answer_part = k & 1, .fallback = (k >> 1) & 1, .anchored = (k >> 2) & 1,
                      .lighteval = k >> 3};
        free(ans_extract(buf, &o));
    }
    char *g = ans_extract_gold(gold);
    free(ans_normalize(buf));
    ans_verdict v = ans_equiv(buf, g), w = ans_equiv(g, buf);
    if (v > ANS_UNPARSED_GOLD || w > ANS_UNPARSED_GOLD) abort();
    if (g && ans_equiv(g, g) == ANS_WRONG) abort();        /* an answer is never wrong for itself */
    (void)ans_gold_parses(g);
    free(g);
    free(buf);
    return 0;
}
