/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Multiboot (v1) entry and interrupt stubs.
 *
 * QEMU's -kernel loader finds the header below in the first 8 KiB of this
 * 32-bit ELF, loads the segments at their physical addresses and jumps to
 * _start in 32-bit protected mode with paging off, interrupts off,
 * EAX = 0x2BADB002 and EBX = the multiboot information.  The GDT it leaves
 * is not ours to rely on, so we load our own flat one before touching a
 * segment register, and set up our own stack.
 */
#include "boot.h"

#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000002	/* give us the memory map fields */

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
	cld
	lgdt gdt_desc
	ljmp $KERNEL_CS, $1f
1:	movw $KERNEL_DS, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movw %cx, %ss
	movl $stack_top, %esp
	xorl %ebp, %ebp
	pushl %ebx		/* multiboot information */
	pushl %eax		/* multiboot magic */
	call workload_main
2:	cli
	hlt
	jmp 2b

/*
 * Interrupt entry: every stub pushes an error code (a dummy 0 when the CPU
 * pushes none) and its vector, so that isr_dispatch() sees one frame
 * layout, struct isr_frame in boot.h.
 */
.macro isr_stub vector, cpu_pushes_error
	.globl isr_stub_\vector
isr_stub_\vector:
	.if \cpu_pushes_error == 0
	pushl $0
	.endif
	pushl $\vector
	jmp isr_common
.endm

/* Exceptions 8, 10-14, 17, 21, 29 and 30 push an error code. */
	isr_stub 0, 0
	isr_stub 1, 0
	isr_stub 2, 0
	isr_stub 3, 0
	isr_stub 4, 0
	isr_stub 5, 0
	isr_stub 6, 0
	isr_stub 7, 0
	isr_stub 8, 1
	isr_stub 9, 0
	isr_stub 10, 1
	isr_stub 11, 1
	isr_stub 12, 1
	isr_stub 13, 1
	isr_stub 14, 1
	isr_stub 15, 0
	isr_stub 16, 0
	isr_stub 17, 1
	isr_stub 18, 0
	isr_stub 19, 0
	isr_stub 20, 0
	isr_stub 21, 1
	isr_stub 22, 0
	isr_stub 23, 0
	isr_stub 24, 0
	isr_stub 25, 0
	isr_stub 26, 0
	isr_stub 27, 0
	isr_stub 28, 0
	isr_stub 29, 1
	isr_stub 30, 1
	isr_stub 31, 0
	isr_stub VEC_TIMER_NUM, 0
	isr_stub VEC_DEV0_NUM, 0
	isr_stub VEC_DEV1_NUM, 0
	isr_stub VEC_DEV2_NUM, 0
	isr_stub VEC_SPURIOUS_NUM, 0

isr_common:
	pushal
	pushl %esp		/* struct isr_frame * */
	call isr_dispatch
	addl $4, %esp
	popal
	addl $8, %esp		/* vector and error code */
	iret

	/* The exception stubs, in vector order, for the IDT set-up. */
	.section .rodata
	.balign 4
	.globl isr_exception_stubs
isr_exception_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long isr_stub_\n
	.endr

	.data
	.balign 8
gdt:
	.quad 0				/* null */
	.quad 0x00cf9a000000ffff	/* KERNEL_CS: flat 4 GiB code, ring 0 */
	.quad 0x00cf92000000ffff	/* KERNEL_DS: flat 4 GiB data, ring 0 */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.balign 16
	.globl stack_top
stack:
	.skip 16384
stack_top:
