/* jqf.h — jq filters (libjq) compiled once and run per record: how a tool reads a
 * value from a record (`--answer '.answer // .solution'`); and a JSON value written as a file. */
#ifndef MRL_JQF_H
#define MRL_JQF_H
#include <stdint.h>
#include <jv.h>
#include "err.h"

typedef struct jqf jqf;
/* Compiles program; a syntax error is a usage error (code 2) quoting the program. */
jqf *jqf_compile(const char *program, mrl_err *e);
/* Runs the filter on rec (not consumed); returns its first output (owned by the caller),
 * or jv_invalid() when it produced none. A jq runtime error → jv_invalid() and e set (code 1). */
jv jqf_first(jqf *f, jv rec, mrl_err *e);
/* The filter's text, for messages. */
const char *jqf_text(const jqf *f);
/* The field a program that is a plain `.name` reads (name: letters, digits, _, not a digit
 * first: `.1` is a number), else NULL:
 * messages name such a field as the record's ("answer" is missing), others as the filter. */
const char *jqf_field(const char *program);
/* What is wrong with v, the value of option opt's filter f (want: "a string", ...), for a
 * message after FILE:LINE: a plain `.field` names the record's field ("answer" is missing,
 * "answer" is an array, not a string); any other filter is named as the option and the filter
 * with what it gave (--answer '.a // .b' gave nothing, not a string): its text is no field's
 * name ("empty" is missing). One line, written to buf. */
const char *jqf_wrong(const jqf *f, const char *opt, jv v, const char *want, char *buf, size_t n);
/* The top-level field the filter's first output on rec is the value of, by jq's path():
 * "answer" for `.answer // .solution` on a record with an answer (a number read from it keeps
 * its own text: rec_number_text); NULL where it is none (a computed value, a nested field, an
 * error). A filter that is not a plain `.name` runs again for it (its debug then prints nothing).
 * Newly allocated. */
char *jqf_first_key(jqf *f, jv rec);
void jqf_free(jqf *f);
/* fn is called (data NULL) where libjq cannot allocate, in place of its abort, in this thread and
 * in any thread that runs a filter compiled afterwards; it should not return (cli_init's exits 3). */
void jqf_on_nomem(void (*fn)(void *));
/* The same handler for the calling thread (a thread of one's own that parses or builds JSON). */
void jqf_nomem_thread(void);

/* v (consumed) as JSON text (jv_dump_string's flags) and a newline, written to path atomically
 * (st_write_file_atomic): config files, trainer_state.json, an index. 0, or -1 with e set. */
int json_write_file(const char *path, jv v, int flags, mrl_err *e);

/* Record helpers (jv objects; rec not consumed). NULL / -1 when missing or wrong type. */
const char *rec_str(jv rec, const char *field);        /* pointer valid while rec lives */
/* A string whose text C-string code reads (the answer checker, the rewards): s itself, or,
 * when it holds a NUL byte (JSON's \u0000, which a sampled byte token can produce), a copy
 * with each NUL as U+FFFD, so nothing after it is lost. Consumes s; anything else is returned as is. */
jv jv_no_nul(jv s);
/* A string as a C-string key that stays distinct past a NUL: its text; or, holding a NUL,
 * \x01 and its JSON text (quotes and \u0000 included); a text that starts with \x01 gets
 * one more in front, so no two strings share a key. Newly allocated; NULL when out of memory. */
char *jv_key_text(jv s);
/* v's JSON text (v consumed) with every number in it, at any depth, printed from its double:
 * libjq 1.7 prints a number it parsed as written (1.0, 1e2, 20 digits), 1.6 from the double.
 * The text ids are keyed by, so that 1 and 1.0 are one problem (and draw one random stream)
 * whichever libjq the tools are built with. */
jv jv_dump_canonical(jv v);
/* A hash of rec's "id" (rec not consumed) by its canonical JSON text: the key of the sets of
 * ids seen (mreward, mgrpo); a string and its number ("5", 5) differ, 1 and 1.0 do not. */
uint64_t rec_id_hash(jv rec);
int rec_num(jv rec, const char *field, double *out);   /* 0 ok, -1 missing/not a number */
/* A value's kind for a message: "a string", "a number", "an array", "an object", "a boolean", "null". */
const char *jv_kind_phrase(jv_kind k);
/* What is wrong with v, the value of a field that should be `want` ("a string"), as the end
 * of a message after the field's name: "is missing" (no value, or null: what jq's `.field`
 * gives for an absent field) or "is a number, not a string". Written to buf (n bytes), which is returned. */
const char *jv_wrong(jv v, const char *want, char *buf, size_t n);
/* libjq's message for a failed parse (invalid, consumed), less the "(while parsing '<the whole
 * text>')" it appends (a record's line or a whole file, line breaks and all); dflt where it has
 * none. Written to buf (n bytes), which is returned. */
const char *jv_parse_error(jv invalid, const char *dflt, char *buf, size_t n);
/* An optional field: 0 when rec lacks it, or it is null or of kind k; else -1 with msg (n
 * bytes) set to `"field" is an array, not a string`. */
int rec_optional(jv rec, const char *field, jv_kind k, char *msg, size_t n);
/* The optional "finish" of a completion (SPEC: "stop" or "length"): 0 with *truncated set (0
 * when rec lacks it or it is null), or -1 with msg (n bytes) naming what it holds instead. */
int rec_finish(jv rec, int *truncated, char *msg, size_t n);
/* rec with "id" set to id: in place where rec has one ("id": null), else as its first field, as
 * mfilter splices an assigned id in front of a record's text. Consumes both. */
jv rec_with_id(jv rec, jv id);
#endif
