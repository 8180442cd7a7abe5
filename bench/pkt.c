// SPDX-License-Identifier: GPL-2.0
/* Frame builder of the benchmarks; see pkt.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "pkt.h"

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int pkt_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

int pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t size)
{
	size_t l2 = s->vlan ? 18 : 14, l3 = s->v6 ? 40 : 20;
	size_t l4 = s->proto == IPPROTO_TCP ? 20 : 8;
	size_t min = l2 + l3 + l4, len = s->len > min ? s->len : min;
	size_t l4len = s->fill ? len - l2 - l3 : l4; /* L4 header plus payload */
	uint8_t *ip = buf + l2, *th = ip + l3;
	uint16_t ethertype = s->v6 ? 0x86dd : 0x0800;
	uint32_t sum;

	if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP)
		return -EINVAL;
	if (len > size)
		return -ENOSPC;
	memset(buf, 0, len);
	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	if (s->vlan) {
		buf[12] = 0x81;
		buf[13] = 0x00;
		buf[14] = (s->vlan >> 8) & 0x0f;
		buf[15] = s->vlan & 0xff;
	}
	buf[l2 - 2] = ethertype >> 8;
	buf[l2 - 1] = ethertype & 0xff;

	if (s->v6) {
		ip[0] = 0x60;
		ip[4] = l4len >> 8;
		ip[5] = l4len & 0xff;
		ip[6] = s->proto;
		ip[7] = 64;
		memcpy(ip + 8, s->saddr, 16);
		memcpy(ip + 24, s->daddr, 16);
	} else {
		ip[0] = 0x45;
		ip[2] = (l3 + l4len) >> 8;
		ip[3] = (l3 + l4len) & 0xff;
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = s->proto;
		memcpy(ip + 12, s->saddr, 4);
		memcpy(ip + 16, s->daddr, 4);
		sum = csum_fold(csum_add(0, ip, 20));
		ip[10] = sum >> 8;
		ip[11] = sum & 0xff;
	}

	th[0] = s->sport >> 8;
	th[1] = s->sport & 0xff;
	th[2] = s->dport >> 8;
	th[3] = s->dport & 0xff;
	if (s->proto == IPPROTO_TCP) {
		th[4] = 0x12; /* an arbitrary initial sequence number */
		th[5] = 0x34;
		th[12] = 5 << 4;  /* data offset: 20 bytes */
		th[13] = 0x02;	  /* SYN */
		th[14] = 0xfa;	  /* window 64240 */
		th[15] = 0xf0;
	} else {
		th[4] = l4len >> 8;
		th[5] = l4len & 0xff;
	}

	/* The pseudo-header, then the L4 header and payload. */
	sum = 0;
	if (s->v6) {
		uint8_t ph[8] = { 0, 0, l4len >> 8, l4len & 0xff, 0, 0, 0, s->proto };

		sum = csum_add(sum, s->saddr, 16);
		sum = csum_add(sum, s->daddr, 16);
		sum = csum_add(sum, ph, sizeof(ph));
	} else {
		uint8_t ph[4] = { 0, s->proto, l4len >> 8, l4len & 0xff };

		sum = csum_add(sum, s->saddr, 4);
		sum = csum_add(sum, s->daddr, 4);
		sum = csum_add(sum, ph, sizeof(ph));
	}
	sum = csum_fold(csum_add(sum, th, l4len));
	if (s->proto == IPPROTO_UDP && sum == 0)
		sum = 0xffff; /* 0 means "no checksum" in UDP */
	if (s->proto == IPPROTO_TCP) {
		th[16] = sum >> 8;
		th[17] = sum & 0xff;
	} else {
		th[6] = sum >> 8;
		th[7] = sum & 0xff;
	}
	return (int)len;
}
