/* FILE locks held across a green switch (filelock.c). */
#ifndef GS_FILELOCK_H
#define GS_FILELOCK_H

#include <stdio.h>

/* Parks the calling green thread while another thread holds f's lock, so
 * that the real stdio call then takes it without blocking the OS thread. */
void gs_file_wait(FILE *f);

#endif
