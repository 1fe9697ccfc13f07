/* SPDX-License-Identifier: GPL-2.0-only */
/* Output on COM1 (0x3F8, 115200 8N1), the only console the workload has. */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

void console_init(void);

/*
 * A small printf: %s %c %d %u %x %%, with an optional '0' flag, a field
 * width and an "ll" length (64-bit) for %u and %x.  '\n' becomes "\r\n".
 */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* GUEST_CONSOLE_H */
