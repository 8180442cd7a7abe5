// SPDX-License-Identifier: GPL-2.0
/* Diagnostics of a policy parse: every error and warning with its place in the file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/policy_internal.h"

int pg_diag_vadd(struct pg_diags *d, const struct pg_loc *loc, bool warning, const char *fmt,
		 va_list ap)
{
	struct pg_diag *diag;
	char *msg = NULL, *file = NULL;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct pg_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		return -ENOMEM;
	/* The diagnostic outlives the policy (a policy with errors is freed before the caller
	 * prints them), so it keeps its own copy of the file name. */
	file = strdup(loc->file ? loc->file : "");
	if (!file) {
		free(msg);
		return -ENOMEM;
	}
	diag = &d->v[d->n++];
	diag->loc = *loc;
	diag->loc.file = file;
	diag->warning = warning;
	diag->msg = msg;
	if (warning)
		d->nwarnings++;
	else
		d->nerrors++;
	return 0;
}

int pg_diag_add(struct pg_diags *d, const struct pg_loc *loc, bool warning, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = pg_diag_vadd(d, loc, warning, fmt, ap);
	va_end(ap);
	return err;
}

static int diag_cmp(const struct pg_diag *a, const struct pg_diag *b)
{
	if (a->loc.line != b->loc.line)
		return a->loc.line < b->loc.line ? -1 : 1;
	if (a->loc.col != b->loc.col)
		return a->loc.col < b->loc.col ? -1 : 1;
	return 0;
}

/* Insertion sort would be quadratic on a policy with thousands of errors; a merge sort is
 * stable and needs no index to break ties. */
void pg_diags_sort(struct pg_diags *d, size_t start)
{
	size_t n = d->n - start, w, i;
	struct pg_diag *a = d->v + start, *tmp;

	if (n < 2)
		return;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp) {
		/* Out of memory: fall back to a stable insertion sort in place. */
		for (i = 1; i < n; i++) {
			struct pg_diag x = a[i];
			size_t j = i;

			while (j > 0 && diag_cmp(&a[j - 1], &x) > 0) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = x;
		}
		return;
	}
	for (w = 1; w < n; w *= 2) {
		for (i = 0; i < n; i += 2 * w) {
			size_t lo = i, mid = i + w < n ? i + w : n;
			size_t hi = i + 2 * w < n ? i + 2 * w : n;
			size_t l = lo, r = mid, k = lo;

			while (l < mid && r < hi)
				tmp[k++] = diag_cmp(&a[r], &a[l]) < 0 ? a[r++] : a[l++];
			while (l < mid)
				tmp[k++] = a[l++];
			while (r < hi)
				tmp[k++] = a[r++];
		}
		memcpy(a, tmp, n * sizeof(*a));
	}
	free(tmp);
}

void pg_diags_print(const struct pg_diags *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct pg_diag *g = &d->v[i];
		const char *kind = g->warning ? "warning" : "error";

		/* Line 0 is the file as a whole (it could not be read): no place to point at. */
		if (g->loc.line > 0)
			fprintf(f, "%s:%d:%d: %s: %s\n", g->loc.file, g->loc.line, g->loc.col, kind,
				g->msg);
		else
			fprintf(f, "%s: %s: %s\n", g->loc.file, kind, g->msg);
	}
}

void pg_diags_free(struct pg_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free((char *)d->v[i].loc.file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
