// SPDX-License-Identifier: GPL-2.0
/* The output writer, the escapers and the streaming JSON writer (see json.h). */
#include <stdarg.h>
#include <string.h>

#include "output/json.h"

void pg_out_file(struct pg_out *o, FILE *f)
{
	*o = (struct pg_out){ .f = f };
}

void pg_out_buf(struct pg_out *o, char *buf, size_t size)
{
	*o = (struct pg_out){ .buf = buf, .size = size, .full = !size };
	if (size)
		buf[0] = '\0';
}

void pg_out_write(struct pg_out *o, const char *s, size_t n)
{
	if (o->f) {
		fwrite(s, 1, n, o->f);
		return;
	}
	if (o->full)
		return;
	if (n >= o->size - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

void pg_out_printf(struct pg_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (o->f) {
		vfprintf(o->f, fmt, ap);
	} else if (!o->full) {
		n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
		if (n < 0 || (size_t)n >= o->size - o->len) {
			o->full = true;
			o->buf[o->len] = '\0';
		} else {
			o->len += n;
		}
	}
	va_end(ap);
}

size_t pg_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

enum esc { ESC_JSON, ESC_LABEL };

/* The walk both UTF-8 outputs share: valid sequences are copied, the rest replaced. */
static void escape_utf8(struct pg_out *o, const char *s, enum esc how)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), l;

	while (n) {
		if (*p == '"' || *p == '\\')
			pg_out_printf(o, "\\%c", *p);
		else if (*p == '\n')
			pg_out_write(o, "\\n", 2);
		else if (*p == '\t' && how == ESC_JSON)
			pg_out_write(o, "\\t", 2);
		else if ((*p < 0x20 || *p == 0x7f) && how == ESC_JSON)
			pg_out_printf(o, "\\u%04x", *p);
		else if (*p < 0x20 || *p == 0x7f)
			/* The exposition format has no escape for them: replaced. */
			pg_out_write(o, "\xef\xbf\xbd", 3);
		else if ((l = pg_utf8_len(p, n)) > 0) {
			pg_out_write(o, (const char *)p, l);
			p += l, n -= l;
			continue;
		} else
			pg_out_write(o, how == ESC_JSON ? "\\ufffd" : "\xef\xbf\xbd",
				     how == ESC_JSON ? 6 : 3);
		p++, n--;
	}
}

void pg_escape_json(struct pg_out *o, const char *s)
{
	pg_out_write(o, "\"", 1);
	escape_utf8(o, s, ESC_JSON);
	pg_out_write(o, "\"", 1);
}

void pg_escape_label(struct pg_out *o, const char *s)
{
	escape_utf8(o, s, ESC_LABEL);
}

void pg_escape_text(struct pg_out *o, const char *s, bool spaces)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;

	for (; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\' && !(spaces && *p == ' '))
			continue;
		pg_out_write(o, (const char *)run, p - run);
		pg_out_printf(o, "\\x%02x", *p);
		run = p + 1;
	}
	pg_out_write(o, (const char *)run, p - run);
}

void pg_json_init(struct pg_json *j, struct pg_out *o)
{
	*j = (struct pg_json){ .o = o };
	j->first[0] = true;
}

/* The comma before a value or a member, unless it is the first or a name precedes it. */
static void sep(struct pg_json *j)
{
	if (j->after_name) {
		j->after_name = false;
		return;
	}
	if (!j->first[j->depth])
		pg_out_write(j->o, ",", 1);
	j->first[j->depth] = false;
}

static void open_(struct pg_json *j, char c)
{
	sep(j);
	pg_out_write(j->o, &c, 1);
	if (j->depth < PG_JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct pg_json *j, char c)
{
	pg_out_write(j->o, &c, 1);
	if (j->depth > 0)
		j->depth--;
}

void pg_json_object_start(struct pg_json *j)
{
	open_(j, '{');
}

void pg_json_object_end(struct pg_json *j)
{
	close_(j, '}');
}

void pg_json_array_start(struct pg_json *j)
{
	open_(j, '[');
}

void pg_json_array_end(struct pg_json *j)
{
	close_(j, ']');
}

void pg_json_name(struct pg_json *j, const char *name)
{
	sep(j);
	pg_escape_json(j->o, name);
	pg_out_write(j->o, ":", 1);
	j->after_name = true;
}

void pg_json_str(struct pg_json *j, const char *s)
{
	sep(j);
	pg_escape_json(j->o, s);
}

void pg_json_int(struct pg_json *j, long long v)
{
	sep(j);
	pg_out_printf(j->o, "%lld", v);
}

void pg_json_uint(struct pg_json *j, unsigned long long v)
{
	sep(j);
	pg_out_printf(j->o, "%llu", v);
}

void pg_json_bool(struct pg_json *j, bool v)
{
	sep(j);
	pg_out_printf(j->o, "%s", v ? "true" : "false");
}

void pg_json_null(struct pg_json *j)
{
	sep(j);
	pg_out_write(j->o, "null", 4);
}

void pg_json_double(struct pg_json *j, const char *fmt, double v)
{
	sep(j);
	pg_out_printf(j->o, fmt, v);
}

void pg_json_str_field(struct pg_json *j, const char *name, const char *s)
{
	pg_json_name(j, name);
	pg_json_str(j, s);
}

void pg_json_int_field(struct pg_json *j, const char *name, long long v)
{
	pg_json_name(j, name);
	pg_json_int(j, v);
}

void pg_json_uint_field(struct pg_json *j, const char *name, unsigned long long v)
{
	pg_json_name(j, name);
	pg_json_uint(j, v);
}

void pg_json_bool_field(struct pg_json *j, const char *name, bool v)
{
	pg_json_name(j, name);
	pg_json_bool(j, v);
}

void pg_json_str_or_null_field(struct pg_json *j, const char *name, const char *s)
{
	pg_json_name(j, name);
	if (s && *s)
		pg_json_str(j, s);
	else
		pg_json_null(j);
}
