// SPDX-License-Identifier: GPL-2.0-only
/* COM1 driver (polled, 16550 compatible) and a small printf on top of it. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "io.h"

#define COM1		0x3f8
#define UART_DATA	0	/* DLAB=0: THR/RBR; DLAB=1: divisor low */
#define UART_IER	1	/* DLAB=0: interrupt enable; DLAB=1: divisor high */
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_LCR_DLAB	0x80
#define UART_LCR_8N1	0x03
#define UART_LSR_THRE	0x20	/* transmit holding register empty */

void console_init(void)
{
	outb(COM1 + UART_IER, 0x00);		/* polled: no UART interrupts */
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + UART_DATA, 1);		/* 115200 = 115200 / 1 */
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_8N1);
	outb(COM1 + UART_FCR, 0xc7);		/* FIFOs on and cleared */
	outb(COM1 + UART_MCR, 0x03);		/* DTR, RTS */
}

static void console_putc(char c)
{
	if (c == '\n')
		console_putc('\r');
	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
		;
	outb(COM1 + UART_DATA, (uint8_t)c);
}

static void put_padded(const char *s, int len, int width, char pad)
{
	for (; width > len; width--)
		console_putc(pad);
	while (len--)
		console_putc(*s++);
}

static void put_number(uint64_t val, unsigned int base, bool negative,
		       int width, char pad)
{
	char buf[24];
	int i = sizeof(buf);

	do {
		uint64_t q = div_u64_u32(val, base);

		buf[--i] = "0123456789abcdef"[val - q * base];
		val = q;
	} while (val);
	if (negative)
		buf[--i] = '-';
	put_padded(buf + i, (int)sizeof(buf) - i, width, pad);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		bool wide = false;
		int width = 0;
		char pad = ' ';

		if (*fmt != '%') {
			console_putc(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (fmt[0] == 'l' && fmt[1] == 'l') {
			wide = true;
			fmt += 2;
		}
		switch (*fmt) {
		case 'u':
		case 'x': {
			uint64_t v = wide ? va_arg(ap, unsigned long long) :
					    va_arg(ap, unsigned int);

			put_number(v, *fmt == 'u' ? 10 : 16, false, width, pad);
			break;
		}
		case 'd': {
			int v = va_arg(ap, int);
			uint32_t mag = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;

			put_number(mag, 10, v < 0, width, pad);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len = 0;

			while (s[len])
				len++;
			put_padded(s, len, width, pad);
			break;
		}
		case 'c':
			console_putc((char)va_arg(ap, int));
			break;
		case '%':
			console_putc('%');
			break;
		default:
			/* Unknown conversion: show it rather than guess. */
			console_putc('%');
			if (!*fmt)
				goto out;
			console_putc(*fmt);
			break;
		}
	}
out:
	va_end(ap);
}
