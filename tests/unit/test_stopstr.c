/* test_stopstr.c — stop strings found incrementally as text grows token by token,
 * including matches that span several tokens; the earliest match wins. */
#include "../test.h"
#include "stopstr.h"

/* Feeds pieces one at a time; returns the match offset reported (or -1) and the piece index. */
static long feed(stop_set *s, const char *const *pieces, int n, int *at_piece, size_t *mlen) {
    char buf[256] = "";
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        size_t prev = len;
        size_t l = strlen(pieces[i]);
        memcpy(buf + len, pieces[i], l);
        len += l;
        long m = stop_find(s, buf, len, prev, mlen);
        if (m >= 0) { *at_piece = i; return m; }
    }
    *at_piece = -1;
    return -1;
}

TEST(spanning_tokens) {
    const char *stops[] = {"</answer>", "\n\nUser:"};
    stop_set *s = stop_new(stops, 2);
    const char *p1[] = {"The answer", " is 4</", "ans", "wer>", " trailing"};
    int at; size_t ml = 0;
    long m = feed(s, p1, 5, &at, &ml);
    EXPECT(m == (long)strlen("The answer is 4"));
    EXPECT(at == 3);
    EXPECT(ml == strlen("</answer>"));
    const char *p2[] = {"ok\n", "\n", "User", ":", " more"};
    m = feed(s, p2, 5, &at, &ml);
    EXPECT(m == 2 && at == 3 && ml == 7);
    stop_free(s);
}

TEST(inside_one_token_and_earliest) {
    const char *stops[] = {"cd", "bcde"};
    stop_set *s = stop_new(stops, 2);
    const char *p[] = {"xxab", "cdefg"};
    int at; size_t ml = 0;
    long m = feed(s, p, 2, &at, &ml);
    EXPECT(m == 3 && ml == 4 && at == 1);   /* "bcde" starts before "cd" */
    const char *q[] = {"zzcdzz"};
    m = feed(s, q, 1, &at, &ml);
    EXPECT(m == 2 && ml == 2);
    stop_free(s);
}

TEST(no_match_and_empty) {
    const char *stops[] = {"", "STOP"};
    stop_set *s = stop_new(stops, 2);
    EXPECT(stop_count(s) == 1 && stop_maxlen(s) == 4);
    const char *p[] = {"ST", "O", "P?"};   /* "STOP" completed by the third piece */
    int at; size_t ml;
    EXPECT(feed(s, p, 3, &at, &ml) == 0 && at == 2);
    const char *r[] = {"xST", "O", "P"};   /* completed by one byte, the match not at offset 0 */
    EXPECT(feed(s, r, 3, &at, &ml) == 1 && at == 2 && ml == 4);
    const char *q[] = {"SToP", "S", "TO", "p"};
    EXPECT(feed(s, q, 4, &at, &ml) == -1);
    stop_free(s);
    stop_set *none = stop_new(NULL, 0);
    EXPECT(stop_find(none, "abc", 3, 0, &ml) == -1);
    stop_free(none);
}

/* What msample(1) says of --stop: a tie at one start goes to the first given; the earliest start
 * among the matches that end in the new bytes, so the pieces decide between overlapping ones. */
TEST(ties_and_overlaps) {
    const char *ab_abc[] = {"ab", "abc"}, *abc_ab[] = {"abc", "ab"}, *abc1[] = {"abc"};
    int at; size_t ml = 0;
    stop_set *s = stop_new(ab_abc, 2);
    EXPECT(feed(s, abc1, 1, &at, &ml) == 0 && ml == 2);
    stop_free(s);
    s = stop_new(abc_ab, 2);
    EXPECT(feed(s, abc1, 1, &at, &ml) == 0 && ml == 3);
    stop_free(s);
    const char *stops[] = {"abcd", "bc"}, *whole[] = {"abcd"}, *pieces[] = {"ab", "c", "d"};
    s = stop_new(stops, 2);
    EXPECT(feed(s, whole, 1, &at, &ml) == 0 && ml == 4);
    EXPECT(feed(s, pieces, 3, &at, &ml) == 1 && ml == 2 && at == 1);
    stop_free(s);
}

int main(void) {
    RUN(spanning_tokens);
    RUN(inside_one_token_and_earliest);
    RUN(no_match_and_empty);
    RUN(ties_and_overlaps);
    return tst_done();
}
