// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Built by `make -C lib check` with nothing but pkg-config's flags: the
 * header compiles alone as C99 and the library links and answers.
 */
#include <stdio.h>
#include <string.h>

#include <vfmig.h>

int main(void)
{
	char bdf[VFMIG_BDF_LEN];
	enum vfmig_state next;

	if (vfmig_parse_bdf("00:03.0", bdf) || strcmp(bdf, "0000:00:03.0") ||
	    strcmp(vfmig_state_name(VFMIG_STATE_STOP_COPY), "STOP_COPY") ||
	    vfmig_mig_next_state(VFMIG_MIG_STOP_COPY, VFMIG_STATE_RUNNING,
				 VFMIG_STATE_STOP_COPY, &next) ||
	    next != VFMIG_STATE_STOP) {
		fprintf(stderr, "pc-check: libvfmig gave wrong answers\n");
		return 1;
	}
	printf("pc-check: libvfmig found and linked through pkg-config\n");
	return 0;
}
