/* SPDX-License-Identifier: GPL-2.0 */
/* SHA-256 (FIPS 180-4) of the policy text, recorded in pg_info so that `status` can show
 * which policy is in force. Small enough to keep libcrypto out of the link. */
#ifndef PG_SHA256_H
#define PG_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define PG_SHA256_HEX_LEN 65 /* 64 hex digits and a NUL */

void pg_sha256(const void *data, size_t len, uint8_t out[32]);
/* Lowercase hex digest of data into hex (PG_SHA256_HEX_LEN bytes). */
void pg_sha256_hex(const void *data, size_t len, char hex[PG_SHA256_HEX_LEN]);

#endif /* PG_SHA256_H */
