/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one output writer: a destination (a FILE, or a fixed buffer for a line built before
 * it is written), the escapers of strings a process or a packet controls, and a streaming
 * JSON writer on top, in the manner of bpftool's json_writer: members are written as they
 * come, the writer only tracks where commas go. No tree is built per record.
 *
 *	struct pg_out o;
 *	struct pg_json j;
 *
 *	pg_out_file(&o, stdout);		// or pg_out_buf(&o, line, sizeof(line))
 *	pg_json_init(&j, &o);
 *	pg_json_object_start(&j);
 *	pg_json_str_field(&j, "comm", comm);	// escaped, always valid UTF-8
 *	pg_json_uint_field(&j, "pid", pid);
 *	pg_json_name(&j, "ifaces");
 *	pg_json_array_start(&j);
 *	pg_json_str(&j, "eth0");
 *	pg_json_array_end(&j);
 *	pg_json_object_end(&j);
 */
#ifndef PG_JSON_H
#define PG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- the destination ---- */

struct pg_out {
	FILE *f;	/* not NULL: writes go to f */
	char *buf;	/* else into buf, always NUL-terminated */
	size_t size, len;
	bool full;	/* buf was too small: the rest was dropped */
};

void pg_out_file(struct pg_out *o, FILE *f);
void pg_out_buf(struct pg_out *o, char *buf, size_t size);
void pg_out_write(struct pg_out *o, const char *s, size_t n);
void pg_out_printf(struct pg_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- escapers: anything a process, a packet or a file controls goes through one ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
size_t pg_utf8_len(const unsigned char *s, size_t n);
/* s as a JSON string, quotes included: quote, backslash and control bytes escaped, bytes
 * that are not UTF-8 replaced by U+FFFD, so that the record stays valid JSON. */
void pg_escape_json(struct pg_out *o, const char *s);
/* s for a terminal or a text log: control bytes, DEL, bytes above 0x7e and backslash as
 * \xHH, so that a hostile name cannot drive the terminal; with spaces, a space as \x20 too,
 * so that a value cannot pass for more fields. */
void pg_escape_text(struct pg_out *o, const char *s, bool spaces);
/* s as a Prometheus label value (without quotes): backslash, quote and newline escaped as the
 * exposition format wants, other control bytes and bytes that are not UTF-8 as U+FFFD. */
void pg_escape_label(struct pg_out *o, const char *s);

/* ---- the JSON writer ---- */

#define PG_JSON_MAX_DEPTH 8

struct pg_json {
	struct pg_out *o;
	int depth;
	bool after_name;		 /* a member's name was written: its value comes next */
	bool first[PG_JSON_MAX_DEPTH + 1]; /* nothing written yet at this depth */
};

void pg_json_init(struct pg_json *j, struct pg_out *o);
void pg_json_object_start(struct pg_json *j);
void pg_json_object_end(struct pg_json *j);
void pg_json_array_start(struct pg_json *j);
void pg_json_array_end(struct pg_json *j);
/* A member's name; its value follows with one of the calls below. */
void pg_json_name(struct pg_json *j, const char *name);
void pg_json_str(struct pg_json *j, const char *s);
void pg_json_int(struct pg_json *j, long long v);
void pg_json_uint(struct pg_json *j, unsigned long long v);
void pg_json_bool(struct pg_json *j, bool v);
void pg_json_null(struct pg_json *j);
/* A number printed with fmt ("%.3f"). */
void pg_json_double(struct pg_json *j, const char *fmt, double v);

/* name and value in one call. */
void pg_json_str_field(struct pg_json *j, const char *name, const char *s);
void pg_json_int_field(struct pg_json *j, const char *name, long long v);
void pg_json_uint_field(struct pg_json *j, const char *name, unsigned long long v);
void pg_json_bool_field(struct pg_json *j, const char *name, bool v);
/* s, or null when s is NULL or empty. */
void pg_json_str_or_null_field(struct pg_json *j, const char *name, const char *s);

#endif /* PG_JSON_H */
