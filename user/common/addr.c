// SPDX-License-Identifier: GPL-2.0
/* Mapped addresses (see addr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/addr.h"

const __u8 pg_addr_v4_prefix[12] = { [10] = 0xff, [11] = 0xff };

bool pg_addr_is_v4(const __u8 addr[16])
{
	return !memcmp(addr, pg_addr_v4_prefix, sizeof(pg_addr_v4_prefix));
}

bool pg_addr_loopback(const __u8 addr[16])
{
	static const __u8 one[16] = { [15] = 1 };

	if (pg_addr_is_v4(addr))
		return addr[12] == 127;
	return !memcmp(addr, one, 16);
}

int pg_addr_parse(const char *s, __u8 addr[16])
{
	struct in_addr a4;

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(addr, pg_addr_v4_prefix, sizeof(pg_addr_v4_prefix));
		memcpy(addr + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1)
		return 0;
	return -EINVAL;
}

void pg_addr_format(const __u8 addr[16], char *buf, size_t size)
{
	if (pg_addr_is_v4(addr))
		inet_ntop(AF_INET, addr + 12, buf, size);
	else
		inet_ntop(AF_INET6, addr, buf, size);
}
